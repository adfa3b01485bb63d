"""The in-house content-understanding models behind the registry's signals.

Not built yet (issue: "The signal models and production-like traffic"). It will hold one module
per model (content type, sentiment, product entities, product category, commercial intent), a
single ``predict(signal, texts)`` entry point looked up by the ``model.id`` of a signal's YAML,
model cards, and the training code that reproduces the heads. It may import only the kernel
(``sigwatch``).
"""
