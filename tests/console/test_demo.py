"""``sigwatch demo`` (what ``make demo`` runs), shortened: simulate a week at a low rate,
backfill, start the scheduler, the live simulator and the console, then Ctrl-C stops all."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import DEFINITIONS, ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_brings_everything_up_and_ctrl_c_stops_it(corpus_cache, tmp_path):
    data = tmp_path / "var"
    shutil.copytree(corpus_cache, data / "cache")  # the scored corpus, built once per session
    console, serve, live = _free_port(), _free_port(), _free_port()
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        demo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sigwatch.cli",
                "demo",
                "--data",
                str(data),
                "--days",
                "7",
                "--rate",
                "2000",
                "--console-port",
                str(console),
                "--serve-port",
                str(serve),
                "--live-port",
                str(live),
            ],
            cwd=ROOT,
            env={**os.environ, "SIGWATCH_DEFINITIONS": str(DEFINITIONS), "COLUMNS": "200"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 600
        while f"console: http://127.0.0.1:{console}" not in log.read_text():
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{console}/_stcore/health") as r:
            assert r.status == 200
        metrics = ""
        while "sigwatch_slo_state" not in metrics and time.monotonic() < deadline:
            try:  # serve answers once its first evaluation is done: it may come up after
                with urllib.request.urlopen(f"http://127.0.0.1:{serve}/metrics") as r:
                    metrics = r.read().decode()
            except urllib.error.URLError:
                assert demo.poll() is None, log.read_text()
            time.sleep(1)
        assert 'sigwatch_slo_state{signal="content_type"' in metrics
        with urllib.request.urlopen(f"http://127.0.0.1:{live}/metrics") as r:
            assert "sigwatch_inference_requests_total" in r.read().decode()
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(timeout=60)
    text = log.read_text()
    assert code == 0, text
    assert "demo stopped" in text and "1/4 simulating 7 days" in text
    assert (data / "sigwatch.db").exists() and (data / "incidents.json").exists()
    # the simulated judge labelled the history, each day at the 02:00 run that would have
    assert "2/4 the simulated LLM judge labels each day's sample" in text
    judged = re.search(r"(\d+) signal-days judged: ([\d,]+) new labels", text)
    assert judged and int(judged[1]) >= 2 * 5 and int(judged[2].replace(",", "")) > 0, text
    assert json.loads((data / "incidents.json").read_text())["judged"] is True
    for port in (console, serve, live):  # every child is gone: nothing listens any more
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
