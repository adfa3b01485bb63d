"""Damaged partial tables heal: a serving, a grouped and a quality day file cut short, emptied
or overwritten with garbage (a full disk, a writer killed on another host) are set aside under
``partials/quarantine/``, computed again from the logs, and named once in the log; the next
statuses equal those of an untouched copy of the folder. A damaged day whose logs are gone
fails the run, naming the file."""

from __future__ import annotations

import logging
import shutil
from datetime import datetime, timedelta

import pytest

from monitors.partials import FILES
from monitors.runner import Monitor
from sigwatch.clock import FixedClock
from sigwatch.store import Store
from tests.conftest import SCENARIO_END

END = datetime.fromisoformat(SCENARIO_END)
SIGNAL = "content_type"


@pytest.fixture(scope="module")
def evaluated(default_scenario):
    """The default scenario's data folder: 7 days of logs and labels, every signal's partial
    tables computed up to ``END`` (copied before any change)."""
    return default_scenario[1].parent


def _copy(source, target, logs: str = "link"):
    target.mkdir()
    for part in ("predictions", "labels"):
        if logs == "link":
            (target / part).symlink_to(source / part)
        else:
            shutil.copytree(source / part, target / part)
    shutil.copytree(source / "partials", target / "partials")
    shutil.copy(source / "sigwatch.db", target / "sigwatch.db")
    return target


def _run(registry, data, at):
    FILES._files.clear()  # another process: nothing of these files read before
    with Store.open(data / "sigwatch.db", clock=FixedClock(at)) as store:
        [outcome] = Monitor(registry, data, store, FixedClock(at)).run(at, [SIGNAL])
    return outcome


def _day_file(data, part: str, day: str):
    return data / "partials" / part / f"signal={SIGNAL}" / f"date={day}.parquet"


DAMAGE = {
    "cut to a third": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 3]),
    "emptied": lambda path: path.write_bytes(b""),
    "garbage": lambda path: path.write_bytes(b"\x00garbage" * 512),
    "another table": lambda path: shutil.copy(
        path.parent.parent.parent / "serving-by-community" / path.parent.name / path.name, path
    ),
}


@pytest.mark.parametrize("how", list(DAMAGE))
def test_damaged_partials_are_set_aside_and_computed_again(
    registry, evaluated, tmp_path, caplog, how
):
    caplog.set_level(logging.WARNING, logger="monitors.partials")
    untouched = _copy(evaluated, tmp_path / "untouched")
    damaged = _copy(evaluated, tmp_path / "damaged")
    files = [
        _day_file(damaged, "serving", "2026-11-23"),  # a day in the middle of the window
        _day_file(damaged, "serving-by-community", "2026-11-25"),  # the newest day
        _day_file(damaged, "quality", "2026-11-23"),
    ]
    if how == "another table":
        files = files[:1]  # a serving file replaced by the grouped one of its day
    for path in files:
        assert path.exists(), path
        DAMAGE[how](path)
    at = END + timedelta(minutes=5)
    expected, healed = _run(registry, untouched, at), _run(registry, damaged, at)
    assert expected.ok and healed.ok, healed.error
    assert healed.statuses == expected.statuses
    quarantined = list((damaged / "partials" / "quarantine").rglob("*.parquet.*"))
    set_aside = sorted(f"{p.parent.parent.name}/{p.name.split('.parquet')[0]}" for p in quarantined)
    assert set_aside == sorted(f"{p.parent.parent.name}/{p.stem}" for p in files)
    for path in files:
        assert path.exists()  # computed again
        said = [r.getMessage() for r in caplog.records if str(path) in r.getMessage()]
        assert len(said) == 1 and "computed again from the logs" in said[0], said
    again = _run(registry, damaged, at + timedelta(minutes=5))  # healed: nothing more to do
    assert again.ok and len(quarantined) == len(
        list((damaged / "partials" / "quarantine").rglob("*.parquet.*"))
    )


def test_a_damaged_day_whose_logs_are_gone_fails_the_run_naming_the_file(
    registry, evaluated, tmp_path
):
    damaged = _copy(evaluated, tmp_path / "gone", logs="copy")
    path = _day_file(damaged, "serving", "2026-11-23")
    path.write_bytes(b"")
    for part in ("predictions", "labels"):  # the logs up to the damaged day's end are gone
        for day in list((damaged / part).rglob("date=*")):
            if day.name <= "date=2026-11-23":
                shutil.rmtree(day)
    outcome = _run(registry, damaged, END + timedelta(minutes=5))
    assert not outcome.ok
    assert str(path) in outcome.error and "cannot be computed again" in outcome.error
