"""The store goes away and comes back: `sigwatch serve` on a real PostgreSQL that is stopped at
once (as a crash or a restart does) for 2 minutes in the middle of an outage scenario, at the
worst moment: Slack has just accepted a page but sigwatch has not yet recorded that it did.
serve keeps running, says so on /metrics, records the runs that failed once the store is back,
and every page reaches Slack exactly once."""

from __future__ import annotations

import os
import signal as signals
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta

import pytest

from sigwatch.clock import FixedClock
from sigwatch.store import Store
from tests.alerts.slack_server import TOKEN, FakeSlack
from tests.conftest import ROOT
from tests.live import live_outage
from tests.postgres import free_port
from tests.sql import query

OUTAGE_S = 120  # how long the database is away


def _metric(port: int, name: str) -> str | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        assert answer.status == 200
        text = answer.read().decode()
    lines = [line for line in text.splitlines() if line.startswith(name + " ")]
    return lines[0].split()[1] if lines else None


@pytest.mark.skipif(
    "faketime" in os.environ.get("LD_PRELOAD", ""),
    reason="under libfaketime a timed wait never returns here (Event.wait(1.0) hangs), so "
    "APScheduler's interval jobs never fire; this test's traffic is relative to now, so it "
    "does not depend on the date",
)
def test_serve_outlasts_a_postgresql_restart_and_posts_each_page_once(
    registry, corpus_cache, restartable, tmp_path
):
    # content_type's occurrence SLOs, evaluated every minute, over an outage that covers the
    # whole test (whichever 5-minute bucket is evaluated, both pages fire, nothing resolves)
    since, ahead = timedelta(minutes=60), timedelta(minutes=20)
    data, definitions, now = live_outage(
        registry, corpus_cache, tmp_path, since=since, ahead=ahead, schedule="1m"
    )
    url = restartable.new_database().replace("sw@", "sw:pg-secret@")
    Store.open(url, clock=FixedClock(now)).close()  # migrated: the test reads its tables
    slack = FakeSlack().start()
    # Slack accepts the first page, but its answer is slow: the database goes away between
    # Slack taking the message and sigwatch recording that it did
    slack.hang_seconds, slack.hang_posts = 6.0, 1
    port = free_port()
    env = {
        **os.environ,
        "SIGWATCH_DEFINITIONS": str(definitions),
        "SIGWATCH_STORE_URL": url,
        "SIGWATCH_SLACK_TOKEN": TOKEN,
        "SIGWATCH_SLACK_API_URL": slack.api_url,
    }
    serve = subprocess.Popen(
        [sys.executable, "-m", "sigwatch.cli", "serve", "--data", str(data), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def wait_for(condition, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert serve.poll() is None, serve.communicate()
            assert time.monotonic() < deadline, f"waited {seconds}s for {what}"
            time.sleep(0.5)

    try:
        wait_for(slack.accepted.is_set, 240, "Slack to accept the first page")
        restartable.halt()
        halted = time.monotonic()
        assert len(slack.messages) == 1
        wait_for(lambda: _metric(port, "sigwatch_store_up") == "0.0", 60, "store_up 0")
        seen_down = time.monotonic() - halted
        while time.monotonic() - halted < OUTAGE_S:
            assert serve.poll() is None, serve.communicate()
            time.sleep(1)
        restartable.resume()
        resumed = time.monotonic()

        def delivered() -> bool:
            """The outbox sent, and the runs the outage failed on record (the first job that
            reaches the store writes them)."""
            unsent = query(url, "SELECT COUNT(*) FROM outbox WHERE status != 'sent'")[0][0]
            failed = query(url, "SELECT COUNT(*) FROM runs WHERE status = 'error'")[0][0]
            return unsent == 0 and failed > 0

        # the lease of the page cut off (2 minutes from its claim) has passed by now; the
        # outbox is flushed every minute
        wait_for(delivered, 240, "the outbox sent and the failed runs recorded")
        recovered = time.monotonic() - resumed
        time.sleep(5)  # room for a duplicate to show
        assert _metric(port, "sigwatch_store_up") == "1.0"
        posts = slack.top_level("#acu-oncall")
        titles = sorted(m["blocks"][0]["text"]["text"] for m in posts)
        assert titles == [
            ":red_circle: FIRING [page] content_type / coverage",
            ":red_circle: FIRING [page] content_type / errors",
        ]
        sent = dict(
            query(url, "SELECT kind, COUNT(*) FROM outbox WHERE status = 'sent' GROUP BY kind")
        )
        assert len(slack.messages) == sent.get("post", 0) + sent.get("reply", 0)
        assert sum(len(m["edits"]) for m in slack.messages) == sent.get("update", 0)
        # the cut-off page was found in Slack (its outbox id in the metadata), not sent again
        first = query(url, "SELECT slack_ts FROM outbox WHERE kind = 'post' ORDER BY id")
        assert sorted(ts for (ts,) in first) == sorted(m["ts"] for m in posts)
        # the runs the outage failed are on record, naming the store but not its password
        failed = query(url, "SELECT at, error FROM runs WHERE status = 'error'")
        assert failed, "no failed run recorded"
        store = f"postgresql://sw:***@127.0.0.1:{restartable.port}/"
        for _, error in failed:
            assert error.startswith("StoreUnavailable: ") and store in error, error
        assert query(url, "SELECT signal FROM alerts WHERE slo = 'monitor'") == []
        print(f"figures: store_up 0 seen {seen_down:.1f} s after the stop;", end=" ")
        print(f"outbox sent and failed runs recorded {recovered:.0f} s after the restart;", end=" ")
        print(f"{len(failed)} failed runs")
    finally:
        if serve.poll() is None:
            serve.send_signal(signals.SIGTERM)
        out, err = serve.communicate(timeout=120)
        slack.stop()
        print(f"--- serve ---\n{out}\n{err}")  # shown when the test fails
    assert serve.returncode == 0, err
    assert "pg-secret" not in out + err
    assert "Traceback" not in err  # each failure is a line, not a stack
    assert "StoreUnavailable" not in err or "trying again in" in err
    assert "its next scheduled run tries again" in err or "trying again in" in err
