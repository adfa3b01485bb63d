"""The daily judge job on a day of the simulated scenario, against a local chat-completions
server: the sample is stratified and within budget (calls and dollars), judge errors are
stored as errors, re-runs resume without new calls, self-consistency catches a judge that
follows the label order; the judge-based precision SLI is the Rogan-Gladen correction of the
weighted sample, with an interval wider than the uncorrected one."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import timedelta

import polars as pl
import pytest
from typer.testing import CliRunner

from evaluation.daily import REPEAT_SHARE, judge_day, served
from evaluation.judge import JudgeClient
from evaluation.sampling import strata
from monitors.slis import calculation
from monitors.slis.base import Context
from sigwatch.calibration import ClassRates, rogan_gladen
from sigwatch.cli import app
from sigwatch.clock import FixedClock
from sigwatch.stats import wilson_interval
from sigwatch.store import Store, to_epoch
from sigwatch.store.judge import CalibrationRow
from tests.evaluation.chat_server import ChatServer
from tests.evaluation.conftest import CLASSES, DAY, END
from tests.sql import query


def _client(server, **kw) -> JudgeClient:
    return JudgeClient(server.url, "fake-judge", timeout=2, retries=1, **kw)


def test_the_day_is_sampled_by_stratum_within_the_call_budget(
    store_url, registry, day_data, server
):
    signal = registry.get("content_type")
    with Store.open(store_url, clock=FixedClock(END)) as store:
        run = judge_day(
            store, _client(server), signal, day_data, DAY, calls=120, dollars=1.0, seed=3
        )
        rows = query(
            store,
            "SELECT stratum, weight, predicted, label, error FROM judge_labels"
            " WHERE purpose = 'monitoring'",
        )
    population = strata(served(day_data, signal, DAY, END)).group_by("stratum").len()
    sizes = dict(population.iter_rows())
    repeats = math.ceil(120 * REPEAT_SHARE)
    assert len(server.requests) == run.judged + run.repeats == 120  # the budget, to the call
    assert run.sampled == 120 - repeats and len(rows) == run.sampled
    assert run.served == sum(sizes.values()) > 1000
    per_stratum: dict[str, list[float]] = {}
    for stratum, weight, predicted, label, error in rows:
        per_stratum.setdefault(stratum, []).append(weight)
        assert stratum.split("/")[0] == predicted and error is None and label in CLASSES
    # every stratum of the day is sampled; each one's weights add up to its size
    assert set(per_stratum) == set(sizes)
    for stratum, weights in per_stratum.items():
        assert sum(weights) == pytest.approx(sizes[stratum])
    # small strata are taken whole, so rare classes are measured (not sampled in proportion)
    smallest = min(sizes, key=sizes.get)
    assert len(per_stratum[smallest]) >= min(sizes[smallest], (120 - repeats) // len(sizes))
    assert run.repeats == repeats and run.repeats_agreeing == repeats  # a stable judge


def test_the_dollar_budget_stops_the_run_and_a_rerun_resumes(store_url, registry, day_data, server):
    signal = registry.get("content_type")
    # 300 prompt + 20 completion tokens a call (the fake's usage) at $1 / $2 per 1k: $0.34 a call
    client = _client(server, price_in_per_1k=1.0, price_out_per_1k=2.0)
    with Store.open(store_url, clock=FixedClock(END)) as store:
        first = judge_day(store, client, signal, day_data, DAY, calls=100, dollars=3.0, seed=1)
        assert first.stopped and "dollar budget" in first.stopped
        assert first.judged == 8 and first.cost_usd == pytest.approx(8 * 0.34)
        calls = len(server.requests)
        again = judge_day(store, client, signal, day_data, DAY, calls=100, dollars=0.5, seed=1)
        assert again.reused == 8 and again.judged == 1  # resumed where it stopped
        assert len(server.requests) == calls + 1


def test_judge_errors_are_stored_as_errors_never_as_labels(store_url, registry, day_data, server):
    signal = registry.get("content_type")
    server.plan.extend(["500", "500", "wrong_label", "wrong_label"])  # two posts, each retried
    with Store.open(store_url, clock=FixedClock(END)) as store:
        run = judge_day(
            store, _client(server), signal, day_data, DAY, calls=10, dollars=1.0, seed=5
        )
        errors = query(store, "SELECT label, error FROM judge_labels WHERE error IS NOT NULL")
    assert run.errors == 2 and run.judged == 8
    assert sorted(errors) == [(None, "judge_error: http"), (None, "judge_error: wrong_label")]
    assert sum(run.labels.values()) == 8


def test_self_consistency_catches_a_judge_that_follows_the_label_order(
    store_url, registry, day_data
):
    def first_listed(post: str) -> str:  # a judge with position bias: the first label shown
        system = order_server.requests[-1]["messages"][0]["content"]
        return system.split("Labels:\n- ")[1].split(":")[0]

    order_server = ChatServer(first_listed)
    try:
        with Store.open(store_url, clock=FixedClock(END)) as store:
            run = judge_day(
                store,
                _client(order_server),
                registry.get("content_type"),
                day_data,
                DAY,
                calls=200,
                dollars=1.0,
                seed=2,
            )
    finally:
        order_server.stop()
    assert run.repeats == 10
    assert run.consistency is not None and run.consistency <= 0.5  # 1/5 by chance


def _calibrate(store: Store, rates: ClassRates) -> None:
    """A calibration of the fake judge's prompt version with these rates, as of DAY."""
    [(version,)] = query(store, "SELECT DISTINCT prompt_version FROM judge_labels")
    store.judge.put_calibration(
        CalibrationRow(
            "content_type",
            "fake-judge",
            version,
            to_epoch(DAY),
            200,
            0,
            0.8,
            json.dumps({"review": rates.__dict__}),
            0.0,
        )
    )


