"""Linear heads over sentence embeddings: trained with scikit-learn, served with NumPy.

A head is a few kilobytes (classes x 384 weights), stored as ``inference/artifacts/<id>.npz``
and rebuilt bit-for-bit by ``sigwatch train`` (fixed seed, deterministic solver).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.base import Prediction
from inference.embeddings import embed

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@dataclass(frozen=True)
class LinearHead:
    """Multinomial (or binary) logistic regression: ``classes``, ``coef`` (k x d), ``intercept``."""

    classes: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray
    meta: dict = field(default_factory=dict, compare=False)

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, shape ``(n, len(classes))``."""
        logits = x @ self.coef.T + self.intercept
        if self.coef.shape[0] == 1:  # binary: one logit for the second class
            p1 = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - p1, p1], axis=1)
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                classes=np.array(self.classes),
                coef=self.coef.astype(np.float32),
                intercept=self.intercept.astype(np.float32),
                meta=np.array(json.dumps(self.meta, sort_keys=True)),
            )

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        if not path.exists():
            raise FileNotFoundError(
                f"model head {path} is missing; run `sigwatch train` to build it"
            )
        with np.load(path, allow_pickle=False) as data:
            return cls(
                classes=tuple(data["classes"].tolist()),
                coef=data["coef"],
                intercept=data["intercept"],
                meta=json.loads(str(data["meta"])),
            )


def fit_head(
    x: np.ndarray,
    y: Sequence[str],
    *,
    c: float = 1.0,
    balanced: bool = False,
    seed: int = 0,
    meta: dict | None = None,
) -> LinearHead:
    """Fit a logistic-regression head (lbfgs is deterministic for a given input)."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(
        C=c,
        max_iter=2000,
        class_weight="balanced" if balanced else None,
        random_state=seed,
    )
    clf.fit(x, np.asarray(y))
    return LinearHead(
        classes=tuple(str(c) for c in clf.classes_),
        coef=clf.coef_.astype(np.float32),
        intercept=clf.intercept_.astype(np.float32),
        meta=meta or {},
    )


class HeadModel:
    """A signal model that is MiniLM embeddings followed by a linear head.

    Multiclass: ``label`` is the most probable class and ``score`` its probability
    (``probabilities``: every class's).
    Score task: ``score`` is the probability of ``positive`` (no label).
    """

    def __init__(
        self,
        model_id: str,
        version: str,
        task: str,
        head: LinearHead,
        positive: str | None = None,
    ) -> None:
        self.id, self.version, self.task, self.head = model_id, version, task, head
        self._positive = head.classes.index(positive) if positive is not None else None

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        started = time.perf_counter()
        return self.predict_embeddings(embed(list(texts)), started)

    def predict_embeddings(self, x: np.ndarray, started: float | None = None) -> list[Prediction]:
        """Predictions from embeddings computed elsewhere (a corpus's cached vectors)."""
        if len(x) == 0:
            return []
        started = time.perf_counter() if started is None else started
        proba = self.head.proba(x)
        each_ms = (time.perf_counter() - started) * 1000 / len(x)
        if self._positive is not None:
            return [
                Prediction(
                    score=float(p[self._positive]), model_version=self.version, latency_ms=each_ms
                )
                for p in proba
            ]
        top = proba.argmax(axis=1)
        return [
            Prediction(
                label=self.head.classes[k],
                score=float(p[k]),
                model_version=self.version,
                latency_ms=each_ms,
                probabilities=dict(zip(self.head.classes, map(float, p), strict=True)),
            )
            for k, p in zip(top, proba, strict=True)
        ]


@dataclass(frozen=True)
class TrainingData:
    """Texts and labels of a head's fixed train/test split, and where they came from."""

    train_texts: tuple[str, ...]
    train_labels: tuple[str, ...]
    test_texts: tuple[str, ...]
    test_labels: tuple[str, ...]
    sources: dict[str, int]
    split: str


def gold_training_data(test_share: float, label, source: str) -> TrainingData:
    """A head trained and held out on the gold set alone, ``label(post)`` its target."""
    from inference import datasets

    train, test = datasets.gold_split(test_share)
    return TrainingData(
        train_texts=tuple(p.text for p in train),
        train_labels=tuple(label(p) for p in train),
        test_texts=tuple(p.text for p in test),
        test_labels=tuple(label(p) for p in test),
        sources={source: len(train) + len(test)},
        split=f"gold set split by a hash of the post id: {test_share:.0%} held out",
    )


@dataclass(frozen=True)
class HeadSpec:
    """Everything that defines a head model: identity, training recipe, and what it gets wrong."""

    model_id: str
    version: str
    task: str
    summary: str
    weaknesses: tuple[str, ...]
    data: object  # () -> TrainingData
    c: float = 1.0
    balanced: bool = False
    positive: str | None = None

    @property
    def artifact(self) -> Path:
        return ARTIFACTS / f"{self.model_id}.npz"

    def load(self) -> HeadModel:
        return HeadModel(
            self.model_id,
            self.version,
            self.task,
            LinearHead.load(self.artifact),
            positive=self.positive,
        )
