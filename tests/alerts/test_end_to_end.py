"""Monitors -> alerts -> Slack on simulated traffic with one outage, evaluation by evaluation
(the path of ``sigwatch serve``'s jobs, on an injected clock): the outage's alerts are posted
once, updated, and resolved after it ends; nothing else is posted. Then the CLI over a full
run with a token (and with a webhook): the secrets appear nowhere — not in output, JSON,
logs, the outbox or any table."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from alerts.render import ACK_ACTION
from alerts.service import Alerting
from monitors.runner import Monitor
from monitors.windows import RULES
from sigwatch.clock import FixedClock
from sigwatch.settings import Settings
from sigwatch.store import Store
from simulator.run import simulate
from tests.alerts.slack_server import TOKEN
from tests.alerts.test_actions import SECRET as SIGNING_SECRET
from tests.alerts.test_actions import click_body, post, signed
from tests.conftest import DEFINITIONS, ROOT
from tests.live import live_outage
from tests.postgres import free_port
from tests.sql import query

END = datetime(2026, 11, 22, tzinfo=UTC)
OUTAGE = (datetime(2026, 11, 21, 0, 0, tzinfo=UTC), datetime(2026, 11, 21, 1, 0, tzinfo=UTC))
SCENARIO = """\
incidents:
  - signal: content_type
    kind: outage
    start: 2026-11-21T00:00:00Z
    duration: 1h
