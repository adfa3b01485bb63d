"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package (``make test``
installs it), ``initdb`` in a temporary folder, ``postgres`` on 127.0.0.1 and a free port,
stopped at the end of the session. Each test gets a database of its own.

PostgreSQL refuses to run as root: as root, the folder belongs to the ``postgres`` user and the
server runs as it (``runuser``); anyone else runs it as themselves.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "sw"


def _bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "no PostgreSQL server here (/usr/lib/postgresql/*/bin/initdb): `make test` installs "
            "Debian's postgresql package; or run `apt-get install postgresql`"
        )
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.bin = _bin()
        # Not under pytest's tmp folders: those are private to their owner, and the server may
        # run as another user.
        self.folder = Path(tempfile.mkdtemp(prefix="sigwatch-pg-"))
        self.port = free_port()
        self._names = itertools.count(1)
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        if self._as:
            shutil.chown(self.folder, "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.folder / "db"),
            "-A",
            "trust",
            "-U",
            USER,
            "--no-sync",
        )
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server (again, after ``halt``) on the same folder and port."""
        options = f"-k {self.folder} -h 127.0.0.1 -p {self.port} -c fsync=off"
        pg_ctl = str(self.bin / "pg_ctl")
        log = str(self.folder / "log")
        self._run(pg_ctl, "-D", str(self.folder / "db"), "-o", options, "-l", log, "-w", "start")

    def halt(self) -> None:
        """Stop the server at once, as a crash or a restart does (every connection dropped,
        transactions in flight lost), keeping its data for ``resume``."""
        pg_ctl = str(self.bin / "pg_ctl")
        self._run(pg_ctl, "-D", str(self.folder / "db"), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        try:
            self.halt()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "t", template: str | None = None) -> str:
        """A new database, empty or a copy of ``template`` (a database nobody is connected
        to); its URL."""
        import psycopg

        name = f"{prefix}_{next(self._names)}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)
