"""Long-running commands leave nothing behind: SIGTERM (what systemd, Kubernetes or a
supervisor sends to the command's own process) stops their children, frees their ports, and a
child never outlives a parent killed outright."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sigwatch.cli.demo import _healthy
from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped, does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_sigterm_to_the_console_stops_streamlit_and_frees_its_port(tmp_path):
    port = free_port()
    command = ["console", "--data", str(tmp_path), "--port", str(port)]
    console = subprocess.Popen(
        [sys.executable, "-m", "sigwatch.cli", *command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: _healthy(f"http://127.0.0.1:{port}"), 90, "the console to answer")
        started = children(console.pid)
        assert started and all(alive(pid) for pid in started)
        console.send_signal(signal.SIGTERM)
        output, _ = console.communicate(timeout=60)
    finally:
        if console.poll() is None:
            console.kill()
    assert console.returncode == 0, output
    assert "console stopped" in output
    assert not any(alive(pid) for pid in started), "a child outlived `sigwatch console`"
    assert not answers(port)


SUPERVISOR = """
import subprocess, sys, time
from sigwatch.cli import processes
sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
{body}
"""


def _supervisor(body: str) -> subprocess.Popen:
    code = SUPERVISOR.format(body=textwrap.dedent(body))
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ))


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_foreground_step_is_stopped_with_its_parent(sent):
    """`demo`'s set-up steps (simulate, backfill) run in the foreground: stopping the demo
    stops the step too."""
    parent = _supervisor("processes.run('sleeper', sleeper, None, print)")
    try:
        wait_until(lambda: children(parent.pid), 30, "the step to start")
        (step,) = children(parent.pid)
        parent.send_signal(sent)
        parent.wait(timeout=60)
    finally:
        if parent.poll() is None:
            parent.kill()
    wait_until(lambda: not alive(step), 10, "the step to stop")


def test_a_child_does_not_outlive_a_parent_killed_outright():
    parent = _supervisor("processes.start(sleeper, None)\ntime.sleep(120)")
    try:
        wait_until(lambda: children(parent.pid), 30, "the child to start")
        (child,) = children(parent.pid)
        parent.send_signal(signal.SIGKILL)  # no handler runs: only the kernel can stop it
        parent.wait(timeout=10)
    finally:
        if parent.poll() is None:
            parent.kill()
    wait_until(lambda: not alive(child), 10, "the orphaned child to be stopped")


def _serve(folder: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGWATCH_SLACK")}
    return subprocess.Popen(
        [sys.executable, "-m", "sigwatch.cli", "serve", "--data", str(folder), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_second_serve_on_the_same_data_folder_is_refused_until_the_first_is_gone(tmp_path):
    """SQLite takes one scheduler per data folder: a second `serve` says which process holds
    it and exits; once the holder is killed outright, the folder is free again."""
    first_port, second_port = free_port(), free_port()
    first = _serve(tmp_path, first_port)
    try:
        wait_until(lambda: answers(first_port), 90, "the first serve's /metrics")
        second = _serve(tmp_path, second_port)
        output, _ = second.communicate(timeout=90)
        assert second.returncode == 1, output
        assert "another scheduler already runs on" in output
        assert f"pid {first.pid}" in output and not answers(second_port)
        first.kill()  # SIGKILL: no clean-up runs, the kernel drops the lock
        first.communicate(timeout=30)
        third = _serve(tmp_path, second_port)
        try:
            wait_until(lambda: answers(second_port), 90, "serve on a freed folder")
        finally:
            third.send_signal(signal.SIGTERM)
            try:
                third.communicate(timeout=60)
            except subprocess.TimeoutExpired:  # fail, but leave no serve behind
                third.kill()
                third.communicate(timeout=30)
        assert third.returncode == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate(timeout=30)
