"""commercial_intent: how likely is the author to buy something soon? A score in [0, 1]:
MiniLM embeddings + a binary logistic-regression head trained on the gold set's labels."""

from __future__ import annotations

from inference.heads import HeadSpec, TrainingData, gold_training_data

MODEL_ID = "commercial-intent"
VERSION = "2026.11"
TEST_SHARE = 0.25


def training_data() -> TrainingData:
    return gold_training_data(
        TEST_SHARE,
        lambda p: str(p.commercial),
        "gold set (inference/data/gold.tsv), commercial column",
    )


SPEC = HeadSpec(
    model_id=MODEL_ID,
    version=VERSION,
    task="score",
    summary="Probability that the author is choosing something to buy (1) rather than not (0).",
    weaknesses=(
        "Learned from about 300 posts: it keys on request phrasing ('best X under $Y', "
        "'X or Y?'), so purchase intent stated as a story ('my laptop died yesterday') scores low.",
        "Scores are not calibrated probabilities outside product communities (tweets, "
        "movie reviews).",
    ),
    c=2.0,
    balanced=True,
    positive="1",
    data=training_data,
)
load = SPEC.load
