"""A monitor that breaks pages. With real processes: ``sigwatch monitor`` runs every 5 minutes
over logs whose newest file of content_type has a mistyped column, with the local Slack
server. The first two failed runs page nobody; the third opens one page on the pseudo-SLO
``monitor`` whose Slack text names the file and the column; sentiment, evaluated in the same
runs, keeps its statuses; the file fixed, the next run resolves the page. Then the lifecycle's
rules for it, on a hand-built store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from alerts.lifecycle import Lifecycle
from alerts.model import MONITOR, Policy
from sigwatch.clock import FixedClock
from sigwatch.store import Run, Store
from tests.alerts.slack_server import TOKEN
from tests.conftest import DEFINITIONS, ROOT, SCENARIO_END

END = datetime.fromisoformat(SCENARIO_END)


@pytest.fixture(scope="module")
def logs(default_scenario):
    """The default scenario's data folder (7 days of logs, the monitors' tables and store)."""
    return default_scenario[1].parent


def _monitor(data, at: datetime, slack) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "SIGWATCH_DEFINITIONS": str(DEFINITIONS),
        "SIGWATCH_SLACK_TOKEN": TOKEN,
        "SIGWATCH_SLACK_API_URL": slack.api_url,
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sigwatch.cli",
            "monitor",
            "--data",
            str(data),
            "--at",
            f"{at:%Y-%m-%dT%H:%M:%S%z}",
            "-s",
            "content_type",
            "-s",
            "sentiment",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )


def _status(data, at: datetime, signal: str) -> list[dict]:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sigwatch.cli",
            "status",
            "--json",
            "--data",
            str(data),
            "--at",
            f"{at:%Y-%m-%dT%H:%M:%S%z}",
            "-s",
            signal,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "SIGWATCH_DEFINITIONS": str(DEFINITIONS)},
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_a_monitor_failing_three_runs_in_a_row_pages_and_a_good_run_resolves_it(
    logs, slack, tmp_path
):
    data = tmp_path / "data"
    (data / "predictions").mkdir(parents=True)
    (data / "labels").symlink_to(logs / "labels")
    for part in (logs / "predictions").iterdir():
        if part.name != "signal=content_type":
            (data / "predictions" / part.name).symlink_to(part)
    shutil.copytree(logs / "partials", data / "partials")
    shutil.copy(logs / "sigwatch.db", data / "sigwatch.db")
    own = data / "predictions" / "signal=content_type"  # a copy: this test damages it
    shutil.copytree(logs / "predictions" / "signal=content_type", own)
    times = [END + timedelta(minutes=5 * k) for k in range(1, 5)]  # after the backfill
    first = _monitor(data, times[0] - timedelta(minutes=5), slack)  # a good run, then damage
    assert first.returncode == 0, first.stdout + first.stderr
    newest = sorted(own.glob("date=*/*.parquet"))[-1]
    good = pl.read_parquet(newest)
    good.rename({"latency_ms": "latency_msec"}).write_parquet(newest)  # a mistyped column
    for k, at in enumerate(times[:3]):
        run = _monitor(data, at, slack)
        assert run.returncode == 1, run.stdout + run.stderr  # a failed signal fails the command
        assert "run failed" in run.stdout
        pages = [m for m in slack.top_level() if "content_type / monitor" in m["text"]]
        assert len(pages) == (1 if k == 2 else 0), [m["text"] for m in slack.top_level()]
    [page] = [m for m in slack.top_level() if "content_type / monitor" in m["text"]]
    said = json.dumps(page["blocks"])
    assert str(newest) in said and "latency_ms" in said, said
    assert "failed 3 runs in a row" in said
    # the runbook: the pseudo-SLO is in no YAML, so it is the runbooks page's #monitor
    assert (
        "<https://github.com/sigwatch/sigwatch/blob/main/docs/runbooks.md#monitor|Runbook>" in said
    )
    # sentiment, evaluated in the same runs, is evaluated as usual; content_type says why its
    # rows are stale
    sentiment = _status(data, times[2], "sentiment")
    assert sentiment and all(s["window_end"] == times[2].isoformat() for s in sentiment)
    assert {s["monitor"]["state"] for s in sentiment} == {"ok"}
    content = _status(data, times[2], "content_type")
    assert {(s["monitor"]["state"], s["monitor"]["failures"]) for s in content} == {("failing", 3)}
    assert content[0]["monitor"]["since"] == times[0].isoformat()
    assert "latency_ms" in content[0]["monitor"]["error"]

    good.write_parquet(newest)  # fixed: the next run is good and resolves the page
    run = _monitor(data, times[3], slack)
    assert run.returncode == 0, run.stdout + run.stderr
    [page] = [m for m in slack.top_level() if "content_type / monitor" in m["text"]]
    assert page["text"].startswith(":white_check_mark: RESOLVED [page] content_type / monitor")
    assert [r["text"] for r in slack.replies(page["ts"])][-1].startswith("resolved after")
    assert len([m for m in slack.top_level() if "/ monitor" in m["text"]]) == 1


# --- the rules, on a hand-built store ------------------------------------------------------

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def failing_world(registry, store_url):
    clock = FixedClock(T0)
    store = Store.open(store_url, clock=clock)
    yield store, Lifecycle(store.alerts, registry, Policy()), clock
    store.close()


def _run(store, signal: str, at: datetime, ok: bool, error: str = "LogError: x.parquet: bad"):
    store.record_run(Run(signal, at, at, 10.0, "ok" if ok else "error", None if ok else error))


def test_failures_count_from_the_last_good_run_and_page_once_at_the_threshold(failing_world):
    store, lifecycle, _ = failing_world
    _run(store, "content_type", T0, True)
    opened = []
    for k in range(1, 6):
        at = T0 + timedelta(minutes=5 * k)
        _run(store, "content_type", at, False, f"LogError: run {k}")
        failing = store.failing("content_type")
        assert (failing.failures, failing.since, failing.last_ok) == (
            k,
            T0 + timedelta(minutes=5),
            T0,
        )
        assert failing.error == f"LogError: run {k}"
        opened.append(lifecycle.monitor_failed(failing, 3, at))
    assert opened[:2] == [None, None] and all(a is not None for a in opened[2:])
    [alert] = [a for a in lifecycle.records.alerts() if a.slo == MONITOR]
    assert alert.failure.failures == 5 and alert.failure.reason == "LogError: run 5"
    assert store.failing("sentiment") is None  # other signals: nothing failing
    _run(store, "content_type", T0 + timedelta(minutes=30), True)
    assert store.failing("content_type") is None
    resolved = lifecycle.monitor_ok("content_type", T0 + timedelta(minutes=30))
    assert resolved.state == "resolved" and resolved.resolved_at == T0 + timedelta(minutes=30)
    assert lifecycle.monitor_ok("content_type", T0 + timedelta(minutes=35)) is None


def test_two_schedulers_failing_one_time_count_it_once(failing_world):
    """On a shared PostgreSQL store both schedulers evaluate a failing signal (only a good run
    marks a time evaluated): two failed runs of one 5-minute time are one failure, so the page
    waits for three times, not for a time and a half."""
    store, lifecycle, _ = failing_world
    for k in (1, 2):
        at = T0 + timedelta(minutes=5 * k)
        store.record_run(Run("content_type", at, at, 10.0, "error", "SparkError: master gone"))
        later = at + timedelta(seconds=2)  # the other scheduler, a moment after
        store.record_run(Run("content_type", at, later, 10.0, "error", "SparkError: master gone"))
    failing = store.failing("content_type")
    assert failing.failures == 2 and failing.since == T0 + timedelta(minutes=5)
    assert lifecycle.monitor_failed(failing, 3, T0 + timedelta(minutes=10)) is None