def test_judged_precision_is_the_corrected_weighted_share(store_url, registry, day_data, server):
    signal = registry.get("content_type")
    slo = next(s for s in signal.slos if s.name == "review-precision-judged")
    rates = ClassRates("review", tp=45, fn=5, tn=140, fp=10)  # TPR 0.9, TNR 0.933
    with Store.open(store_url, clock=FixedClock(END)) as store:
        ctx = Context(day_data, store, signal)
        before = calculation(slo.sli).measure(ctx, slo, DAY, END, END)
        assert before.unknown == "insufficient_labels"
        assert "not calibrated" in before.details["reason"]
        judge_day(store, _client(server), signal, day_data, DAY, calls=200, dollars=1.0, seed=4)
        _calibrate(store, rates)
        ctx = Context(day_data, store, signal)  # the next run: a context keeps what it read
        value = calculation(slo.sli).measure(ctx, slo, DAY, END, END)
        rows = query(
            store,
            "SELECT label, weight FROM judge_labels WHERE purpose = 'monitoring'"
            " AND predicted = 'review' AND label IS NOT NULL",
        )
    weights = [w for _, w in rows]
    apparent = sum(w for label, w in rows if label == "review") / sum(weights)
    assert value.samples == len(rows) >= slo.sli.min_labels
    assert value.details["apparent"] == pytest.approx(apparent, abs=1e-4)
    assert value.value == pytest.approx(rogan_gladen(apparent, 0.9, 140 / 150))
    assert value.ci_low <= value.value <= value.ci_high
    n_eff = sum(weights) ** 2 / sum(w * w for w in weights)
    low, high = wilson_interval(apparent * n_eff, n_eff)
    assert value.ci_high - value.ci_low > high - low  # the judge's own error widens it


def test_judge_run_and_report_from_the_command_line(store_url, day_data, server):
    env = {
        "SIGWATCH_JUDGE_URL": server.url,
        "SIGWATCH_JUDGE_MODEL": "fake-judge",
        "SIGWATCH_JUDGE_PRICE_IN": "0.001",
        "SIGWATCH_STORE_URL": store_url,
    }
    args = [
        "judge",
        "run",
        "-s",
        "content_type",
        "--day",
        f"{DAY:%Y-%m-%d}",
        "--calls",
        "40",
        "--json",
        "--data",
        str(day_data),
    ]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.output)
    assert run["judged"] + run["repeats"] == 40 == len(server.requests)
    assert run["cost_usd"] == pytest.approx(40 * 0.3 * 0.001)
    at = f"{END + timedelta(hours=2):%Y-%m-%dT%H:%M:%S%z}"  # the judged day is 1 to 2 days back
    report = CliRunner().invoke(
        app,
        [
            "judge",
            "report",
            "-s",
            "content_type",
            "--days",
            "3",
            "--at",
            at,
            "--json",
            "--data",
            str(day_data),
        ],
        env=env,
    )
    assert report.exit_code == 0, report.output
    (doc,) = json.loads(report.output)
    assert doc["calibration"] is None  # not calibrated yet: no corrected numbers
    (day,) = doc["days"]
    assert day["day"] == f"{DAY:%Y-%m-%d}" and day["calls"] == run["judged"]
    assert day["precision"] == {}
    # without --day, the day before --at is judged: the same day, resumed with no new call
    args = ["judge", "run", "-s", "content_type", "--at", at, "--calls", "40", "--json"]
    again = CliRunner().invoke(app, [*args, "--data", str(day_data)], env=env)
    assert again.exit_code == 0, again.output
    (rerun,) = json.loads(again.output)
    assert rerun["day"] == f"{DAY:%Y-%m-%d}" and len(server.requests) == 40
    bad = CliRunner().invoke(app, ["judge", "run", "-s", "sentiment_x", "--data", str(day_data)])
    assert bad.exit_code == 2 and "unknown signal 'sentiment_x'" in bad.output


