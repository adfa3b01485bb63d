"""A team's move: the SQLite store of today's main upgrades in place, then `sigwatch store copy`
moves it into PostgreSQL with every row, and everything reads the same from there."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

from typer.testing import CliRunner

from sigwatch.cli import app
from sigwatch.clock import FixedClock
from sigwatch.migrations import MIGRATIONS
from sigwatch.store import Store
from sigwatch.store.copy import row_counts
from tests.conftest import SCENARIO_END
from tests.sql import query, write

runner = CliRunner()
MAIN_VERSION = 11  # the store of 33122cd, the main before PostgreSQL


def test_a_store_of_the_previous_main_keeps_its_alert_events_in_order(tmp_path):
    """Migration 12 gives alert events an order column (PostgreSQL has no rowid): events
    written by the previous main at the same second keep the order they were written in."""
    from datetime import UTC, datetime

    at = datetime(2026, 11, 20, tzinfo=UTC)
    path = tmp_path / "sigwatch.db"
    with Store.open(path, clock=FixedClock(at), migrate=False) as store:
        store.migrate(MIGRATIONS[:MAIN_VERSION])
    columns = "alert_key, signal, slo, severity, state, started_at, updated_at, burn_rates,"
    columns += " details, channel, silenced"
    for key in ("a", "b"):
        write(
            path,
            f"INSERT INTO alerts ({columns}) VALUES (?, 's', ?, 'page', 'firing', 0, 0,"
            " '{}', '{}', '#c', 0)",
            (key, key),
        )
    # interleaved, all at one second: only the order of writing tells them apart
    for alert, text in ((1, "opened"), (2, "opened"), (1, "acknowledged"), (1, "resolved")):
        write(
            path,
            "INSERT INTO alert_events (alert_id, at, kind, text) VALUES (?, 0, 'k', ?)",
            (alert, text),
        )
    with Store.open(path, clock=FixedClock(at)) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert [t for _, _, t in store.alerts.events(1)] == ["opened", "acknowledged", "resolved"]
        store.alerts.add_event(1, at, "reply", "reopened")
        store.alerts.add_event(2, at, "reply", "acknowledged")
        assert [t for _, _, t in store.alerts.events(1)][-1] == "reopened"
        assert [t for _, _, t in store.alerts.events(2)] == ["opened", "acknowledged"]


def test_store_copy_moves_every_row_into_postgresql_and_it_reads_the_same(
    default_scenario, registry, postgres, tmp_path
):
    from datetime import datetime

    from alerts.delivery import Delivery
    from alerts.lifecycle import Lifecycle
    from alerts.model import Policy
    from alerts.service import Alerting

    result, path = default_scenario
    end = datetime.fromisoformat(SCENARIO_END)
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(path, data / "sigwatch.db")
    clock = FixedClock(end)
    with Store.open(data / "sigwatch.db", clock=clock) as store:  # alerts, events, outbox
        records = store.alerts
        alerting = Alerting(Lifecycle(records, registry, Policy()), Delivery(records, None, clock))
        alerting.replay(result.start, end)
        store.alerts.remember_slack_channel("acu-oncall", "C0123", end)
        before = row_counts(store)
    assert before["alerts"] > 0 and before["alert_events"] > 0 and before["slo_status"] > 1000

    target = postgres.new_database().replace("sw@", "sw:pg-secret-pw@")
    copied = runner.invoke(app, ["store", "copy", "--data", str(data), "--to", target])
    assert copied.exit_code == 0, copied.output
    said = " ".join(copied.output.split())  # as one line (the terminal wraps it)
    assert "every table's count matches" in said
    assert "pg-secret-pw" not in said and "sw:***@" in said

    env = {"SIGWATCH_STORE_URL": target}
    info = runner.invoke(app, ["store", "info", "--json"], env=env)
    assert info.exit_code == 0, info.output
    doc = json.loads(info.output)
    assert doc["dialect"] == "postgresql" and "pg-secret-pw" not in info.output
    assert doc["rows"] == before  # every table, row for row

    with (
        Store.open(data / "sigwatch.db", clock=clock) as old,
        Store.open(target, clock=clock) as new,
    ):
        assert new.latest_status() == old.latest_status()
        every = {"include_resolved": True, "limit": 10_000}
        assert new.alerts.alerts(**every) == old.alerts.alerts(**every)
        for alert in old.alerts.alerts(**every)[:20]:
            assert new.alerts.events(alert.id) == old.alerts.events(alert.id)
        assert new.alerts.outbox(limit=10_000) == old.alerts.outbox(limit=10_000)
        assert new.alerts.slack_channel_id("acu-oncall") == "C0123"
        signal, slo = old.latest_status()[0].signal, old.latest_status()[0].slo
        assert new.status_history(signal, slo) == old.status_history(signal, slo)
        # new ids continue after the copied ones
        first = new.alerts.enqueue(None, "digest", "#c", "after the move", None, end)
        assert first > max(i.id for i in old.alerts.outbox(limit=10_000))

    # statuses read through the CLI from PostgreSQL equal those from SQLite
    at = ["--at", (end + timedelta(minutes=1)).isoformat(), "--json"]
    from_pg = runner.invoke(app, ["status", *at], env=env)
    from_sqlite = runner.invoke(app, ["status", "--data", str(data), *at])
    assert from_pg.exit_code == 0 == from_sqlite.exit_code, from_pg.output
    assert json.loads(from_pg.output) == json.loads(from_sqlite.output)

    # a second copy into the same (now full) store is refused, naming what it holds
    again = runner.invoke(app, ["store", "copy", "--data", str(data), "--to", target])
    assert again.exit_code == 1 and "is not empty: alert_events" in " ".join(again.output.split())
    assert query(target, "SELECT COUNT(*) FROM slo_status") == [(before["slo_status"],)]


def test_store_copy_says_why_it_cannot_reach_the_target_without_the_password(tmp_path):
    from datetime import UTC, datetime

    Store.open(tmp_path / "sigwatch.db", clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC))).close()
    from tests.postgres import free_port

    url = f"postgresql://sw:hunter2@127.0.0.1:{free_port()}/nowhere"
    result = runner.invoke(app, ["store", "copy", "--data", str(tmp_path), "--to", url])
    said = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "cannot connect to the store at postgresql://sw:***@127.0.0.1" in said
    assert "hunter2" not in result.output
    bad = runner.invoke(app, ["store", "copy", "--data", str(tmp_path), "--to", "mysql://x/y"])
    assert bad.exit_code == 2 and "unknown store scheme 'mysql'" in " ".join(bad.output.split())


def test_an_unreachable_store_is_one_line_naming_it_without_its_password():
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.postgres import free_port

    url = f"postgresql://sw:hunter2@127.0.0.1:{free_port()}/sigwatch"
    env = {**os.environ, "SIGWATCH_STORE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "sigwatch.cli", "status"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    said = " ".join(done.stderr.split())
    assert said.startswith("cannot connect to the store at postgresql://sw:***@127.0.0.1:")
    assert "Traceback" not in done.stderr and "hunter2" not in done.stdout + done.stderr
