"""The composition root's one object: settings, clock, data folder, definitions and store,
built once from the environment and a command's options, and handed to the CLI's commands, the
scheduler's jobs and the console (the serving source comes from its settings:
``monitors.sources.serving_source``).

A scheduled job rebuilds its runtime from the environment when it runs (``Runtime.from_env``
with the folder and definitions it was given): the job store pickles a job's arguments, and
settings hold secrets that must never be written to disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sigwatch.clock import Clock, clock_at
from sigwatch.settings import Settings
from sigwatch.store.connection import StoreURL

if TYPE_CHECKING:
    from datetime import datetime

    from sigwatch.model import Registry
    from sigwatch.store import Store


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    clock: Clock
    data_dir: Path
    definitions: Path

    @classmethod
    def from_env(
        cls,
        *,
        data: Path | str | None = None,
        definitions: Path | str | None = None,
        clock: Clock | None = None,
        at: datetime | None = None,
        settings: Settings | None = None,
    ) -> Runtime:
        """The runtime of one command or job: ``data`` and ``definitions`` as given (a
        command's ``--data``/``--definitions``), else the settings'; ``clock`` as given, else
        standing at ``at``, else the wall clock."""
        settings = settings or Settings.from_env()
        return cls(
            settings=settings,
            clock=clock or clock_at(at),
            data_dir=Path(data) if data else settings.data_dir,
            definitions=Path(definitions) if definitions else settings.definitions_dir,
        )

    @property
    def store_url(self) -> StoreURL:
        """Where the store is (``str()`` of it never shows a password)."""
        return self.settings.store(self.data_dir)

    def open_store(self, *, migrate: bool = True) -> Store:
        """A connection to the store (a context manager), its schema brought up to date."""
        from sigwatch.store import Store

        return Store.open(self.store_url, clock=self.clock, migrate=migrate)

    def store_exists(self) -> bool:
        """Whether there is a store to read: the SQLite file exists (a PostgreSQL store is
        always there to connect to)."""
        url = self.store_url
        return url.path is None or url.path.exists()

    @cached_property
    def registry(self) -> Registry:
        """The signals and SLOs of the definitions folder, loaded once (``DefinitionError``
        lists the problems of a broken folder)."""
        from sigwatch.registry import load_registry

        return load_registry(self.definitions)
