"""content_type: is a post a review, a recommendation request, a comparison, a question, or
other? MiniLM embeddings + a logistic-regression head trained on the hand-written gold set."""

from __future__ import annotations

from inference import datasets
from inference.heads import HeadSpec, TrainingData, gold_training_data

MODEL_ID = "content-type"
VERSION = "2026.11"
TEST_SHARE = 0.25


def training_data() -> TrainingData:
    return gold_training_data(
        TEST_SHARE, lambda p: p.content_type, "gold set (inference/data/gold.tsv)"
    )


SPEC = HeadSpec(
    model_id=MODEL_ID,
    version=VERSION,
    task="multiclass",
    summary="Content type of a post: " + ", ".join(datasets.CONTENT_TYPES) + ".",
    weaknesses=(
        "Trained on about 300 posts: rare phrasings (sarcasm, very long posts, non-English) "
        "fall back to the nearest topic rather than the author's intent.",
        "Comparison vs recommendation request hinges on whether options are named; short "
        "'X or Y?' posts without product words are often called questions.",
        "Embeddings see topic strongly: a news post about a product can read as a review.",
    ),
    c=4.0,
    balanced=True,
    data=training_data,
)
load = SPEC.load
