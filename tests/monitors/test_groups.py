"""Grouped SLOs over seeded logs: every group's value, volume, burn rate and interval equals an
independent Polars group-by over the same logs (and statsmodels' Wilson interval); the top-N
cut, the pooled (other), min_events, only-lists, the SLO's own row, and run vs backfill."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.proportion import proportion_confint

from monitors.runner import Monitor
from sigwatch.clock import FixedClock
from sigwatch.registry import load_registry
from sigwatch.store import Store
from simulator.traffic import LABEL_SCHEMA, REQUIRED_LOG_SCHEMA

START = datetime(2026, 11, 20, tzinfo=UTC)
AT = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
# community -> share of traffic, and its share of abstentions (coverage) and of slow answers
COMMUNITIES = {
    "movies": (0.30, 0.01),
    "headphones": (0.20, 0.20),  # a bad community
    "cars": (0.15, 0.02),
    "laptops": (0.12, 0.02),
    "gaming": (0.10, 0.01),
    "chess": (0.08, 0.02),
    "knitting": (0.049, 0.01),
    "tiny": (0.001, 0.50),  # a few dozen posts over three days
}

YAML = """\
version: sigwatch/v1
signal:
  name: grouped
  description: A signal whose SLOs are grouped.
  owner: team-a
  oncall: "#team-a"
  task: multiclass
  classes: [review, question, other]
  model: {id: content-type, version: "2026.11"}
  serving_threshold: 0.5
slos:
  - name: coverage-by-community
    sli: {kind: coverage}
    objective: 0.97
    window: 28d
    group_by: [community]
    groups: {top: 5, min_events: 100}
  - name: latency-by-version
    sli: {kind: latency, threshold_ms: 150}
    objective: 0.99
    window: 28d
    group_by: [model_version]
    groups: {only: ["2026.11", "2026.12-rc1", "2027.01"]}
  - name: errors-by-community-language
    sli: {kind: error_rate}
    objective: 0.995
    window: 28d
    group_by: [community, language]
    groups: {top: 20, min_events: 100}
  - name: review-precision-by-community
    sli: {kind: precision, class: review, min_labels: 30}
    target: ">= 0.85"
    timeslice: 1d
    objective: 0.9
    window: 28d
    group_by: [community]
    groups: {top: 3}
  - name: cost-by-community
    sli: {kind: cost_per_1k}
    target: "<= 0.25"
    timeslice: 1h
    objective: 0.9
    window: 7d
    group_by: [community]
    groups: {top: 3, min_events: 100}
  - name: drift-by-language
    sli: {kind: drift, columns: [text_len], reference: {previous: 1d}, sample_size: 500}
    target: "<= 0.5"
    timeslice: 6h
    objective: 0.9
    window: 7d
    group_by: [language]
    groups: {top: 5, min_events: 100}
