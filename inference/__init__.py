"""The in-house content-understanding models behind the registry's signals.

    predict(signal, texts) -> [Prediction]     # the model named by the signal's model.id

One module per model (``content_type``, ``sentiment``, ``product_category``,
``commercial_intent``: MiniLM embeddings + a linear head; ``product_entities``: spaCy + a
gazetteer), each loaded lazily once per process by ``inference.catalog``. Heads live in
``artifacts/`` and are rebuilt by ``sigwatch train``; model cards live in ``cards/``.
Imports only the kernel (``sigwatch``).
"""

from inference.base import Prediction
from inference.catalog import MODULES, UnknownModel, load, predict

__all__ = ["MODULES", "Prediction", "UnknownModel", "load", "predict"]
