"""``sigwatch serve`` composes once per process: its jobs share one runtime (settings, the
definitions as loaded, a schema migrated once); the definitions are read again when a file
changes, and an edit that breaks them keeps the last good ones, with the error said."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime

import pytest

from sigwatch.clock import FixedClock
from sigwatch.registry import DefinitionError, Definitions
from sigwatch.runtime import Runtime
from tests.conftest import ROOT

T0 = datetime(2026, 11, 25, 11, tzinfo=UTC)


@pytest.fixture
def folder(tmp_path):
    shutil.copytree(ROOT / "slo_definitions", tmp_path / "defs")
    return tmp_path / "defs"


def _touch(path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()  # a later modification time, whatever the file system's resolution
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


def test_an_edit_is_read_again_and_a_broken_one_keeps_the_last_good(folder, caplog):
    definitions = Definitions(folder)
    first = definitions.refresh()
    assert definitions.refresh() is first  # nothing changed: not read again
    sentiment = folder / "sentiment.yaml"
    good = sentiment.read_text()
    _touch(sentiment, good.replace("objective: 0.99", "objective: 0.995", 1))
    edited = definitions.refresh()
    assert edited is not first and edited != first
    with caplog.at_level(logging.ERROR, logger="sigwatch.registry"):
        _touch(sentiment, good.replace("task: multiclass", "task: multiclas", 1))
        assert definitions.refresh() is edited  # the last good definitions stay in use
        assert definitions.refresh() is edited
    assert isinstance(definitions.error, DefinitionError)
    assert "sentiment.yaml" in str(definitions.error)
    assert len([r for r in caplog.records if "last read without problems" in r.message]) == 1
    _touch(sentiment, good)
    assert definitions.refresh() == first and definitions.error is None


def test_a_folder_broken_from_the_start_is_refused(folder):
    _touch(folder / "sentiment.yaml", "version: sigwatch/v1\n")
    with pytest.raises(DefinitionError):
        Definitions(folder).refresh()


def test_the_jobs_of_a_process_share_one_composition(folder, tmp_path, monkeypatch):
    monkeypatch.delenv("SIGWATCH_STORE_URL", raising=False)
    data = tmp_path / "data"
    one = Runtime.composed(data=data, definitions=folder, clock=FixedClock(T0))
    two = Runtime.composed(data=str(data), definitions=str(folder), clock=FixedClock(T0))
    assert two.shared is one.shared and two.clock is not one.clock
    assert two.registry is one.registry  # loaded once
    with one.open_store() as store:
        assert store.schema_version > 0
    assert one.shared.migrated
    with two.open_store() as store:  # the schema is known to be current: not asked again
        assert store._current
    monkeypatch.setenv("SIGWATCH_STALE_AFTER", "2h")  # another environment composes anew
    three = Runtime.composed(data=data, definitions=folder, clock=FixedClock(T0))
    assert three.shared is not one.shared