"""
DRIFT_FROM = datetime(2026, 11, 23, tzinfo=UTC)  # German posts get longer from here on


def seeded_logs(seed: int = 7, n: int = 60_000) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    names = list(COMMUNITIES)
    shares = np.array([COMMUNITIES[c][0] for c in names])
    community = rng.choice(names, size=n, p=shares / shares.sum())
    abstain_p = np.array([COMMUNITIES[c][1] for c in community])
    status = np.where(rng.random(n) < abstain_p, "abstain", "ok")
    status = np.where(rng.random(n) < 0.004, "error", status)
    canary = rng.random(n) < 0.1
    latency = np.where(canary, rng.gamma(4, 40, n), rng.gamma(4, 15, n))
    seconds = np.sort(rng.uniform(0, (AT - START).total_seconds() + 3600, n))
    label = rng.choice(["review", "question", "other"], size=n, p=[0.5, 0.3, 0.2])
    item_kind = rng.choice(["post", "comment"], size=n)
    language = rng.choice(["en", "de"], size=n, p=[0.8, 0.2])
    events = [START + timedelta(seconds=float(s)) for s in seconds]
    # drawn from their own generator, so the columns above stay what they were
    more = np.random.default_rng(seed + 100)
    longer = (language == "de") & (np.array(events) >= DRIFT_FROM)
    text_len = more.integers(50, 150, n) + np.where(longer, 120, 0)
    cost = np.where(community == "headphones", 0.0005, 0.0001)  # a costly community
    return pl.DataFrame(
        {
            "event_time": events,
            "item_id": [f"g-{i}" for i in range(n)],
            "item_kind": item_kind.tolist(),
            "community": community.tolist(),
            "language": language.tolist(),
            "text_len": text_len.tolist(),
            "model_version": np.where(canary, "2026.12-rc1", "2026.11").tolist(),
            "status": status.tolist(),
            "label": np.where(status == "ok", label, None).tolist(),
            "labels": [None] * n,
            "score": np.where(status == "ok", 0.9, 0.2).tolist(),
            "latency_ms": latency.tolist(),
            "cost_usd": cost.tolist(),
            "served_by": ["in_house"] * n,
        }
    ).cast(REQUIRED_LOG_SCHEMA)


def seeded_labels(logs: pl.DataFrame, seed: int = 8) -> pl.DataFrame:
    """A label for a third of the served items, right 85% of the time (60% in headphones),
    known an hour after the event."""
    rng = np.random.default_rng(seed)
    served = logs.filter(pl.col("status") == "ok").sample(fraction=0.33, seed=seed)
    right = rng.random(len(served)) < np.where(served["community"] == "headphones", 0.6, 0.85)
    wrong = np.where(served["label"].to_numpy() == "review", "other", "review")
    return pl.DataFrame(
        {
            "item_id": served["item_id"],
            "label": np.where(right, served["label"].to_numpy(), wrong).tolist(),
            "labels": [None] * len(served),
            "source": ["human"] * len(served),
            "labeled_at": served["event_time"] + timedelta(hours=1),
            "rater_id": ["r1"] * len(served),
        }
    ).cast(LABEL_SCHEMA)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("grouped")
    (root / "defs").mkdir()
    (root / "defs" / "grouped.yaml").write_text(YAML)
    logs = seeded_logs()
    for day, rows in logs.group_by(pl.col("event_time").dt.date()):
        part = root / "predictions" / "signal=grouped" / f"date={day[0]:%Y-%m-%d}"
        part.mkdir(parents=True)
        rows.write_parquet(part / "part-0.parquet")
    (root / "labels" / "signal=grouped").mkdir(parents=True)
    seeded_labels(logs).write_parquet(root / "labels" / "signal=grouped" / "part-0.parquet")
    return root, logs


@pytest.fixture(scope="module")
def evaluated(folder, tmp_path_factory):
    """(registry, logs, SLO rows by name, group rows by SLO and group label) after one run."""
    root, logs = folder
    registry = load_registry(root / "defs")
    with Store.open(root / "sigwatch.db", clock=FixedClock(AT)) as store:
        outcome = Monitor(registry, root, store, FixedClock(AT)).run(AT)[0]
        assert outcome.ok, outcome.error
        rows = {s.slo: s for s in outcome.statuses}
        groups = {
            name: {_label(g.group): g for g in store.group_statuses("grouped", name, AT)}
            for name in rows
        }
    return registry, logs, rows, groups


def _label(group: dict) -> str:
    return ",".join(group.values())


def in_window(logs: pl.DataFrame, start: datetime, end: datetime = AT) -> pl.DataFrame:
    return logs.filter(pl.col("event_time").is_between(start, end, closed="left"))


def test_coverage_groups_equal_a_polars_group_by_with_the_top_5_and_the_rest_pooled(evaluated):
    _, logs, _, groups = evaluated
    served = (pl.col("status") == "ok") & (pl.col("score") >= 0.5)
    window = in_window(logs, AT - timedelta(days=28))
    expected = (
        window.group_by("community")
        .agg(pl.len().alias("total"), served.sum().alias("good"))
        .sort(["total", "community"], descending=[True, False])
    )
    top, rest = expected.head(5), expected.slice(5)
    got = groups["coverage-by-community"]
    assert list(got) == [*top["community"], "(other)"]  # largest first, the pool last
    for community, total, good in top.iter_rows():
        assert got[community].samples == total
        assert got[community].value == pytest.approx(good / total)
    assert got["(other)"].samples == rest["total"].sum()
    assert got["(other)"].value == pytest.approx(rest["good"].sum() / rest["total"].sum())
    # burn rates per group over the 1h window, as the workbook defines them
    hour = in_window(logs, AT - timedelta(hours=1)).filter(pl.col("community") == "headphones")
    bad = 1 - hour.select(served.mean()).item()
    assert got["headphones"].burn_rates["1h"] == pytest.approx(bad / 0.03)


def test_the_bad_community_alerts_and_the_slo_row_is_its_worst_group(evaluated):
    _, _, rows, groups = evaluated
    got = groups["coverage-by-community"]
    assert got["headphones"].state == "breach"  # 20% abstentions burn at ~6.7x for days
    assert {got[c].state for c in got if c != "headphones"} == {"ok"}
    row = rows["coverage-by-community"]
    assert row.group is None and row.state == "breach"
    assert row.grouped.worst == {"community": "headphones"}
    assert row.value == got["headphones"].value
    assert row.grouped.counts == {"breach": 1, "ok": 5}
    alerting = row.grouped.alerting
    assert [a.group for a in alerting] == [{"community": "headphones"}]
    assert alerting[0].severity == "page"
    assert {f.rule for f in row.fired} == {f.rule for f in got["headphones"].fired}


def test_only_lists_the_values_asked_and_a_missing_value_is_no_data(evaluated):
    _, logs, _, groups = evaluated
    got = groups["latency-by-version"]
    assert list(got) == ["2026.11", "2026.12-rc1", "2027.01"]
    window = in_window(logs, AT - timedelta(days=28))
    for version in ("2026.11", "2026.12-rc1"):
        rows = window.filter(pl.col("model_version") == version)
        assert got[version].samples == len(rows)
        assert got[version].value == pytest.approx((rows["latency_ms"] <= 150).mean())
    assert got["2027.01"].state == "no_data" and got["2027.01"].samples == 0
    assert got["2026.12-rc1"].state == "breach"  # the canary is slow
    assert got["2026.11"].state == "ok"


def test_two_columns_and_a_group_under_min_events_is_insufficient_data(evaluated):
    _, logs, _, groups = evaluated
    got = groups["errors-by-community-language"]
    window = in_window(logs, AT - timedelta(days=28))
    expected = window.group_by("community", "language").agg(
        pl.len().alias("total"), pl.col("status").is_in(["error", "timeout"]).sum().alias("bad")
    )
    assert len(got) == len(expected) == 16  # 8 communities x 2 languages, all in the top 20
    for community, language, total, bad in expected.iter_rows():
        status = got[f"{community},{language}"]
        assert status.group == {"community": community, "language": language}
        assert status.samples == total
        assert status.value == pytest.approx(1 - bad / total)
        if total < 100:
            assert status.state == "insufficient_data" and not status.fired
    assert got["tiny,en"].state == "insufficient_data"


def test_quality_groups_equal_a_join_of_the_labels_with_wilson_as_statsmodels(evaluated, folder):
    root, logs = folder
    _, _, rows, groups = evaluated
    labels = pl.read_parquet(root / "labels" / "signal=grouped" / "part-0.parquet")
    today = datetime(2026, 11, 23, tzinfo=UTC)
    known = labels.filter(pl.col("labeled_at") <= AT)
    joined = (
        in_window(logs, today)
        .filter(pl.col("status") == "ok")
        .join(known.select("item_id", truth="label"), on="item_id")
        .filter(pl.col("label") == "review")
    )
    per_community = joined.group_by("community").agg(
        pl.len().alias("n"), (pl.col("truth") == "review").sum().alias("tp")
    )
    got = groups["review-precision-by-community"]
    assert len([g for g in got if g != "(other)"]) == 3
    checked = 0
    for community, n, tp in per_community.iter_rows():
        if community not in got:
            continue
        status = got[community]
        low, high = proportion_confint(tp, n, method="wilson")
        assert status.samples == n
        if n >= 30:
            assert status.value == pytest.approx(tp / n)
            assert (status.ci_low, status.ci_high) == pytest.approx((low, high))
            checked += 1
        else:
            assert status.state == "insufficient_labels"
    assert checked >= 2
    # headphones' labels say 60% right: its interval is wholly under 0.85, the slice is bad
    assert got["headphones"].state == "warning"
    assert got["headphones"].ci_high < 0.85
    row = rows["review-precision-by-community"]
    assert row.state == "warning" and row.grouped.worst == {"community": "headphones"}


def test_cost_groups_equal_a_polars_group_by_of_the_slice_and_the_costly_one_is_bad(evaluated):
    _, logs, rows, groups = evaluated
    hour = in_window(logs, AT - timedelta(hours=1))  # the hourly slice just ended
    per_1k = (pl.col("cost_usd").sum() / pl.len() * 1000).alias("per_1k")
    expected = hour.group_by("community").agg(pl.len().alias("n"), per_1k)
    week = in_window(logs, AT - timedelta(days=7)).group_by("community").len()
    top = week.sort(["len", "community"], descending=[True, False])["community"].head(3)
    got = groups["cost-by-community"]
    assert list(got) == [*top, "(other)"]
    for community, n, value in expected.filter(pl.col("community").is_in(top)).iter_rows():
        assert got[community].value == pytest.approx(value)
        assert got[community].samples == n
    pooled = hour.filter(~pl.col("community").is_in(top))
    assert got["(other)"].value == pytest.approx(pooled["cost_usd"].sum() / len(pooled) * 1000)
    assert got["headphones"].state == "warning"  # $0.50 per 1k against <= 0.25
    assert {got[c].state for c in got if c != "headphones"} == {"ok"}
    row = rows["cost-by-community"]
    assert row.state == "warning" and row.grouped.worst == {"community": "headphones"}


def test_drift_is_measured_per_group_and_only_the_shifted_language_drifts(evaluated, folder):
    root, _ = folder
    _, _, rows, groups = evaluated
    got = groups["drift-by-language"]
    assert set(got) == {"en", "de"}
    assert got["de"].value == 1.0 and got["de"].state == "warning"
    assert got["en"].value == 0.0 and got["en"].state == "ok"
    assert rows["drift-by-language"].grouped.worst == {"language": "de"}
    with Store.open(root / "sigwatch.db", clock=FixedClock(AT)) as store:
        slices = {
            lang: store.latest_measurement("grouped", "drift-by-language", {"language": lang})
            for lang in ("en", "de")
        }
        assert store.latest_measurement("grouped", "drift-by-language") is None  # groups only
    for lang, measured in slices.items():
        # each group compared its own rows: the slice's and the day before's German posts
        assert measured.details["columns"]["text_len"]["drifted"] is (lang == "de")
        assert measured.details["current_rows"] == 500  # sampled down to sample_size
    kept = {p.parent.name for p in (root / "reports").rglob("current.parquet")}
    assert {k.split("-")[0] for k in kept} == {"group=en", "group=de"}


def test_the_signal_page_shows_a_grouped_drift_slos_worst_group_and_draws_its_report(
    evaluated, folder, monkeypatch
):
    from streamlit.testing.v1 import AppTest

    from console import common
    from monitors.slis.drift import report_folder
    from tests.conftest import ROOT

    root, _ = folder
    monkeypatch.setenv("SIGWATCH_DATA", str(root))
    monkeypatch.setenv("SIGWATCH_DEFINITIONS", str(root / "defs"))
    monkeypatch.setenv("SIGWATCH_CONSOLE_AT", AT.isoformat())
    common.read.clear()
    try:
        at = AppTest.from_file(str(ROOT / "console/views/signal_detail.py"), default_timeout=180)
        at.query_params["signal"] = "grouped"
        at.run()
        assert not at.exception
        # as shown: the Markdown escapes of values from the logs (console.common.plain) undone
        captions = re.sub(r"\\(.)", r"\1", "\n".join(str(c.value) for c in at.caption))
        assert "drift-by-language (language=de, its worst group): slice from" in captions
        at.toggle(key="drift-report-grouped-drift-by-language").set_value(True).run()
        assert not at.exception
    finally:
        common.read.clear()
    drawn = report_folder(root / "reports", "grouped", "drift-by-language", {"language": "de"})
    assert "text_len" in (drawn / "report.html").read_text()


def test_a_small_group_of_a_timeslice_kind_without_labels_is_insufficient_data(folder, tmp_path):
    from monitors.groups import timeslice_groups
    from monitors.slis.base import Context
    from sigwatch.model import Grouping

    root, logs = folder
    registry = load_registry(root / "defs")
    slo = registry.get("grouped").slo("cost-by-community")
    slo = replace(slo, grouping=Grouping(("community",), only=("tiny", "movies", "nowhere")))
    tiny = len(in_window(logs, AT - timedelta(days=7)).filter(pl.col("community") == "tiny"))
    assert 0 < tiny < 100
    with Store.open(tmp_path / "s.db", clock=FixedClock(AT)) as store:
        ctx = Context(root, store, registry.get("grouped"))
        got = {g.group["community"]: g for g in timeslice_groups(ctx, slo, AT, AT)}
    assert got["tiny"].state == "insufficient_data" and got["tiny"].samples == tiny
    assert got["tiny"].value is None and not got["tiny"].fired
    assert got["nowhere"].state == "no_data"
    assert got["movies"].state == "ok" and got["movies"].value == pytest.approx(0.1)


def test_a_backfill_gives_the_groups_a_run_gives(folder, tmp_path):
    root, _ = folder
    registry = load_registry(root / "defs")
    copy = tmp_path / "copy"
    copy.mkdir()
    for part in ("predictions", "labels"):
        (copy / part).symlink_to(root / part)
    with Store.open(copy / "sigwatch.db", clock=FixedClock(AT)) as store:
        monitor = Monitor(registry, copy, store, FixedClock(AT))
        [outcome] = monitor.backfill(AT - timedelta(hours=6), AT, slice_step=timedelta(hours=3))
        assert outcome.ok, outcome.error
        backfilled = {
            slo.name: store.group_statuses("grouped", slo.name, AT) for slo in registry.slos
        }
    with Store.open(root / "sigwatch.db", clock=FixedClock(AT)) as store:
        ran = {slo.name: store.group_statuses("grouped", slo.name, AT) for slo in registry.slos}

    def facts(rows):
        return [
            (r.group, r.state, r.samples, *(round(v, 9) for v in (r.value, r.budget_remaining)))
            if r.value is not None
            else (r.group, r.state, r.samples)
            for r in rows
        ]

    assert len(ran) == 6 and all(ran.values())
    # hourly cost slices: a 6-hour backfill measures six of them, a run the latest; their
    # budgets differ as an ungrouped SLO's would
    for name in set(ran) - {"cost-by-community"}:
        assert facts(backfilled[name]) == facts(ran[name]), name


def test_the_gap_between_the_best_and_worst_group_has_newcombes_interval(evaluated):
    from statsmodels.stats.proportion import confint_proportions_2indep

    _, _, rows, groups = evaluated
    gap = rows["review-precision-by-community"].grouped.gap
    judged = {
        name: g
        for name, g in groups["review-precision-by-community"].items()
        if g.value is not None and name != "(other)"
    }
    best = max(judged.values(), key=lambda g: g.value)
    worst = min(judged.values(), key=lambda g: g.value)
    assert gap.best.group == best.group and gap.worst.group == worst.group
    assert gap.worst.group == {"community": "headphones"}
    assert gap.difference == pytest.approx(best.value - worst.value)
    x1, n1 = round(best.value * best.samples), best.samples
    x2, n2 = round(worst.value * worst.samples), worst.samples
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    assert (gap.ci_low, gap.ci_high) == pytest.approx((low, high))
    assert gap.method == "newcombe" and gap.ci_low > 0  # a real gap, beyond chance


def test_the_consoles_counts_per_group_and_hour_equal_a_polars_group_by(evaluated, folder):
    from monitors.history import group_counts

    root, logs = folder
    registry, _, _, _ = evaluated
    signal = registry.get("grouped")
    slo = signal.slo("coverage-by-community")
    shown = [{"community": "headphones"}, {"community": "movies"}]
    got = group_counts(root, signal, slo, shown, START, AT, timedelta(hours=1))
    served = (pl.col("status") == "ok") & (pl.col("score") >= 0.5)
    named = pl.col("community").replace_strict(
        {"headphones": "community=headphones", "movies": "community=movies"},
        default="community=(other)",
    )
    expected = (
        in_window(logs, START)
        .group_by(named.alias("group"), pl.col("event_time").dt.truncate("1h").alias("t"))
        .agg(served.sum().cast(pl.Float64).alias("good"), pl.len().cast(pl.Float64).alias("total"))
        .sort("group", "t")
    )
    assert got.select("group", "t", "good", "total").equals(expected)


SCORE_YAML = """\
version: sigwatch/v1
signal:
  name: scored
  description: A score signal whose AUC is grouped.
  owner: team-a
  oncall: "#team-a"
  task: score
  model: {id: intent, version: "1"}
  serving_threshold: 0.0
