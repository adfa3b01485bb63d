"""SLIs, SLO evaluation, error budgets, burn rates and the scheduler.

Not built yet (issue: "Monitors and the SLO engine"). It will hold one module per SLI kind
(registered by the ``kind`` names of ``sigwatch.model``), computing mergeable bucket aggregates
from prediction logs (Polars), Prometheus and Evidently, and writing them to the store. It may
import only the kernel (``sigwatch``).
"""
