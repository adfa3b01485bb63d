"""Child processes of the long-running commands (``console``, ``demo``): started so that they
never outlive us, and stopped cleanly when we are asked to stop.

A supervisor (systemd, Kubernetes, a shell's ``kill``) sends SIGTERM to the command's own
process only; a terminal's Ctrl-C sends SIGINT to the whole foreground group. Both become
``KeyboardInterrupt`` in the main thread (``stop_signals``), and every child still running is
then sent SIGINT, given ``GRACE`` seconds, and killed after that. As a last resort each child
asks the kernel to send it SIGTERM if its parent dies without stopping it (even by SIGKILL).
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

GRACE = 30.0  # seconds a child gets to stop after SIGINT before it is killed
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start a child that the kernel stops if we die first."""
    return subprocess.Popen(args, env=env, preexec_fn=_die_with_parent)


@contextmanager
def stop_signals() -> Iterator[None]:
    """Inside: SIGTERM is raised as ``KeyboardInterrupt``, like Ctrl-C's SIGINT."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def signals_set(event: threading.Event) -> Iterator[None]:
    """Inside: SIGINT and SIGTERM set ``event`` instead of interrupting, so a loop that checks
    it finishes the unit of work it is in (an append, a scheduled run) before it stops."""
    previous = {
        s: signal.signal(s, lambda *_: event.set()) for s in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def stop(children: dict[str, subprocess.Popen], report: Callable[[str], None]) -> None:
    """SIGINT to every child still running, then wait; kill those still there after GRACE."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + GRACE
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            report(f"{name} did not stop in {GRACE:.0f}s; killing it")
            child.kill()
            child.wait()


def run(name: str, args: list[str], env: dict[str, str], report: Callable[[str], None]) -> int:
    """Run one child in the foreground and return its exit code; SIGTERM or Ctrl-C to us stops
    it and is raised again as ``KeyboardInterrupt`` once it has stopped."""
    with stop_signals():
        child = start(args, env)
        try:
            return child.wait()
        except KeyboardInterrupt:
            stop({name: child}, report)
            raise


class Taken(Exception):
    """Another process holds the lock; its message names it."""


def acquire(path, what: str, since):
    """An exclusive lock on ``path`` (created if missing), as an open file: closing it (or the
    process ending, however it ends: a killed process leaves no lock behind) releases it.
    Raises ``Taken`` naming the holder (``what``, its pid and ``since``, when it started) when
    another has it."""
    import fcntl
    import os

    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - the caller holds it
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "a process that has not said who it is"
        handle.close()
        raise Taken(holder) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{what} (pid {os.getpid()}, since {since:%Y-%m-%dT%H:%M:%SZ})")
    handle.flush()
    return handle
