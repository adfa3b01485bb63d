"""Production-like traffic for the monitors to watch: a corpus replayed through the real
models (``corpus``), written as prediction logs, late labels and Prometheus metrics in the data
contract of docs/data-contracts.md (``traffic``, ``metrics``, ``run``; ``live`` keeps appending),
with incidents injected on a known schedule (``scenario``). It imports the kernel
(``sigwatch``) and ``inference``.
"""
