"""Two schedulers, one voice: `sigwatch serve` on two hosts against one PostgreSQL store (here two
processes on one machine, sharing the data folder as two hosts share a volume) evaluate each
signal once and post each alert and each edit once, and when one dies the other carries on."""

from __future__ import annotations

import json
import os
import signal as signals
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from monitors.scheduler import evaluate_once
from sigwatch.clock import FixedClock
from sigwatch.runtime import Runtime
from sigwatch.settings import Settings
from sigwatch.store import Store
from tests.alerts.slack_server import TOKEN, FakeSlack
from tests.conftest import DEFINITIONS, ROOT
from tests.live import live_outage
from tests.monitors.test_runner import ELEVEN, content_type_folder
from tests.postgres import free_port
from tests.sql import query


def test_a_signal_fired_by_two_schedulers_at_once_is_evaluated_once(registry, postgres, tmp_path):
    """Both schedulers' jobs fire for content_type at 11:00: one evaluates, the other finds
    the signal taken (or already evaluated) and does nothing; a later job for the same time
    does nothing either."""
    data = content_type_folder(tmp_path)
    url = postgres.new_database()
    runtime = Runtime.from_env(
        data=data,
        definitions=DEFINITIONS,
        clock=FixedClock(ELEVEN),
        settings=Settings.from_env({"SIGWATCH_STORE_URL": url}),
    )
    assert runtime.registry == registry  # the same definitions as the session's
    Store.open(url, clock=runtime.clock).close()  # migrated before the race
    barrier = threading.Barrier(2)
    results: list = []

    def scheduler() -> None:
        with runtime.open_store() as store:
            barrier.wait()
            results.append(evaluate_once(runtime, store, "content_type"))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    evaluated = [r for r in results if r is not None]
    assert len(results) == 2 and len(evaluated) == 1
    assert evaluated[0][0].ok and evaluated[0][0].statuses
    runs = query(
        url,
        "SELECT status FROM runs WHERE signal = 'content_type' AND at = ?",
        (int(ELEVEN.timestamp()),),
    )
    assert runs == [("ok",)]
    with runtime.open_store() as store:
        assert evaluate_once(runtime, store, "content_type") is None  # already evaluated
        statuses = query(
            url, "SELECT COUNT(*) FROM slo_status WHERE at = ?", (int(ELEVEN.timestamp()),)
        )
        assert statuses[0][0] == len(registry.get("content_type").slos)


HOLD = """
import sys, time
from datetime import datetime
from sigwatch.clock import FixedClock
from sigwatch.store import Store
with Store.open(sys.argv[1], clock=FixedClock(datetime.fromisoformat(sys.argv[2]))) as store:
    with store.exclusive("evaluate:content_type") as mine:
        print("held" if mine else "refused", flush=True)
        time.sleep(600)
"""


