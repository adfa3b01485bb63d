"""CBPE from the logs (``monitors.estimates``): fitted on a reference window's labelled served
predictions, applied to a later slice; its band holds the realized value scikit-learn computes
from the labels the slice gets later; what cannot be estimated says why."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from monitors import estimates
from sigwatch.kinds import QualitySLI

DAY = datetime(2026, 11, 20, tzinfo=UTC)


def write_files(data, signal, day: datetime, name: str, logs: pl.DataFrame, labels=None):
    """A part of ``day``'s logs of ``signal`` and, when given, human labels (columns
    ``item_id`` and ``label`` or ``labels``), labelled the day after, under ``name``."""
    folder = data / "predictions" / f"signal={signal.name}" / f"date={day:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    logs.write_parquet(folder / f"part-{name}.parquet")
    if labels is None:
        return
    labels = labels.with_columns(
        source=pl.lit("human"), labeled_at=pl.lit(day + timedelta(days=1), pl.Datetime("us", "UTC"))
    )
    folder = data / "labels" / f"signal={signal.name}"
    folder.mkdir(parents=True, exist_ok=True)
    labels.write_parquet(folder / f"{day:%Y%m%d}-{name}.parquet")


def write_day(
    data,
    signal,
    day: datetime,
    seed: int,
    n: int = 3000,
    labelled: float = 1.0,
    alpha: float = 0.5,
    kind: str = "post",
):
    """A day of served multiclass predictions whose truth is drawn from the logged class
    probabilities (calibrated by construction), and labels for a share of them; the smaller
    ``alpha``, the more confident (and right) the model."""
    rng = np.random.default_rng(seed)
    classes = list(signal.classes)
    proba = rng.dirichlet(np.full(len(classes), alpha), size=n).astype(np.float32)
    proba = proba / proba.sum(axis=1, keepdims=True)
    truth = [classes[rng.choice(len(classes), p=p / p.sum())] for p in proba.astype(float)]
    ids = [f"{kind}-{day:%m%d}-{i}" for i in range(n)]
    frame = pl.DataFrame(
        {
            "event_time": [day + timedelta(seconds=20 * i) for i in range(n)],
            "item_id": ids,
            "item_kind": [kind] * n,
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
    keep = rng.random(n) < labelled
    labels = pl.DataFrame(
        {
            "item_id": [i for i, k in zip(ids, keep, strict=True) if k],
            "label": [t for t, k in zip(truth, keep, strict=True) if k],
        },
        schema={"item_id": pl.Utf8, "label": pl.Utf8},
    )
    write_files(data, signal, day, kind, frame, labels if keep.any() else None)
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
    assert "30 labelled predictions; CBPE needs 500" in too_few.reason
    path = tmp_path / "predictions" / "signal=content_type" / f"date={DAY:%Y-%m-%d}"
    frame.drop("scores").write_parquet(path / "part-post.parquet")  # an older writer
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

    mine = load_registry(ROOT / "slo_definitions")  # estimate: {method: cbpe} on it
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


def estimate_definitions(tmp_path, target: str = ">= 0.85"):
    """The shipped content_type.yaml with review-precision's target set to ``target``, under
    ``<tmp>/definitions``: its registry."""
    from sigwatch.registry import load_registry
    from tests.conftest import ROOT

    text = (ROOT / "slo_definitions" / "content_type.yaml").read_text()
    asked = 'estimate: {method: cbpe, reference: {previous: 28d}}}\n    target: ">= 0.85"'
    assert asked in text
    definitions = tmp_path / "definitions"
    definitions.mkdir(exist_ok=True)
    (definitions / "content_type.yaml").write_text(
        text.replace(asked, asked.replace(">= 0.85", target))
    )
    return load_registry(definitions)


def run_at(tmp_path, registry, at: datetime):
    """One content_type cycle at ``at`` over ``<tmp>/data``: review-precision's status and
    stored measurements."""
    from monitors.runner import Monitor
    from sigwatch.clock import FixedClock
    from sigwatch.store import Store

    data = tmp_path / "data"
    clock = FixedClock(at)
    with Store.open(data / "sigwatch.db", clock=clock) as store:
        (outcome,) = Monitor(registry, data, store, clock).run(at, signals=["content_type"])
        assert outcome.ok, outcome.error
        [status] = [s for s in outcome.statuses if s.slo == "review-precision"]
        stored = store.measurements("content_type", "review-precision")
    return status, stored


def run_with_estimate(tmp_path, days: list[dict], target: str = ">= 0.85"):
    """review-precision (shipped with ``estimate: {method: cbpe}``) with ``target`` over
    ``days`` (``write_day``'s arguments, from DAY on), run at the end of the last: its status
    and stored measurements."""
    mine = estimate_definitions(tmp_path, target)
    signal = mine.get("content_type")
    written = [
        write_day(tmp_path / "data", signal, DAY + timedelta(days=k), seed=k, **day)
        for k, day in enumerate(days)
    ]
    status, stored = run_at(tmp_path, mine, DAY + timedelta(days=len(days)))
    return status, stored, written


CONFIDENT, UNSURE = {"alpha": 0.2}, {"alpha": 3.0}  # review precision about 0.70 and 0.38


def test_a_slice_without_labels_is_judged_by_its_estimate(tmp_path):
    """Today's predictions are unsure (precision about 0.38 by the labels that land later):
    the estimate's whole band is under the target, so the SLO warns, marked as estimated, with
    the estimate as its value; the budget counts only the labels' verdicts."""
    from sigwatch.states import SloState, Verdict, VerdictFrom

    days = [CONFIDENT, CONFIDENT, CONFIDENT, {**UNSURE, "labelled": 0.0}]
    status, stored, written = run_with_estimate(tmp_path, days, target=">= 0.6")
    today = stored[-1]
    assert today.verdict is Verdict.INSUFFICIENT_LABELS and today.estimated.verdict is Verdict.BAD
    assert status.state is SloState.WARNING and status.verdict_from is VerdictFrom.CBPE
    assert status.slice == today.start and status.value == today.estimated.value
    assert (status.ci_low, status.ci_high) == (today.estimated.lower, today.estimated.upper)
    assert status.ci_high < 0.6 and status.budget_remaining == 1.0
    frame, truth = written[-1]
    realized = precision_score([t == "review" for t in truth], frame["label"] == "review")
    assert status.ci_low <= realized <= status.ci_high


def test_an_estimate_never_hides_a_bad_labelled_slice(tmp_path):
    """Yesterday's labels say bad; today's estimate says good: the SLO warns from the labels."""
    from sigwatch.states import SloState, Verdict, VerdictFrom

    days = [CONFIDENT, CONFIDENT, UNSURE, {**CONFIDENT, "labelled": 0.0}]
    status, stored, _ = run_with_estimate(tmp_path, days, target=">= 0.6")
    assert stored[-1].estimated.verdict is Verdict.GOOD
    assert status.state is SloState.WARNING and status.verdict_from is VerdictFrom.LABELS
    assert status.slice == stored[-2].start and status.value == stored[-2].value < 0.6


def test_a_good_estimate_is_shown_as_the_newest_judged_slice(tmp_path):
    from sigwatch.states import SloState, VerdictFrom

    days = [CONFIDENT, CONFIDENT, CONFIDENT, {**CONFIDENT, "labelled": 0.0}]
    status, stored, _ = run_with_estimate(tmp_path, days, target=">= 0.6")
    assert status.state is SloState.OK and status.verdict_from is VerdictFrom.CBPE
    assert status.slice == stored[-1].start and status.estimated == stored[-1].estimated


def store_measurements(data, slo: str):
    from sigwatch.clock import FixedClock
    from sigwatch.store import Store

    with Store.open(data / "sigwatch.db", clock=FixedClock(DAY)) as store:
        return store.measurements("content_type", slo)


def test_a_slice_is_summed_once_per_bucket_as_the_cycles_go(registry, tmp_path, monkeypatch):
    """The monitor's path (``slice_sums``: sums per bucket kept between cycles) gives the
    estimate of the logs read at once; a cycle reads only the buckets not summed yet (and the
    last few again); a damaged file is summed again."""
    signal = registry.get("content_type")
    for k in range(2):
        write_day(tmp_path, signal, DAY + timedelta(days=k), seed=k)
    write_day(tmp_path, signal, DAY + timedelta(days=2), seed=7, labelled=0.0)
    sli = QualitySLI(metric="f1", cls=None, min_labels=50)
    start = DAY + timedelta(days=2)
    fitted = estimates.fitted(tmp_path, signal, "q", sli, DAY, start, start)
    read: list[tuple[datetime, datetime]] = []
    rows = estimates._rows

    def recorded(data_dir, signal, lo, hi):
        read.append((lo, hi))
        return rows(data_dir, signal, lo, hi)

    monkeypatch.setattr(estimates, "_rows", recorded)
    end = start + timedelta(days=1)
    for hours in (6, 12, 12, 24):
        at = start + timedelta(hours=hours)
        sums = estimates.slice_sums(fitted, tmp_path, signal, start, end, at)
        got = estimates.from_sums(fitted, signal, sli, sums)
        logs = rows(tmp_path, signal, start, at)  # read at once, not through the patch
        whole = estimates.from_sums(
            fitted, signal, sli, estimates.bucket_sums(fitted, logs, signal)
        )
        assert got.n == whole.n == min(3000, hours * 180)  # a row every 20 s
        assert (got.value, got.lower, got.upper) == pytest.approx(
            (whole.value, whole.lower, whole.upper), rel=1e-12
        )  # the same sums, added in another order
    assert read[0] == (start, start + timedelta(hours=6))
    # the second cycle reads from 15 minutes before the first one's end; the third nothing
    lo = start + timedelta(hours=6) - estimates.RECOMPUTE
    assert read[1] == (lo, start + timedelta(hours=12))
    assert len(read) == 3  # 6 h, 12 h (once: the second 12 h cycle reads nothing), 24 h
    [kept] = (tmp_path / "partials" / "cbpe" / "signal=content_type").glob("sums-*.parquet")
    kept.write_bytes(b"not parquet")
    again = estimates.slice_sums(fitted, tmp_path, signal, start, end, end)
    assert estimates.from_sums(fitted, signal, sli, again).value == pytest.approx(got.value)


def test_the_estimated_auc_of_a_score_signal_holds_what_the_labels_say(registry, tmp_path):
    from sklearn.metrics import roc_auc_score

    signal = registry.get("commercial_intent")
    rng = np.random.default_rng(3)

    def day(k: int, labelled: bool) -> tuple[np.ndarray, np.ndarray]:
        n = 4000
        start = DAY + timedelta(days=k)
        score = rng.beta(2, 3, n)
        truth = rng.random(n) < score  # calibrated by construction
        ids = [f"{k}-{i}" for i in range(n)]
        frame = pl.DataFrame(
            {
                "event_time": [start + timedelta(seconds=20 * i) for i in range(n)],
                "item_id": ids,
                "item_kind": ["post"] * n,
                "community": ["laptops"] * n,
                "status": ["ok"] * n,
                "score": score.astype(np.float32),
            }
        )
        labels = pl.DataFrame({"item_id": ids, "label": np.where(truth, "1", "0").tolist()})
        write_files(tmp_path, signal, start, "0", frame, labels if labelled else None)
        return score, truth

    day(0, True)
    score, truth = day(1, False)
    sli = signal.slo("ranking-quality").sli
    at = DAY + timedelta(days=2)
    fitted = estimates.fitted(tmp_path, signal, "auc", sli, DAY, at - timedelta(days=1), at)
    got = estimates.from_sums(
        fitted,
        signal,
        sli,
        estimates.slice_sums(fitted, tmp_path, signal, at - timedelta(days=1), at, at),
    )
    assert got.n == 4000
    assert got.lower <= roc_auc_score(truth, score) <= got.upper, got


def test_an_estimate_that_fails_says_why_and_the_slo_is_still_measured(tmp_path, monkeypatch):
    from sigwatch.states import Verdict

    def broken(*args, **kwargs):
        raise ValueError("a calibration that cannot be made\nsecond line")

    monkeypatch.setattr(estimates, "fit", broken)
    days = [CONFIDENT, CONFIDENT, {**CONFIDENT, "labelled": 0.0}]
    status, stored, _ = run_with_estimate(tmp_path, days, target=">= 0.6")
    assert stored[-2].verdict is Verdict.GOOD and stored[-1].estimated.value is None
    why = stored[-1].estimated.reason
    assert why == "the estimate failed: ValueError: a calibration that cannot be made"
    assert status.estimated.reason == why and status.verdict_from.value == "labels"


def test_the_estimate_is_of_the_predictions_the_labels_measure(registry, tmp_path):
    """Only comments get labels (posts never do), and the model is sure of comments and
    unsure of posts: the estimate weighs each prediction by its kind's labelled share in the
    reference, so it predicts what the labels will say (comments), not the whole traffic."""
    signal = registry.get("content_type")
    for k in range(3):
        day = DAY + timedelta(days=k)
        write_day(tmp_path, signal, day, seed=k, alpha=0.2, kind="comment", labelled=0.3)
        write_day(tmp_path, signal, day, seed=10 + k, alpha=3.0, kind="post", labelled=0.0)
    today = DAY + timedelta(days=3)
    comments, truth = write_day(tmp_path, signal, today, seed=9, alpha=0.2, kind="comment")
    write_day(tmp_path, signal, today, seed=19, alpha=3.0, kind="post", labelled=0.0)
    sli = QualitySLI(metric="precision", cls="review", min_labels=50)
    fitted = estimates.fitted(tmp_path, signal, "q", sli, DAY, today, today)
    assert fitted.strata["post"] == 0.0 and fitted.strata["comment"] == pytest.approx(0.3, abs=0.02)
    got = estimates.estimate(fitted, tmp_path, signal, sli, today, today + timedelta(days=1))
    realized = precision_score([t == "review" for t in truth], comments["label"] == "review")
    assert got.n == 6000 and got.lower <= realized <= got.upper, (got, realized)
    unweighted = estimates.estimate(
        replace(fitted, strata={}), tmp_path, signal, sli, today, today + timedelta(days=1)
    )
    assert not unweighted.lower <= realized <= unweighted.upper  # the whole traffic's


def test_sigwatch_slices_and_status_show_each_slice_and_the_audit(tmp_path):
    """`sigwatch slices --json`: a row per slice of the window with its labels' value, its
    estimate, its verdict and what gave it, and whether the band held; `status --json` and
    `slices` carry the audit. Then the table, and the errors that name what is allowed."""
    import json

    from typer.testing import CliRunner

    from sigwatch.cli import app

    days = [CONFIDENT, CONFIDENT, CONFIDENT, {**UNSURE, "labelled": 0.0}]
    _, stored, _ = run_with_estimate(tmp_path, days, target=">= 0.6")
    at = (DAY + timedelta(days=4)).isoformat()
    common = ["--data", str(tmp_path / "data"), "--definitions", str(tmp_path / "definitions")]
    runner = CliRunner()
    args = ["slices", "--signal", "content_type", "--slo", "review-precision", "--at", at]
    got = runner.invoke(app, [*args, "--json", *common])
    assert got.exit_code == 0, got.output
    shown = json.loads(got.output)
    rows = {r["start"][:10]: r for r in shown["slices"]}
    today = rows["2026-11-23"]
    assert today["realized"] is None and today["verdict"] == "bad"
    assert today["verdict_from"] == "cbpe" and today["band_held"] is None
    assert today["estimated"]["value"] == pytest.approx(stored[-1].estimated.value)
    labelled = rows["2026-11-22"]
    assert labelled["verdict_from"] == "labels" and labelled["realized"]["value"] > 0.6
    assert isinstance(labelled["band_held"], bool) and labelled["labels"] > 50
    audited = [r for r in shown["slices"] if r["band_held"] is not None]
    assert shown["audit"]["audited"] == len(audited) >= 1
    assert shown["audit"]["held"] == sum(r["band_held"] for r in audited)
    got = runner.invoke(app, ["status", "--json", "--at", at, *common[:2]])
    assert got.exit_code == 0, got.output
    [row] = [r for r in json.loads(got.output) if r["slo"] == "review-precision"]
    assert row["verdict_from"] == "cbpe" and row["state"] == "warning"
    assert row["estimated"]["verdict"] == "bad" and row["audit"] == shown["audit"]
    plain = runner.invoke(
        app,
        ["status", "--at", at, "--signal", "content_type", *common[:2]],
        env={"COLUMNS": "250"},
    )
    assert "(est. cbpe)" in plain.output  # the table marks the estimated value too
    table = runner.invoke(app, [*args, *common])
    assert "2026-11-23" in table.output and "cbpe" in table.output
    assert "audit: the band held on" in table.output
    wrong = runner.invoke(app, [*args[:-4], "--slo", "coverage", *common])
    assert wrong.exit_code == 2 and "no timeslice SLO 'coverage'" in wrong.output


def test_an_entity_signals_class_precision_counts_only_that_class(registry, tmp_path):
    """brand-precision of product_entities: the predictions also name products, which the
    raters never label; only the ``brand:`` labels are calibrated and estimated."""
    signal = registry.get("product_entities")
    rng = np.random.default_rng(5)

    def day(k: int, labelled: bool) -> float:
        n, start = 3000, DAY + timedelta(days=k)
        confidence = rng.choice([0.45, 0.8, 0.9], n)
        right = rng.random(n) < confidence  # the brand's confidence is calibrated
        ids = [f"{k}-{i}" for i in range(n)]
        frame = pl.DataFrame(
            {
                "event_time": [start + timedelta(seconds=20 * i) for i in range(n)],
                "item_id": ids,
                "item_kind": ["post"] * n,
                "community": ["audio"] * n,
                "status": ["ok"] * n,
                "labels": [[f"brand:B{i}", f"product:P{i}"] for i in range(n)],
                "label_scores": [[float(c), 0.6] for c in confidence],
            },
            schema_overrides={"label_scores": pl.List(pl.Float32)},
        )
        truths = [[f"brand:B{i}"] if r else ["brand:Other"] for i, r in enumerate(right)]
        labels = pl.DataFrame({"item_id": ids, "labels": truths})
        write_files(tmp_path, signal, start, "0", frame, labels if labelled else None)
        return float(right.mean())

    day(0, True)
    realized = day(1, False)
    sli = signal.slo("brand-precision").sli
    today = DAY + timedelta(days=1)
    fitted = estimates.fitted(tmp_path, signal, "brand", sli, DAY, today, today)
    assert fitted.entity_class == "brand"
    got = estimates.estimate(fitted, tmp_path, signal, sli, today, today + timedelta(days=1))
    assert got.lower <= realized <= got.upper, (got, realized)


def test_a_rolling_reference_leaves_out_the_slices_the_labels_judged_bad(tmp_path):
    """Day 1 is an incident (the model unsure, its labels judge the slice bad): the fits of
    the days after it calibrate on the healthy days only, so the incident's labels do not
    become the next days' normal."""
    from monitors.runner import Monitor
    from sigwatch.clock import FixedClock
    from sigwatch.registry import load_registry
    from sigwatch.states import Verdict
    from sigwatch.store import Store

    days = [CONFIDENT, UNSURE, CONFIDENT, CONFIDENT, {**CONFIDENT, "labelled": 0.0}]
    run_with_estimate(tmp_path, days, target=">= 0.6")  # writes the days and the definitions
    data, end = tmp_path / "data", DAY + timedelta(days=len(days))
    (data / "sigwatch.db").unlink()
    shutil.rmtree(data / "partials")
    mine = load_registry(tmp_path / "definitions")
    with Store.open(data / "sigwatch.db", clock=FixedClock(end)) as store:
        Monitor(mine, data, store, FixedClock(end)).backfill(
            DAY, end, signals=["content_type"], slice_step=timedelta(days=1)
        )
        stored = {m.start: m for m in store.measurements("content_type", "review-precision")}
    assert stored[DAY + timedelta(days=1)].verdict is Verdict.BAD
    kept = tmp_path / "data" / "partials" / "cbpe" / "signal=content_type"
    fits = [json.loads(p.read_text()) for p in kept.glob("review-precision-*.json")]
    last = next(f for f in fits if f["end"] == (end - timedelta(days=1)).isoformat())
    assert last["labelled"] == 3 * 3000  # days 0, 2 and 3: not the incident's day 1
    today = stored[end - timedelta(days=1)].estimated
    assert today.verdict is Verdict.GOOD and today.value > 0.6


def test_calibrate_fits_ahead_so_that_the_cycle_only_reads(tmp_path, monkeypatch):
    """`sigwatch calibrate` fits review-precision's CBPE for the current and previous slice
    (the JSON says on what), a second call finds them kept, and the cycle after it fits
    nothing itself yet estimates the day; the daily job does the same. Then the errors."""
    from typer.testing import CliRunner

    from monitors.scheduler import calibrate_job
    from sigwatch.cli import app
    from sigwatch.clock import FixedClock

    mine = estimate_definitions(tmp_path)
    signal = mine.get("content_type")
    data, definitions = tmp_path / "data", tmp_path / "definitions"
    for k, day in enumerate([CONFIDENT, CONFIDENT, CONFIDENT, {**UNSURE, "labelled": 0.0}]):
        write_day(data, signal, DAY + timedelta(days=k), seed=k, **day)
    at = DAY + timedelta(days=4, hours=6)
    common = ["--data", str(data), "--definitions", str(definitions), "--at", at.isoformat()]
    runner = CliRunner()
    got = runner.invoke(app, ["calibrate", "--json", "--signal", "content_type", *common])
    assert got.exit_code == 0, got.output
    rows = [r for r in json.loads(got.output) if r["slo"] == "review-precision"]
    assert [r["slice_start"][:10] for r in rows] == ["2026-11-23", "2026-11-24"]
    today = rows[1]
    assert today["fitted"] and not today["kept"] and today["reason"] is None
    assert today["reference"]["start"][:10] == "2026-10-27"  # previous: 28d
    assert today["labelled"] == 4 * 3000 - 3000  # the three labelled days
    assert 0 <= today["calibrated"] <= today["calibrators"] == 5
    again = runner.invoke(app, ["calibrate", "--json", "--signal", "content_type", *common])
    assert all(r["kept"] for r in json.loads(again.output) if r["fitted"])

    fits = []
    real_fit = estimates.fit
    monkeypatch.setattr(estimates, "fit", lambda *a, **k: fits.append(a) or real_fit(*a, **k))
    status, _ = run_at(tmp_path, mine, at)
    assert fits == []  # the cycle read the fits calibrate made
    assert status.verdict_from == "cbpe" and status.estimated.value is not None

    shutil.rmtree(data / "partials" / "cbpe")
    calibrate_job(str(data), str(definitions), FixedClock(at))  # serve's daily job
    kept = list((data / "partials" / "cbpe" / "signal=content_type").glob("review-precision-*"))
    assert len(kept) == 2 and fits  # the job fitted both slices' references

    table = runner.invoke(app, ["calibrate", *common], env={"COLUMNS": "250"})
    assert table.exit_code == 0 and "review-precision" in table.output
    assert "[2026-10-27, 2026-11-24)" in table.output and "kept" in table.output
    wrong = runner.invoke(app, ["calibrate", "--signal", "nope", *common])
    assert wrong.exit_code == 2 and "unknown signal(s): nope" in wrong.output


def test_a_fit_that_fails_is_its_own_row_and_the_others_go_on(tmp_path, monkeypatch):
    """content_type's fit raises: its rows say so (escaped in the table) and the command exits
    1; sentiment's calibration is still made (here: it says it has no logs, not an error)."""
    from typer.testing import CliRunner

    from sigwatch.cli import app
    from tests.conftest import ROOT

    mine = estimate_definitions(tmp_path)
    for k in range(2):
        write_day(tmp_path / "data", mine.get("content_type"), DAY + timedelta(days=k), seed=k)
    shutil.copy(ROOT / "slo_definitions" / "sentiment.yaml", tmp_path / "definitions")
    real_fit = estimates.fit

    def broken(data_dir, signal, sli, *args, **kwargs):
        if signal.name == "content_type":
            raise OSError(f"disk [bold]gone[/bold] {HOSTILE}\nits second line")
        return real_fit(data_dir, signal, sli, *args, **kwargs)

    monkeypatch.setattr(estimates, "fit", broken)
    at = (DAY + timedelta(days=2)).isoformat()
    common = ["--data", str(tmp_path / "data"), "--definitions", str(tmp_path / "definitions")]
    got = CliRunner().invoke(app, ["calibrate", "--json", "--at", at, *common])
    assert got.exit_code == 1
    rows = json.loads(got.output)
    failed = [r for r in rows if r["failed"]]
    assert {r["signal"] for r in failed} == {"content_type"}
    assert failed[0]["reason"] == f"the fit failed: OSError: disk [bold]gone[/bold] {HOSTILE}"
    others = [r for r in rows if r["signal"] == "sentiment"]
    assert len(others) == 4 and not any(r["failed"] or r["fitted"] for r in others)
    assert others[0]["reason"] == "no logs or no labels in the reference window"
    table = CliRunner().invoke(app, ["calibrate", "--at", at, *common], env={"COLUMNS": "250"})
    assert table.exit_code == 1 and "disk [bold]gone[/bold]" in table.output  # escaped
    assert HOSTILE in table.output


HOSTILE = "</script><b>x</b> <!channel>"


def test_a_reference_that_cannot_be_read_is_a_failed_calibration(tmp_path):
    """The store answering nothing while the bad slices are read: a failed row, first line."""
    mine = estimate_definitions(tmp_path)
    signal = mine.get("content_type")

    def unreachable(lo, hi):
        raise ConnectionError(f"store {HOSTILE}\nsecond line")

    at = DAY + timedelta(hours=1)
    got = estimates.calibrate(
        tmp_path, signal, signal.slo("review-precision"), DAY, at, unreachable
    )
    assert got.failed and got.reason == f"the fit failed: ConnectionError: store {HOSTILE}"
    assert got.reference == estimates.Reference(DAY, DAY) and not got.kept
