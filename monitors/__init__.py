"""From logs to statuses: the partial tables of each signal's logs and labels (``partials``)
and the engines that compute them (``engine``: Polars; ``spark_engine``), the serving sources
(``sources``: logs or Prometheus), one module per SLI kind (``slis/``), SLO evaluation and
burn rates (``evaluate``, ``windows``, ``groups``), where a breach comes from (``suspects``),
the runs (``runner``), the scheduler and ``/metrics``. It imports only the kernel
(``sigwatch``); docs/architecture.md draws the whole cycle.
"""
