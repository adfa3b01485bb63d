"""CBPE from the logs (``monitors.estimates``): fitted on a reference window's labelled served
predictions, applied to a later slice; its band holds the realized value scikit-learn computes
from the labels the slice gets later; what cannot be estimated says why."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from monitors import estimates
from sigwatch.kinds import QualitySLI

DAY = datetime(2026, 11, 20, tzinfo=UTC)


def write_day(data, signal, day: datetime, seed: int, n: int = 3000, labelled: float = 1.0):
    """A day of served multiclass predictions whose truth is drawn from the logged class
    probabilities (calibrated by construction), and labels for a share of them."""
    rng = np.random.default_rng(seed)
    classes = list(signal.classes)
    proba = rng.dirichlet(np.full(len(classes), 0.5), size=n).astype(np.float32)
    proba = proba / proba.sum(axis=1, keepdims=True)
    truth = [classes[rng.choice(len(classes), p=p / p.sum())] for p in proba.astype(float)]
    ids = [f"{day:%m%d}-{i}" for i in range(n)]
    frame = pl.DataFrame(
        {
            "event_time": [day + timedelta(seconds=20 * i) for i in range(n)],
            "item_id": ids,
            "item_kind": ["post"] * n,
            "community": ["laptops"] * n,
            "language": ["en"] * n,
            "text_len": [100] * n,
            "model_version": ["1"] * n,
            "status": ["ok"] * n,
            "label": [classes[k] for k in proba.argmax(axis=1)],
            "score": proba.max(axis=1),
            "latency_ms": [30.0] * n,
            "cost_usd": [0.0001] * n,
            "served_by": ["in_house"] * n,
            "scores": proba.tolist(),
        },
        schema_overrides={
            "event_time": pl.Datetime("us", "UTC"),
            "text_len": pl.Int32,
            "score": pl.Float32,
            "latency_ms": pl.Float32,
            "scores": pl.List(pl.Float32),
        },
    )
    folder = data / "predictions" / f"signal={signal.name}" / f"date={day:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / "part-0.parquet")
    keep = rng.random(n) < labelled
    if not keep.any():
        return frame, truth
    labels = pl.DataFrame(
        {
            "item_id": [i for i, k in zip(ids, keep, strict=True) if k],
            "label": [t for t, k in zip(truth, keep, strict=True) if k],
            "source": ["human"] * int(keep.sum()),
            "labeled_at": [day + timedelta(days=1)] * int(keep.sum()),
        },
        schema_overrides={"labeled_at": pl.Datetime("us", "UTC")},
    )
    folder = data / "labels" / f"signal={signal.name}"
    folder.mkdir(parents=True, exist_ok=True)
    labels.write_parquet(folder / f"{day:%Y%m%d}.parquet")
    return frame, truth


@pytest.mark.parametrize("metric", ["precision", "recall", "f1"])
@pytest.mark.parametrize("cls", ["review", None])
def test_the_band_holds_what_the_labels_say_later(registry, tmp_path, metric, cls):
    signal = registry.get("content_type")
    for k in range(3):  # three labelled days of reference
        write_day(tmp_path, signal, DAY + timedelta(days=k), seed=k)
    current, truth = write_day(tmp_path, signal, DAY + timedelta(days=3), seed=9, labelled=0.0)
    sli = QualitySLI(metric=metric, cls=cls, min_labels=50)
    known = DAY + timedelta(days=3)
    fitted = estimates.fitted(tmp_path, signal, "q", sli, DAY, known, known)
    assert isinstance(fitted, estimates.Fitted) and fitted.labelled == 9000
    got = estimates.estimate(fitted, tmp_path, signal, sli, known, known + timedelta(days=1))
    assert isinstance(got, estimates.Estimated) and got.n == 3000
    predicted = current["label"].to_list()
    score = {"precision": precision_score, "recall": recall_score, "f1": f1_score}[metric]
    if cls is None:
        realized = score(truth, predicted, average="macro", zero_division=0)
    else:
        realized = score([x == cls for x in truth], [x == cls for x in predicted])
    assert got.lower <= realized <= got.upper, (got, realized)
    assert got.upper - got.lower < 0.15


def test_the_fit_is_kept_per_reference_window(registry, tmp_path):
    signal = registry.get("content_type")
    write_day(tmp_path, signal, DAY, seed=1)
    sli = QualitySLI(metric="precision", cls="review", min_labels=50)
    end = DAY + timedelta(days=1)
    first = estimates.fitted(tmp_path, signal, "q", sli, DAY, end, end + timedelta(days=1))
    [kept] = (tmp_path / "partials" / "cbpe" / "signal=content_type").glob("q-*.json")
    write_day(tmp_path, signal, DAY, seed=2)  # the logs change: the kept fit is what is read
    again = estimates.fitted(tmp_path, signal, "q", sli, DAY, end, end + timedelta(days=1))
    assert again == first
    other = estimates.fitted(tmp_path, signal, "q", replace(sli, cls="question"), DAY, end, end)
    assert other != first and len(list(kept.parent.glob("q-*.json"))) == 2


def test_what_cannot_be_estimated_says_why(registry, tmp_path):
    signal = registry.get("content_type")
    frame, _ = write_day(tmp_path, signal, DAY, seed=1)
    sli = QualitySLI(metric="precision", cls="review", min_labels=50)
    end = DAY + timedelta(days=1)
    too_few = estimates.fit(tmp_path, signal, sli, DAY, DAY + timedelta(minutes=10), end)
    assert "30 labelled predictions; CBPE needs 100" in too_few.reason
    path = tmp_path / "predictions" / "signal=content_type" / f"date={DAY:%Y-%m-%d}"
    frame.drop("scores").write_parquet(path / "part-0.parquet")  # an older writer
    missing = estimates.fit(tmp_path, signal, sli, DAY, end, end)
    assert "have no 'scores'" in missing.reason
    entities = registry.get("product_entities")
    recall = QualitySLI(metric="recall", cls=None, min_labels=50)
    assert (
        "not estimable without labels"
        in estimates.fit(tmp_path, entities, recall, DAY, end, end).reason
    )


def test_a_monitor_run_stores_each_quality_slice_with_its_estimate(registry, tmp_path):
    """``estimate: {method: cbpe}`` on review-precision: the day without labels yet is stored
    as ``insufficient_labels`` with CBPE's estimate beside it, read back typed from the store."""
    from monitors.runner import Monitor
    from sigwatch.clock import FixedClock
    from sigwatch.registry import load_registry
    from sigwatch.states import Verdict
    from sigwatch.store import Store
    from tests.conftest import ROOT

    text = (ROOT / "slo_definitions" / "content_type.yaml").read_text()
    asked = "sli: {kind: precision, class: review, min_labels: 50}"
    assert asked in text
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    (definitions / "content_type.yaml").write_text(
        text.replace(
            asked,
            "sli: {kind: precision, class: review, min_labels: 50,"
            " estimate: {method: cbpe, reference: {previous: 3d}}}",
        )
    )
    mine = load_registry(definitions)
    signal = mine.get("content_type")
    data = tmp_path / "data"
    for k in range(3):
        write_day(data, signal, DAY + timedelta(days=k), seed=k)
    current, truth = write_day(data, signal, DAY + timedelta(days=3), seed=9, labelled=0.0)
    at = DAY + timedelta(days=4)
    clock = FixedClock(at)
    with Store.open(data / "sigwatch.db", clock=clock) as store:
        (outcome,) = Monitor(mine, data, store, clock).run(at, signals=["content_type"])
        assert outcome.ok, outcome.error
        stored = store.measurements("content_type", "review-precision")
    day = next(m for m in stored if m.start == DAY + timedelta(days=3))
    assert day.verdict is Verdict.INSUFFICIENT_LABELS and day.value is None
    got = day.estimated
    assert got.method == "cbpe" and got.reason is None and got.n == 3000
    predicted = current["label"].to_list()
    realized = precision_score([t == "review" for t in truth], [p == "review" for p in predicted])
    assert got.lower <= realized <= got.upper
    labelled = next(m for m in stored if m.start == DAY + timedelta(days=2))
    assert labelled.verdict.judged and labelled.estimated.value is not None  # both, side by side
    judged = store_measurements(data, "review-precision-judged")
    assert judged and all(m.estimated is None for m in judged)  # no estimate: none asked


def store_measurements(data, slo: str):
    from sigwatch.clock import FixedClock
    from sigwatch.store import Store

    with Store.open(data / "sigwatch.db", clock=FixedClock(DAY)) as store:
        return store.measurements("content_type", slo)
