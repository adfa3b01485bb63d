"""The judge's estimate of a quality slice (``estimate: {method: judge}``), on a day of the
default scenario judged by a local chat-completions server whose judge agrees with the truth on
85% of posts: PPI++ where people labelled some of the judged items (its band holds the day's
true precision, recall and F1, and its numbers are ``sigwatch.ppi``'s on the same rows), and
Rogan-Gladen from the gold set's rates where they did not; each says which it used."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from evaluation.daily import judge_day, served, texts
from evaluation.judge import JudgeClient
from monitors.slis import judge_estimates
from monitors.slis.base import Context
from sigwatch.calibration import ClassRates, weighted_share
from sigwatch.clock import FixedClock
from sigwatch.kinds import Estimate
from sigwatch.ppi import ppi_mean
from sigwatch.store import Store
from tests.evaluation.chat_server import ChatServer
from tests.evaluation.conftest import CLASSES, DAY, END, calibrate
from tests.sql import query


def _k(salt: str, text: str) -> int:
    return int(hashlib.sha256(f"{salt}{text}".encode()).hexdigest(), 16) % 100


def truth(text: str) -> str:
    """What a post is: 'review' for 60% of posts, whatever the model predicted."""
    k = _k("truth", text)
    return "review" if k < 60 else CLASSES[1 + k % 4]


def judge(text: str) -> str:
    """The judge: right on 85% of posts, otherwise it swaps review and the rest."""
    right = truth(text)
    if _k("judge", text) < 85:
        return right
    return "other" if right == "review" else "review"


@pytest.fixture
def judged_day(store_url, registry, day_data):
    """The day judged (1,500 calls) with a calibration of the judge's rates, and the truth of
    every served prediction (``item_id``, ``predicted``, ``truth``)."""
    signal = registry.get("content_type")
    server = ChatServer(judge)
    try:
        with Store.open(store_url, clock=FixedClock(END)) as store:
            judge_day(
                store,
                JudgeClient(server.url, "fake-judge", timeout=2, retries=1),
                signal,
                day_data,
                DAY,
                calls=1500,
                dollars=5.0,
                seed=11,
            )
            rates = {"cls": "review", "tp": 170, "fn": 30, "tn": 85, "fp": 15}
            calibrate(store, signal.name, "fake-judge", DAY, rates)
    finally:
        server.stop()
    frame = served(day_data, signal, DAY, END)
    text = texts(day_data, signal, DAY, END, frame["item_id"].to_list())
    items = frame.select("item_id", predicted="label").with_columns(
        truth=pl.col("item_id").map_elements(lambda i: truth(text[i]), return_dtype=pl.Utf8)
    )
    return signal, day_data, items, ClassRates(**rates)


def _label(data, signal, items: pl.DataFrame, share: int) -> None:
    """People label a hashed ``share``% of the day's items with their truth, by END."""
    chosen = items.filter(
        pl.col("item_id").map_elements(lambda i: _k("people", i) < share, return_dtype=pl.Boolean)
    )
    folder = data / "labels" / f"signal={signal.name}"
    folder.mkdir(parents=True, exist_ok=True)
    chosen.select(
        "item_id",
        label="truth",
        source=pl.lit("human"),
        labeled_at=pl.lit(END - timedelta(hours=1), pl.Datetime("us", "UTC")),
    ).write_parquet(folder / "people.parquet")


def _slo(signal, metric: str):
    slo = next(s for s in signal.slos if s.name == "review-precision")
    return replace(slo, sli=replace(slo.sli, metric=metric, estimate=Estimate("judge")))


def _estimate(store_url, signal, data, metric: str):
    with Store.open(store_url, clock=FixedClock(END)) as store:
        ctx = Context(data, store, signal)
        return judge_estimates.for_slice(ctx, _slo(signal, metric), DAY, END, END)