slos:
  - name: auc-by-community
    sli: {kind: auc, min_labels: 100}
    target: ">= 0.7"
    timeslice: 1d
    objective: 0.9
    window: 28d
    group_by: [community]
    groups: {top: 3}
"""


def test_auc_groups_equal_scikit_learn_over_each_groups_labelled_rows(tmp_path):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(21)
    logs = (
        seeded_logs()
        .with_columns(
            pl.lit(None, pl.Utf8).alias("label"), score=pl.Series(rng.random(60_000).round(6))
        )
        .cast(REQUIRED_LOG_SCHEMA)
    )
    # the truth follows the score, except in headphones where the score says nothing
    served = logs.filter(pl.col("status") == "ok").sample(fraction=0.4, seed=3)
    noise = rng.random(len(served))
    follows = (served["score"].to_numpy() + 0.35 * noise) > 0.7
    blind = noise < 0.4
    truth = np.where(served["community"].to_numpy() == "headphones", blind, follows)
    labels = pl.DataFrame(
        {
            "item_id": served["item_id"],
            "label": np.where(truth, "1", "0").tolist(),
            "labels": [None] * len(served),
            "source": ["human"] * len(served),
            "labeled_at": served["event_time"] + timedelta(hours=1),
            "rater_id": ["r1"] * len(served),
        }
    ).cast(LABEL_SCHEMA)
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "scored.yaml").write_text(SCORE_YAML)
    for day, rows in logs.group_by(pl.col("event_time").dt.date()):
        part = tmp_path / "predictions" / "signal=scored" / f"date={day[0]:%Y-%m-%d}"
        part.mkdir(parents=True)
        rows.write_parquet(part / "part-0.parquet")
    (tmp_path / "labels" / "signal=scored").mkdir(parents=True)
    labels.write_parquet(tmp_path / "labels" / "signal=scored" / "part-0.parquet")
    registry = load_registry(tmp_path / "defs")
    with Store.open(tmp_path / "sigwatch.db", clock=FixedClock(AT)) as store:
        outcome = Monitor(registry, tmp_path, store, FixedClock(AT)).run(AT)[0]
        assert outcome.ok, outcome.error
        got = {_label(g.group): g for g in store.group_statuses("scored", "auc-by-community", AT)}
    today = datetime(2026, 11, 23, tzinfo=UTC)
    joined = (
        in_window(logs, today)
        .filter(pl.col("status") == "ok")
        .join(labels.filter(pl.col("labeled_at") <= AT).select("item_id", "label"), on="item_id")
    )
    assert len(got) == 4 and "(other)" in got
    checked = 0
    for community in [c for c in got if c != "(other)"]:
        rows = joined.filter(pl.col("community") == community)
        assert got[community].samples == len(rows)
        if len(rows) >= 100:
            scores = rows["score"].cast(pl.Float64).round(4)  # as the quality table keeps them
            expected = roc_auc_score((rows["label_right"] == "1").to_numpy(), scores.to_numpy())
            assert got[community].value == pytest.approx(expected)
            checked += 1
    assert checked >= 2
    assert got["headphones"].state == "warning" and got["headphones"].ci_high < 0.7
    assert {got[c].state for c in ("movies", "cars")} <= {"ok"}