"""


@pytest.fixture(scope="module")
def traffic(registry, corpus_cache, tmp_path_factory):
    data = tmp_path_factory.mktemp("e2e")
    scenario = data / "scenario.yaml"
    scenario.write_text(SCENARIO)
    result = simulate(
        registry,
        data,
        days=2,
        seed=5,
        end=END,
        rate=20_000,
        scenario=scenario,
        cache_dir=corpus_cache,
    )
    assert [(i["kind"], i["start"]) for i in result.incidents] == [
        ("outage", OUTAGE[0].isoformat())
    ]
    return data


def _settings(slack) -> Settings:
    return Settings.from_env(
        {
            "SIGWATCH_SLACK_TOKEN": TOKEN,
            "SIGWATCH_SLACK_API_URL": slack.api_url,
            "SIGWATCH_CONSOLE_URL": "http://127.0.0.1:8501",
        }
    )


def test_an_outage_is_posted_updated_and_resolved_evaluation_by_evaluation(
    traffic, registry, slack, tmp_path, caplog, store_url
):
    caplog.set_level(logging.DEBUG)
    clock = FixedClock(OUTAGE[0] - timedelta(minutes=20))
    with Store.open(store_url, clock=clock) as store:
        monitor = Monitor(registry, traffic, store, clock, reports_dir=tmp_path / "reports")
        alerting = Alerting.open(store, registry, _settings(slack), clock)
        monitor.backfill(clock.now() - timedelta(hours=6), clock.now(), signals=["content_type"])
        alerting.replay(clock.now() - timedelta(hours=6), clock.now(), ["content_type"])
        assert slack.messages == []  # healthy before the outage
        opened = {}
        while clock.now() < OUTAGE[1] + timedelta(minutes=45):
            at = clock.advance(timedelta(minutes=5))
            [outcome] = monitor.run(at, signals=["content_type"])
            assert outcome.ok, outcome.error
            assert alerting.process(outcome.statuses).error is None
            for alert in alerting.records.open_alerts():
                opened.setdefault(alert.key, at)
        alerts = alerting.records.alerts(include_resolved=True)
    keys = {a.key for a in alerts if not a.slo.endswith("-by-community")}
    assert keys == {"content_type/coverage/page", "content_type/errors/page"}
    # every community breaks too: the grouped SLO's alert is recorded as part of the outage's
    # page, and not posted
    grouped = [a for a in alerts if a.slo == "coverage-by-community"]
    assert grouped and all(a.inhibited_by == "content_type/coverage/page" for a in grouped)
    alerts = [a for a in alerts if a.key in keys]
    page_rule = RULES[0]  # 1h/5m: a full outage pages once the hour has spent factor x budget
    for alert in alerts:
        objective = registry.get("content_type").slo(alert.slo).objective
        detect = page_rule.factor(objective.window) * objective.error_budget * page_rule.long
        assert OUTAGE[0] < opened[alert.key] <= OUTAGE[0] + detect + timedelta(minutes=10)
        assert alert.state == "resolved" and alert.resolved_at >= OUTAGE[1]
    messages = slack.top_level("#acu-oncall")
    assert len(messages) == 2 == len(slack.top_level())
    for message in messages:
        assert message["text"].startswith(":white_check_mark: RESOLVED [page] content_type")
        replies = [r["text"] for r in slack.replies(message["ts"])]
        assert replies[-1].startswith("resolved after"), replies
        assert "http://127.0.0.1:8501/signal?signal=content_type" in json.dumps(message["blocks"])
    assert TOKEN not in caplog.text
    assert any("chat.postMessage" in r.getMessage() for r in caplog.records)  # logs were seen


def _cli(args, env, data):
    run = subprocess.run(
        [sys.executable, "-m", "sigwatch.cli", *args, "--data", str(data)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=300,
    )
    return run


def test_the_cli_never_shows_a_secret_over_a_full_run(traffic, slack, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for part in ("predictions", "labels"):
        (data / part).symlink_to(traffic / part)
    secrets = [TOKEN, slack.webhook_url]
    base = {"SIGWATCH_DEFINITIONS": str(DEFINITIONS), "SIGWATCH_SLACK_API_URL": slack.api_url}
    with_token = {**base, "SIGWATCH_SLACK_TOKEN": TOKEN}
    with_hook = {**base, "SIGWATCH_SLACK_WEBHOOK_URL": slack.webhook_url}
    at = (OUTAGE[0] + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S%z")
    later = (OUTAGE[0] + timedelta(minutes=35)).strftime("%Y-%m-%dT%H:%M:%S%z")
    slack.plan.extend(["500", "500", "500"])  # a failing first send: errors must be clean too
    runs = [
        _cli(["monitor", "--at", at, "-s", "content_type"], with_token, data),
        _cli(["monitor", "--at", at, "-s", "content_type"], with_token, data),
        _cli(["alerts", "--json", "--all", "--at", later], with_token, data),
        _cli(["ack", "content_type/coverage/page", "--by", "ana", "--at", later], with_token, data),
        _cli(
            ["silence", "add", "-s", "sentiment", "--for", "1h", "--reason", "test", "--at", later],
            with_token,
            data,
        ),
        _cli(["silence", "list", "--json", "--at", later], with_token, data),
        _cli(["digest", "--at", later], with_token, data),
        _cli(["status", "--json", "--at", later], with_token, data),
        _cli(["digest", "--at", later], with_hook, data),
        _cli(["alerts", "--at", later], with_hook, data),
    ]
    for run in runs:
        assert run.returncode == 0, [*run.args[3:], run.stdout, run.stderr]
        for secret in secrets:
            assert secret not in run.stdout and secret not in run.stderr, run.args
    listed = json.loads(runs[2].stdout)
    assert {a["key"] for a in listed if "-by-" not in a["slo"]} == {
        "content_type/coverage/page",
        "content_type/errors/page",
    }
    assert all(a["slack_ts"] and a["channel"] == "#acu-oncall" for a in listed)
    assert "delivery stopped" in runs[0].stdout  # the 500s: queued, retried by the next run
    assert len(slack.top_level("#acu-oncall")) == 2
    assert len(slack.top_level("#ml-signals-leadership")) == 1
    assert len(slack.webhook_posts) == 1
    with Store.open(data / "sigwatch.db", clock=FixedClock(END)) as store:
        tables = [r[0] for r in query(store, "SELECT name FROM sqlite_master WHERE type='table'")]
        dump = repr([query(store, f"SELECT * FROM {t}") for t in tables])
    assert "outbox" in tables
    for secret in secrets:
        assert secret not in dump


def serve_rss(pid: int) -> int:
    """A process's resident memory, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        line = next(x for x in status if x.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def test_serve_posts_the_open_incident_to_slack(registry, corpus_cache, slack, tmp_path):
    """``sigwatch serve`` runs on the wall clock: an outage that began 45 minutes ago and goes
    on is posted once. The traffic is written ahead, to two hours past now, as it would arrive
    while serve runs: serve reads the logs up to its own now only, so whenever its first cycle
    runs (a slow machine, a 5-minute boundary crossed while simulating), the newest bucket is
    full of the outage and it pages. Only content_type's occurrence SLOs are served: a
    timeslice SLO's current slice is the part of today before now, so what it holds (a
    night's few rows, a busy afternoon's) would depend on the time of day the test runs."""
    import signal as signals
    import socket
    import time

    since, ahead = timedelta(minutes=45), timedelta(hours=2)
    data, definitions, _ = live_outage(registry, corpus_cache, tmp_path, since=since, ahead=ahead)
    port, actions_port = free_port(), free_port()
    roles = tmp_path / "roles.yaml"
    roles.write_text(
        "people:\n  bob@example.com: {role: oncall, for: '#acu-oncall', slack: U02BOB}\n"
    )
    env = {
        **os.environ,
        "SIGWATCH_DEFINITIONS": str(definitions),
        "SIGWATCH_SLACK_TOKEN": TOKEN,
        "SIGWATCH_SLACK_API_URL": slack.api_url,
        "SIGWATCH_SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SIGWATCH_ROLES": str(roles),
    }
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sigwatch.cli",
            "serve",
            "--data",
            str(data),
            "--port",
            str(port),
            "--actions-port",
            str(actions_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(slack.top_level("#acu-oncall")) < 2:
            assert serve.poll() is None, serve.communicate()
            time.sleep(0.5)
        # a body declared -1 bytes long and 200 MiB sent: refused before any of it is read
        before = serve_rss(serve.pid)
        with socket.create_connection(("127.0.0.1", actions_port), timeout=10) as conn:
            conn.sendall(b"POST /slack/actions HTTP/1.1\r\nContent-Length: -1\r\n\r\n")
            sent, chunk = 0, b"x" * (1 << 20)
            try:
                while sent < 200 << 20:
                    conn.sendall(chunk)
                    sent += len(chunk)
            except OSError:  # the endpoint answered and closed: the rest is not read
                pass
            answer = conn.recv(64)
        assert answer.startswith(b"HTTP/1.0 400"), answer
        assert sent < 200 << 20 and serve_rss(serve.pid) - before < 32 << 20
        # on-call clicks Acknowledge on the coverage page: the real endpoint, signed as Slack
        # signs, on the wall clock serve runs on
        listed = json.loads(_cli(["alerts", "--json"], env, data).stdout)
        posted = {a["key"]: a for a in listed if a["slack_ts"]}
        assert "content_type/coverage/page" in posted, sorted(posted)
        coverage = posted["content_type/coverage/page"]
        body = click_body("U02BOB", ACK_ACTION, coverage["id"], slack.response_url)
        url = f"http://127.0.0.1:{actions_port}/slack/actions"
        forged = signed(body, int(time.time()), "a-guess")
        assert post(url, body, forged) == 401
        assert post(url, body, signed(body, int(time.time()), SIGNING_SECRET)) == 200
        while time.monotonic() < deadline and not slack.top_level("#acu-oncall")[0]["edits"]:
            time.sleep(0.2)
    finally:
        serve.send_signal(signals.SIGTERM)
        stdout, stderr = serve.communicate(timeout=60)
    assert serve.returncode == 0, stderr
    assert "posting alerts to Slack" in stdout and "stopped" in stdout
    said = stdout.replace("\n", "")  # rich wraps long lines
    assert f"Slack's buttons: http://127.0.0.1:{actions_port}/slack/actions" in said
    assert "1 people with a Slack user id" in said
    assert TOKEN not in stdout + stderr and SIGNING_SECRET not in stdout + stderr
    titles = sorted(m["blocks"][0]["text"]["text"] for m in slack.top_level())
    assert titles == [
        ":eyes: ACKNOWLEDGED [page] content_type / coverage",
        ":red_circle: FIRING [page] content_type / errors",
    ]
    [acked] = [m for m in slack.top_level() if "coverage" in m["text"]]
    assert [r["text"] for r in slack.replies(acked["ts"])] == [
        "acknowledged by bob@example.com via Slack"
    ]
    listed = json.loads(_cli(["alerts", "--json"], env, data).stdout)
    by = {a["key"]: a["acknowledged_by"] for a in listed}
    assert by["content_type/coverage/page"] == "bob@example.com via Slack"
    assert by["content_type/errors/page"] is None
    posted = [a for a in listed if "-by-" not in a["slo"]]
    assert {a["key"] for a in posted} == {"content_type/coverage/page", "content_type/errors/page"}
    assert all(a["slack_ts"] for a in posted)
    # every community breaks with the outage: recorded as part of its page, never posted
    assert all(a["slack_ts"] is None for a in listed if "-by-" in a["slo"])