def _judged_reviews(store_url, columns: str) -> list[tuple]:
    """The stored judge labels of the day's 'review' predictions: these ``columns`` of each."""
    with Store.open(store_url, clock=FixedClock(END)) as store:
        return query(
            store,
            f"SELECT {columns} FROM judge_labels WHERE purpose = 'monitoring'"
            " AND predicted = 'review' AND label IS NOT NULL",
        )


def _true(items: pl.DataFrame, metric: str) -> float:
    predicted = (items["predicted"] == "review").to_numpy()
    actual = (items["truth"] == "review").to_numpy()
    tp = float((predicted & actual).sum())
    return {
        "precision": tp / predicted.sum(),
        "recall": tp / actual.sum(),
        "f1": 2 * tp / (predicted.sum() + actual.sum()),
    }[metric]


@pytest.mark.parametrize("metric", ["precision", "recall", "f1"])
def test_ppi_from_the_people_who_labelled_judged_items_holds_the_days_truth(
    store_url, judged_day, metric
):
    signal, data, items, _ = judged_day
    _label(data, signal, items, share=50)
    got = _estimate(store_url, signal, data, metric)
    assert got.method == "judge" and got.reason is None
    assert got.how.startswith("ppi++ (λ ") and "human labels among the judged items" in got.how
    assert got.lower <= _true(items, metric) <= got.upper
    assert got.lower < got.value < got.upper and got.upper - got.lower < 0.3


def test_ppis_numbers_are_those_of_the_judged_rows_and_their_weights(store_url, judged_day):
    signal, data, items, _ = judged_day
    _label(data, signal, items, share=50)
    got = _estimate(store_url, signal, data, "precision")
    rows = _judged_reviews(store_url, "item_id, label, weight")
    labelled = pl.read_parquet(data / "labels" / "signal=content_type" / "people.parquet")
    people = dict(labelled.select("item_id", "label").iter_rows())
    gold = [(people[i] == "review", label == "review", w) for i, label, w in rows if i in people]
    rest = [(label == "review", w) for i, label, w in rows if i not in people]
    reference = ppi_mean(
        np.array([g[0] for g in gold], float),
        np.array([g[1] for g in gold], float),
        np.array([r[0] for r in rest], float),
        lam=None,
        alpha=judge_estimates.ALPHA,
        w=np.array([g[2] for g in gold]),
        w_unlabeled=np.array([r[1] for r in rest]),
    )
    assert (got.value, got.lower, got.upper) == pytest.approx(
        (reference.value, reference.lower, reference.upper), abs=1e-12
    )
    assert got.n == len(rows) and f"{len(gold)} human labels" in got.how


def test_without_peoples_labels_the_gold_sets_rates_correct_the_judge(store_url, judged_day):
    signal, data, items, rates = judged_day
    got = _estimate(store_url, signal, data, "precision")
    rows = _judged_reviews(store_url, "label, weight")
    fixed = weighted_share([label == "review" for label, _ in rows], [w for _, w in rows], rates)
    assert got.how.startswith("rogan-gladen (the judge's error on the gold set; 0 human labels")
    assert (got.value, got.lower, got.upper) == pytest.approx(
        (fixed.value, fixed.ci_low, fixed.ci_high)
    )
    assert got.lower <= _true(items, "precision") <= got.upper
    recall = _estimate(store_url, signal, data, "recall")
    assert recall.how.startswith("rogan-gladen") and recall.lower < recall.value < recall.upper
    assert recall.lower <= _true(items, "recall") <= recall.upper


def test_what_the_judge_cannot_estimate_says_why(store_url, registry, day_data):
    signal = registry.get("content_type")
    got = _estimate(store_url, signal, day_data, "precision")
    assert got.value is None and got.reason.startswith("the judge is not calibrated")
    macro = replace(_slo(signal, "f1"), sli=replace(_slo(signal, "f1").sli, cls=None))
    with Store.open(store_url, clock=FixedClock(END)) as store:
        got = judge_estimates.for_slice(Context(day_data, store, signal), macro, DAY, END, END)
    assert got.reason == "the judge's estimate is of one class's precision, recall or F1"
