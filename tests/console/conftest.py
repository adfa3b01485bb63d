from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sigwatch.clock import FixedClock
from sigwatch.store import Store
from tests.conftest import ROOT, SCENARIO_END

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

END = datetime.fromisoformat(SCENARIO_END)


@pytest.fixture(scope="session")
def console_template(console_data, postgres):
    """``console_data``'s store copied into PostgreSQL once: the template of each test's
    database there."""
    from sigwatch.store.copy import copy_store

    url = postgres.new_database("console")
    clock = FixedClock(END)
    with (
        Store.open(console_data / "sigwatch.db", clock=clock) as src,
        Store.open(url, clock=clock) as dst,
    ):
        copy_store(src, dst)
    return url.rsplit("/", 1)[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def console_env(request, console_data, monkeypatch, tmp_path):
    """The console pointed at a copy of ``console_data`` (pages may write: ack, silence), its
    clock an hour after the data ends, its cache empty; its store a SQLite file in the data
    folder, or a PostgreSQL database (``SIGWATCH_STORE_URL``)."""
    import shutil

    from console import common

    folder = tmp_path / "data"
    folder.mkdir()
    if request.param == "sqlite":
        shutil.copy(console_data / "sigwatch.db", folder / "sigwatch.db")
        monkeypatch.delenv("SIGWATCH_STORE_URL", raising=False)
    else:
        template = request.getfixturevalue("console_template")
        server = request.getfixturevalue("postgres")
        monkeypatch.setenv("SIGWATCH_STORE_URL", server.new_database(template=template))
    for part in ("predictions", "labels", "partials"):
        if (console_data / part).exists():
            (folder / part).symlink_to((console_data / part).resolve())
    if (console_data / "reports").exists():  # the page draws drift reports into it
        shutil.copytree((console_data / "reports").resolve(), folder / "reports")
    monkeypatch.setenv("SIGWATCH_DATA", str(folder))
    monkeypatch.setenv("SIGWATCH_CONSOLE_AT", (END + timedelta(hours=1)).isoformat())
    common.read.clear()
    yield folder
    common.read.clear()


def wait_until_answers(url: str, process, log, seconds: float = 90) -> None:
    """Until ``url`` answers 200; fails with the server's ``log`` if ``process`` dies or the
    time runs out."""
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            assert process.poll() is None, log.read_text()
            time.sleep(0.3)
    process.kill()
    pytest.fail(f"{url} did not answer: {log.read_text()}")


@contextmanager
def serving(args: list[str], health: str, log: Path, env: dict[str, str] | None = None):
    """``args`` running as a server, its output in ``log``, from when ``health`` answers until
    the block ends (then stopped); yields the process."""
    with open(log, "w") as out:
        process = subprocess.Popen(
            args, cwd=ROOT, env=env or dict(os.environ), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until_answers(health, process, log)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def console_args(folder: Path, port: int) -> list[str]:
    """``sigwatch console`` over ``folder`` as a user starts it, its clock an hour after the
    data's end."""
    at = f"{END + timedelta(hours=1):%Y-%m-%dT%H:%M:%S%z}"
    return [
        sys.executable,
        "-m",
        "sigwatch.cli",
        "console",
        "--data",
        str(folder),
        "--port",
        str(port),
        "--at",
        at,
    ]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def address():
    """Sets Streamlit's ``server.address`` for the test, as ``streamlit run`` would."""
    from streamlit import config

    before = config.get_option("server.address")
    yield lambda value: config.set_option("server.address", value)
    config.set_option("server.address", before)
