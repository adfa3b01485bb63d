"""The heartbeat (``SIGWATCH_HEARTBEAT_URL``), against a local HTTP server: requested once a
cycle, when every signal has run for its time, not before; a server that answers 500 or never
answers is logged and holds the run no longer than the timeout; the URL is never logged."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitors.scheduler import heartbeat
from sigwatch.clock import FixedClock
from sigwatch.runtime import Runtime
from sigwatch.store import Run
from tests.conftest import DEFINITIONS

AT = datetime(2026, 11, 26, 12, 5, tzinfo=UTC)


class Receiver:
    """Counts the heartbeats; answers as ``mode`` says: ``ok``, ``500`` or ``hang``."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.mode = "ok"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                receiver.hits.append(self.path)
                if receiver.mode == "hang":
                    time.sleep(5)
                self.send_response(500 if receiver.mode == "500" else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/ping/6f1c-secret-uuid"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def beating(tmp_path, monkeypatch):
    receiver = Receiver()
    monkeypatch.setenv("SIGWATCH_HEARTBEAT_URL", receiver.url)
    monkeypatch.delenv("SIGWATCH_STORE_URL", raising=False)
    runtime = Runtime.from_env(data=tmp_path, definitions=DEFINITIONS, clock=FixedClock(AT))
    with runtime.open_store() as store:
        yield runtime, store, receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def _ran(store, signals, status="ok"):
    for signal in signals:
        store.record_run(Run(signal, AT, AT, 10.0, status, None if status == "ok" else "x"))


def test_one_request_once_every_signal_has_run_for_the_time(beating):
    runtime, store, receiver = beating
    names = list(runtime.registry.names)
    _ran(store, names[:-1])
    assert heartbeat(runtime, store, AT) is False and receiver.hits == []  # not complete yet
    _ran(store, names[-1:], status="error")  # a failed run is a run: the scheduler is alive
    assert heartbeat(runtime, store, AT) is True
    assert receiver.hits == ["/ping/6f1c-secret-uuid"]


@pytest.mark.parametrize("mode", ["500", "hang"])
def test_a_failing_heartbeat_is_logged_and_bounded_by_its_timeout(beating, mode, caplog):
    runtime, store, receiver = beating
    receiver.mode = mode
    _ran(store, runtime.registry.names)
    started = time.monotonic()
    assert heartbeat(runtime, store, AT, timeout=0.5) is False
    assert time.monotonic() - started < 4  # the server hangs 5 s: the timeout cut it short
    said = [r.getMessage() for r in caplog.records if r.name == "monitors.scheduler"]
    assert len(said) == 1 and said[0].startswith("heartbeat for 12:05: ")
    assert "secret" not in caplog.text