def test_a_day_without_predictions_is_no_data(store_url, registry, tmp_path, server):
    with Store.open(store_url, clock=FixedClock(END)) as store:
        run = judge_day(
            store,
            _client(server),
            registry.get("content_type"),
            tmp_path,
            DAY,
            calls=10,
            dollars=1.0,
            seed=0,
        )
    assert run.served == 0 and run.judged == 0 and "no served predictions" in run.stopped
    assert server.requests == []


def test_the_daily_job_judges_yesterday_and_one_failing_signal_spares_the_others(
    store_url, registry, day_data, server
):
    from evaluation.calibrate import gold_items
    from evaluation.jobs import judge_yesterday
    from sigwatch.settings import Settings

    broken = day_data / "predictions" / "signal=sentiment" / f"date={DAY:%Y-%m-%d}"
    broken.mkdir(parents=True)
    (broken / "part-0.parquet").write_bytes(b"not parquet")
    settings = Settings(judge_url=server.url, judge_model="fake-judge", judge_daily_calls=30)
    with Store.open(store_url, clock=FixedClock(END)) as store:
        results = judge_yesterday(registry, day_data, settings, FixedClock(END), store)
    assert set(results) == {"content_type", "sentiment"}
    assert "not a readable Parquet" in results["sentiment"]
    run = results["content_type"]
    assert run.day == DAY and run.judged + run.repeats == 30
    # a judge model never seen before was first calibrated on each signal's gold set
    gold = len(gold_items(registry.get("content_type")))
    calls = gold + 30

    def content_type_calls() -> int:  # (sentiment is calibrated too; this judge fails at it)
        return sum("signal 'content_type'" in r["messages"][0]["content"] for r in server.requests)

    assert content_type_calls() == calls
    with Store.open(store_url, clock=FixedClock(END)) as store:
        [(n,)] = query(
            store,
            "SELECT n FROM judge_calibrations WHERE signal = 'content_type' AND model = ?",
            ("fake-judge",),
        )
        assert n == gold
        again = judge_yesterday(registry, day_data, settings, FixedClock(END), store)
    assert again["content_type"].reused == run.sampled  # no recalibration, no new labels
    assert content_type_calls() == calls


def test_judge_labels_keep_where_each_prediction_was_served_and_group_by_language(
    store_url, registry, day_data, server
):

    from monitors.groups import timeslice_groups
    from sigwatch.model import Grouping

    signal = registry.get("content_type")
    slo = next(s for s in signal.slos if s.name == "review-precision-judged")
    grouped = replace(slo, grouping=Grouping(("language",), top=2))
    rates = ClassRates("review", tp=45, fn=5, tn=140, fp=10)
    with Store.open(store_url, clock=FixedClock(END)) as store:
        judge_day(store, _client(server), signal, day_data, DAY, calls=300, dollars=1.0, seed=4)
        # labels of a judge never calibrated count nowhere: no group is evaluated
        assert timeslice_groups(Context(day_data, store, signal), grouped, END, END) == []
        _calibrate(store, rates)
        labelled = pl.DataFrame(
            query(
                store,
                "SELECT item_id, label, weight, predicted, language, community FROM judge_labels"
                " WHERE purpose = 'monitoring' AND label IS NOT NULL",
            ),
            schema=["item_id", "label", "weight", "predicted", "language", "community"],
            orient="row",
        )
        groups = timeslice_groups(Context(day_data, store, signal), grouped, END, END)
    logs = served(day_data, signal, DAY, END).select("item_id", "language", "community")
    where = labelled.join(logs, on="item_id", suffix="_served")
    assert len(where) == len(labelled) > 0
    for column in ("language", "community"):
        assert where[column].to_list() == where[f"{column}_served"].to_list()
    by_volume = (
        labelled.group_by("language").len().sort(["len", "language"], descending=[True, False])
    )
    top = by_volume["language"].head(2).to_list()
    assert [g.group["language"] for g in groups] == [*top, "(other)"]
    for status in groups:
        name = status.group["language"]
        mine = labelled.filter(
            ~pl.col("language").is_in(top) if name == "(other)" else pl.col("language") == name
        ).filter(pl.col("predicted") == "review")
        assert status.samples == len(mine)
        if len(mine) < slo.sli.min_labels:
            assert status.state == "insufficient_labels"
            continue
        weights = mine["weight"].to_numpy()
        apparent = weights[mine["label"].to_numpy() == "review"].sum() / weights.sum()
        assert status.value == pytest.approx(rogan_gladen(apparent, 0.9, 140 / 150))
    assert groups[0].value is not None  # English has enough judged rows to be measured
