"""A data folder written before Engine v2 is carried forward: its store is at schema version 5
(serving and quality partials as JSON rows in SQLite, no Parquet tables), and after the upgrade
its history still shows in ``status`` and the console, the next run recomputes the partial
tables for the SLO windows only, and nothing older is touched."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import timedelta

from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from monitors.runner import Monitor
from sigwatch.cli import app
from sigwatch.clock import FixedClock
from sigwatch.migrations import MIGRATIONS
from sigwatch.model import Registry
from sigwatch.states import Severity, SloState
from sigwatch.store import Store, to_epoch
from tests.conftest import ROOT
from tests.monitors.test_runner import TEN, content_type_folder
from tests.sql import query, write

runner = CliRunner()
OLD_VERSION = 5  # the store of d869a75, the main this issue was filed against
LONG_AGO = TEN - timedelta(days=60)  # beyond every SLO window


def _old_folder(registry, data) -> tuple[Registry, list]:
    """``data`` (the content_type hour of test_runner) as the old main left it."""
    signal = registry.get("content_type")
    # the old main's definitions: no grouped SLOs (the old store has no table for their groups)
    signal = dataclasses.replace(signal, slos=tuple(s for s in signal.slos if s.grouping is None))
    only = Registry((signal,))
    path = data / "sigwatch.db"
    with Store.open(path, clock=FixedClock(TEN), migrate=False) as store:
        store.migrate(MIGRATIONS[:OLD_VERSION])
        assert store.schema_version == OLD_VERSION
        monitor = Monitor(only, data, store, FixedClock(TEN + timedelta(hours=1)))
        monitor.backfill(TEN, TEN + timedelta(hours=1))
        # A status from two months earlier, with a fired rule as the old code wrote it (the
        # dataclass's __dict__), and the JSON partials the old monitors kept.
        (old,) = [s for s in store.latest_status("content_type") if s.slo == "coverage"]
        old = dataclasses.replace(old, at=LONG_AGO, window_end=LONG_AGO, state=SloState.BREACH)
        store.put_status([old])
        fired = [
            {
                "severity": "page",
                "rule": "1h/5m",
                "factor": 14.4,
                "long_burn": 20.0,
                "short_burn": 30.0,
            }
        ]
    # the old main wrote these itself: through a connection of its own
    write(
        path,
        "UPDATE slo_status SET fired = ? WHERE signal = ? AND slo = ? AND at = ?",
        (json.dumps(fired), old.signal, old.slo, to_epoch(LONG_AGO)),
    )
    for part, payload in (
        ("serving", {"total": 84, "ok": 80}),
        ("quality", {"labelled": 3, "confusion": {"review\u241freview": 3}}),
    ):
        write(
            path,
            "INSERT INTO partials (signal, part, bucket_start, bucket_end, payload,"
            " computed_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                "content_type",
                part,
                to_epoch(TEN),
                to_epoch(TEN + timedelta(minutes=5)),
                json.dumps(payload),
                to_epoch(TEN),
            ),
        )
    history = query(path, "SELECT * FROM slo_status ORDER BY signal, slo, at")
    shutil.rmtree(data / "partials")  # the old main kept no Parquet tables
    return only, history


def _status(data, *args: str) -> list[dict]:
    shown = runner.invoke(app, ["status", "--json", "--data", str(data), *args])
    assert shown.exit_code == 0, shown.output
    return json.loads(shown.output)


def test_an_old_data_folder_is_upgraded_and_keeps_its_history(registry, tmp_path, monkeypatch):
    data = content_type_folder(tmp_path)
    only, history = _old_folder(registry, data)
    inside = TEN + timedelta(minutes=30)

    # status reads the old folder: opening the store migrates it
    then = {r["slo"]: r for r in _status(data, "--at", inside.isoformat())}
    with Store.open(data / "sigwatch.db", clock=FixedClock(TEN)) as store:
        assert store.schema_version == max(m.version for m in MIGRATIONS)
        assert "partials" not in store.tables()
        assert query(store, "SELECT * FROM slo_status ORDER BY signal, slo, at") == history
        (old,) = [
            s
            for s in store.status_history("content_type", "coverage", end=LONG_AGO)
            if s.at == LONG_AGO
        ]
        assert old.state is SloState.BREACH and old.fired[0].severity is Severity.PAGE
        expected = {s.slo: s for s in store.latest_status("content_type", as_of=inside)}
    assert set(then) == set(expected)
    assert all(then[k]["state"] == expected[k].state for k in then)
    assert then["coverage"]["value"] == expected["coverage"].value

    # the next run recomputes the tables for the SLO windows from the logs; older history stays
    end = TEN + timedelta(hours=1, minutes=5)
    with Store.open(data / "sigwatch.db", clock=FixedClock(end)) as store:
        (outcome,) = Monitor(only, data, store, FixedClock(end)).run(end)
        assert outcome.ok, outcome.error
        after = query(store, "SELECT * FROM slo_status ORDER BY signal, slo, at")
    assert set(history) <= set(after)  # every old row is still there, unchanged
    windows = max(s.objective.window for s in only.get("content_type").slos)
    days = sorted(p.stem for p in (data / "partials" / "serving").rglob("date=*.parquet"))
    assert days and days[0] >= f"date={(end - windows).date()}"
    assert (data / "partials" / "quality" / "signal=content_type" / "state.json").exists()

    # the console shows the history: the signal page's SLO charts over the old statuses
    monkeypatch.setenv("SIGWATCH_DATA", str(data))
    monkeypatch.setenv("SIGWATCH_CONSOLE_AT", end.isoformat())
    from console import common

    common.read.clear()
    page = AppTest.from_file(
        str(ROOT / "console" / "views" / "signal_detail.py"), default_timeout=180
    )
    page.query_params["signal"] = "content_type"
    page.run()
    assert not page.exception
    assert any(s.value.startswith("coverage · ") for s in page.subheader)
    assert len(page.get("vega_lite_chart")) >= 3
    common.read.clear()
