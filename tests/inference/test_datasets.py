"""The gold set and the packaged corpora: shape, labels in the registry's vocabularies, no
near-duplicates, stable splits."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import pytest

from inference import datasets
from sigwatch.registry import load_registry
from tests.conftest import DEFINITIONS


@pytest.fixture(scope="module")
def registry():
    return load_registry(DEFINITIONS)


def test_gold_set_has_at_least_400_posts_with_unique_ids_and_texts():
    posts = datasets.gold()
    assert len(posts) >= 400
    assert len({p.id for p in posts}) == len(posts)
    assert len({p.text for p in posts}) == len(posts)


def test_gold_labels_are_the_registrys_classes(registry):
    posts = datasets.gold()
    content_types = set(registry.get("content_type").classes)
    categories = set(registry.get("product_category").classes)
    assert {p.content_type for p in posts} == content_types
    assert {p.category for p in posts} <= categories
    assert {p.commercial for p in posts} == {0, 1}
    assert registry.get("content_type").classes == datasets.CONTENT_TYPES
    assert registry.get("sentiment").classes == datasets.SENTIMENTS
    assert set(datasets.LISTING_CATEGORY.values()) <= categories


def test_every_content_type_has_a_fair_share():
    counts = Counter(p.content_type for p in datasets.gold())
    assert min(counts.values()) >= 60, counts


def test_no_two_gold_posts_are_near_duplicates():
    def words(text):
        return set(re.findall(r"[a-z0-9]+", text.lower()))

    posts = [(p.id, words(p.text)) for p in datasets.gold()]
    worst = max(
        (len(a & b) / len(a | b), i, j) for (i, a), (j, b) in itertools.combinations(posts, 2)
    )
    assert worst[0] < 0.6, worst


def test_splits_are_stable_and_near_their_share():
    ids = [p.id for p in datasets.gold()]
    first = [datasets.split_of(i, 0.25) for i in ids]
    assert first == [datasets.split_of(i, 0.25) for i in ids]
    share = first.count("test") / len(first)
    assert 0.18 < share < 0.32
    assert datasets.split_of("x", 0.25, salt="a") in ("train", "test")


def test_packaged_corpora_load_with_their_labels():
    tweets = datasets.tweets()
    assert len(tweets) > 35_000
    assert {t.sentiment for t in tweets} == set(datasets.SENTIMENTS)
    assert {"airlines", "apple", "cars"} <= {t.community for t in tweets}
    reviews = datasets.movie_reviews()
    assert len(reviews) == 5022 and {r.community for r in reviews} == {"movies"}
    drugs = datasets.drug_reviews()
    assert len(drugs) == 979 and {d.source for d in drugs} == {"drugs_com"}
    listings = datasets.listings()
    assert len(listings) == 643


def test_a_missing_data_package_is_a_clear_error():
    with pytest.raises(datasets.MissingDataPackage, match="not installed; `make demo` installs"):
        datasets.package_dir("no_such_sigwatch_package")