def test_a_scheduler_killed_while_it_evaluates_leaves_the_signal_to_the_other(postgres):
    """The evaluation lock lives with the connection: SIGKILL the process that holds it and
    the other scheduler gets it at once (nothing to wait out, nothing to clean up)."""
    url = postgres.new_database()
    command = [sys.executable, "-c", HOLD, url, ELEVEN.isoformat()]
    holder = subprocess.Popen(command, cwd=ROOT, text=True, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held"
        with Store.open(url, clock=FixedClock(ELEVEN)) as store:
            with store.exclusive("evaluate:content_type") as mine:
                assert not mine
            with store.exclusive("evaluate:sentiment") as other:
                assert other  # one lock per signal
            holder.send_signal(signals.SIGKILL)
            holder.wait(timeout=10)
            with store.exclusive("evaluate:content_type", wait=10) as mine:
                assert mine
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


@pytest.mark.skipif(
    "faketime" in os.environ.get("LD_PRELOAD", ""),
    reason="under libfaketime a timed wait never returns here (Event.wait(1.0) hangs), so "
    "APScheduler's interval jobs never fire; this test's traffic is relative to now, so it "
    "does not depend on the date",
)
def test_two_serve_processes_on_one_postgresql_post_each_alert_and_each_edit_once(
    registry, corpus_cache, postgres, tmp_path
):
    """An outage over the last 45 minutes, two `sigwatch serve` on one PostgreSQL store and
    one Slack: the two pages are posted once. Then one scheduler is killed (SIGKILL) and
    Slack goes down while the on-call engineer acknowledges from the CLI: the edit and the
    reply wait in the outbox, and once Slack is back the surviving scheduler sends each once.
    Only content_type's occurrence SLOs are served, every minute (see test_end_to_end)."""
    # Traffic runs 10 minutes past now, the outage to its end: whichever 5-minute bucket the
    # schedulers evaluate while the test runs, the pages are firing and nothing resolves.
    since, ahead = timedelta(minutes=45), timedelta(minutes=10)
    data, definitions, now = live_outage(
        registry, corpus_cache, tmp_path, since=since, ahead=ahead, schedule="1m"
    )
    url = postgres.new_database().replace("sw@", "sw:pg-secret@")
    slack = FakeSlack().start()
    env = {
        **os.environ,
        "SIGWATCH_DEFINITIONS": str(definitions),
        "SIGWATCH_STORE_URL": url,
        "SIGWATCH_SLACK_TOKEN": TOKEN,
        "SIGWATCH_SLACK_API_URL": slack.api_url,
        "SIGWATCH_DIGEST_AT": "07:30",
    }

    def serve() -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sigwatch.cli",
                "serve",
                "--data",
                str(data),
                "--port",
                str(free_port()),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_for(condition, seconds: float, what) -> None:
        """Wait for ``condition``; ``what`` (or what it returns, when callable) says what for."""
        deadline = time.monotonic() + seconds
        while not condition():
            for p in schedulers:
                assert p.poll() is None or p is killed, p.communicate()
            assert time.monotonic() < deadline, (
                f"waited {seconds}s for {what if isinstance(what, str) else what()}"
            )
            time.sleep(0.5)

    killed = None
    schedulers = [serve(), serve()]
    try:
        wait_for(lambda: len(slack.top_level("#acu-oncall")) >= 2, 180, "the two pages")
        time.sleep(5)  # room for a duplicate to show
        posts = slack.top_level("#acu-oncall")
        titles = sorted(m["blocks"][0]["text"]["text"] for m in posts)
        assert titles == [
            ":red_circle: FIRING [page] content_type / coverage",
            ":red_circle: FIRING [page] content_type / errors",
        ]
        runs = query(url, "SELECT signal, at, status FROM runs ORDER BY at")
        # once a 5-minute bucket (the first may be the one after `now`: simulating takes time)
        assert runs and runs[0][1] >= int(now.timestamp())
        assert len({at for _, at, _ in runs}) == len(runs) and {r[2] for r in runs} == {"ok"}

        # one scheduler dies outright; Slack goes down; on-call acknowledges meanwhile
        killed = schedulers[0]
        killed.send_signal(signals.SIGKILL)
        killed.wait(timeout=10)
        slack.down = True
        ack = subprocess.run(
            [
                sys.executable,
                "-m",
                "sigwatch.cli",
                "ack",
                "content_type/coverage/page",
                "--by",
                "alice",
                "--data",
                str(data),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ack.returncode == 0, ack.stderr
        assert "queued, not yet delivered" in ack.stderr
        queued = query(url, "SELECT kind FROM outbox WHERE status = 'queued' ORDER BY id")
        assert {"update", "reply"} <= {kind for (kind,) in queued}  # the edit and the reply
        slack.down = False
        # the survivor's outbox job (every minute) sends them
        unsent = "SELECT id, kind, status, attempts, last_error FROM outbox WHERE status != 'sent'"

        def waiting() -> str:
            return f"the survivor to send the acknowledgement; unsent: {query(url, unsent)}"

        wait_for(lambda: not query(url, unsent), 150, waiting)
        time.sleep(3)
        coverage = next(m for m in posts if "coverage" in m["blocks"][0]["text"]["text"])
        acked = [e for e in coverage["edits"] if "alice" in json.dumps(e)]
        assert len(acked) == 1
        assert [r["text"] for r in slack.replies(coverage["ts"]) if "alice" in r["text"]] == [
            "acknowledged by alice"
        ]
        assert len(slack.top_level("#acu-oncall")) == 2  # nothing posted again
        # every notification reached Slack once: one message per post and reply, one edit
        # per update (whatever else the schedulers evaluated meanwhile)
        sent = dict(
            query(url, "SELECT kind, COUNT(*) FROM outbox WHERE status = 'sent' GROUP BY kind")
        )
        assert len(slack.messages) == sent.get("post", 0) + sent.get("reply", 0)
        assert sum(len(m["edits"]) for m in slack.messages) == sent["update"]
    finally:
        for p in schedulers:
            if p.poll() is None:
                p.send_signal(signals.SIGTERM)
        outputs = [p.communicate(timeout=60) for p in schedulers]
        slack.stop()
        for n, (out, err) in enumerate(outputs):  # shown when the test fails
            print(f"--- scheduler {n} ---\n{out}\n{err}")
    survivor_out, survivor_err = outputs[1]
    assert schedulers[1].returncode == 0, survivor_err
    assert "shared with any other scheduler" in " ".join(survivor_out.split())
    assert "digest daily 07:30 UTC" in " ".join(survivor_out.split())
    for out, err in outputs:
        assert "pg-secret" not in out + err and TOKEN not in out + err
    assert "sw:***@" in survivor_out
    # nor in the store, nor in any file the schedulers wrote (no job store: jobs in memory)
    for (table,) in query(
        url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    ):
        dump = repr(query(url, f"SELECT * FROM {table}"))
        assert "pg-secret" not in dump and TOKEN not in dump, table
    assert not (data / "scheduler.db").exists()
    for path in data.rglob("*"):
        if path.is_file():
            assert b"pg-secret" not in path.read_bytes(), path


@pytest.mark.parametrize("when", ["the same day", "the next day"])
def test_the_daily_digest_is_posted_once_by_two_schedulers(postgres, tmp_path, monkeypatch, when):
    """Both schedulers' 09:00 digest jobs run: the day's digest is queued once."""
    from alerts.jobs import digest_job

    url = postgres.new_database()
    at = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    monkeypatch.setenv("SIGWATCH_STORE_URL", url)
    monkeypatch.delenv("SIGWATCH_SLACK_TOKEN", raising=False)
    digest_job(str(tmp_path), str(DEFINITIONS), FixedClock(at))
    later = at + (timedelta(minutes=1) if when == "the same day" else timedelta(days=1))
    digest_job(str(tmp_path), str(DEFINITIONS), FixedClock(later))
    digests = query(url, "SELECT created_at FROM outbox WHERE kind = 'digest'")
    assert len(digests) == (1 if when == "the same day" else 2)
