"""Production-like traffic for the monitors to watch.

Not built yet (issue: "The signal models and production-like traffic"). It will replay a corpus
through the real models and write prediction logs, late labels and Prometheus metrics in the
data contract of DESIGN.md, with incidents injected on a known schedule. It may import the kernel
(``sigwatch``) and ``inference``.
"""
