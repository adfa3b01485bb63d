"""What every signal model is: ``predict(texts) -> [Prediction]``, one module per model.

A model module exposes ``MODEL_ID``, ``VERSION`` and ``load() -> Model``; ``inference.catalog``
maps model ids (the ``model.id`` of a signal's YAML) to modules and loads each once per process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Prediction:
    """One model output for one text.

    ``label`` is the top class (multiclass), ``labels`` the predicted set (multilabel and
    entities, e.g. ``("brand:Sony", "product:WH-1000XM5")``); a score model has neither.
    ``score`` is the confidence of the top prediction (or the score itself) in [0, 1];
    ``latency_ms`` is this text's share of the batch's wall time. ``probabilities`` (multiclass)
    is the probability of every class, ``label_scores`` (entities) the confidence of each of
    ``labels``: what confidence-based estimation (``sigwatch.cbpe``) reads from the logs.
    """

    score: float
    model_version: str
    latency_ms: float
    label: str | None = None
    labels: tuple[str, ...] | None = None
    probabilities: Mapping[str, float] | None = None
    label_scores: tuple[float, ...] | None = None


class Model(Protocol):
    id: str
    version: str
    task: str

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...
