"""Model ids -> model modules, loaded lazily and once per process.

Adding a model is one module with ``MODEL_ID``, ``VERSION`` and ``load()``, plus one line here.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence

from inference.base import Model, Prediction
from sigwatch.model import Signal

MODULES = {
    "content-type": "inference.content_type",
    "content-type-distilled": "inference.content_type_distilled",
    "sentiment": "inference.sentiment",
    "product-entities": "inference.product_entities",
    "product-category": "inference.product_category",
    "commercial-intent": "inference.commercial_intent",
}


# Built into the data folder by a command (``sigwatch distill``), not shipped in the package.
GENERATED = frozenset({"content-type-distilled"})


class UnknownModel(LookupError):
    pass


@functools.cache
def load(model_id: str) -> Model:
    """The model for ``model_id``, loaded on first use and kept for the process."""
    try:
        module = MODULES[model_id]
    except KeyError:
        raise UnknownModel(
            f"no in-house model {model_id!r}; known: {', '.join(sorted(MODULES))}"
        ) from None
    return importlib.import_module(module).load()


def predict(signal: Signal, texts: Sequence[str]) -> list[Prediction]:
    """Run ``signal``'s model (its YAML ``model.id``) on ``texts``."""
    model = load(signal.model.id)
    if model.task != signal.task:
        raise ValueError(
            f"signal {signal.name!r} has task {signal.task!r} but model {model.id!r} "
            f"predicts {model.task!r}"
        )
    return model.predict(list(texts))
