"""The composition root's one object: settings, clock, data folder, definitions and store,
built once from the environment and a command's options, and handed to the CLI's commands, the
scheduler's jobs and the console (the serving source comes from its settings:
``monitors.sources.serving_source``).

A scheduled job finds its runtime by the folder and definitions it was given
(``Runtime.composed``: the job store pickles a job's arguments, and settings hold secrets that
must never be written to disk): composed once per process, its store's schema brought up to
date on its first connection, its definitions read again when a file changes (a broken edit
keeps the last good ones: ``sigwatch.registry.Definitions``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sigwatch.clock import Clock, clock_at
from sigwatch.settings import Settings
from sigwatch.store.connection import StoreURL

if TYPE_CHECKING:
    from datetime import datetime

    from sigwatch.model import Registry
    from sigwatch.registry import Definitions
    from sigwatch.store import Store


class _Composed:
    """What the runtimes of one composition share: the definitions as loaded, and whether the
    store's schema is known to be up to date."""

    def __init__(self) -> None:
        self.definitions: Definitions | None = None
        self.migrated = False


_COMPOSED: dict[tuple, Runtime] = {}
_COMPOSING = threading.Lock()


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    clock: Clock
    data_dir: Path
    definitions: Path
    shared: _Composed = field(default_factory=_Composed, compare=False, repr=False)

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

    @classmethod
    def composed(cls, *, data: Path | str, definitions: Path | str, clock: Clock) -> Runtime:
        """The runtime of a long-running process's jobs on ``data`` and ``definitions``:
        composed on the first job (settings from the environment, the definitions loaded, the
        store's schema brought up to date on its first connection) and shared by the jobs
        after it, each with its own ``clock`` (a changed ``SIGWATCH_*`` environment composes
        anew). A job calls ``refresh`` first."""
        environment = tuple(
            sorted((k, v) for k, v in os.environ.items() if k.startswith("SIGWATCH_"))
        )
        key = (str(Path(data).resolve()), str(Path(definitions).resolve()), environment)
        with _COMPOSING:
            found = _COMPOSED.get(key)
            if found is None:
                found = _COMPOSED[key] = cls.from_env(
                    data=data, definitions=definitions, clock=clock
                )
        return found if found.clock is clock else replace(found, clock=clock)

    def refresh(self) -> Registry:
        """The definitions, read again if a file changed (a broken edit keeps the last good
        ones, logged once: ``Definitions.error``)."""
        return self._definitions().refresh()

    def _definitions(self) -> Definitions:
        shared = self.shared
        if shared.definitions is None:
            from sigwatch.registry import Definitions

            shared.definitions = Definitions(self.definitions)
        return shared.definitions

    @property
    def store_url(self) -> StoreURL:
        """Where the store is (``str()`` of it never shows a password)."""
        return self.settings.store(self.data_dir)

    def open_store(self, *, migrate: bool = True) -> Store:
        """A connection to the store (a context manager), its schema brought up to date (once
        per composition: a runtime's later connections find it so)."""
        from sigwatch.store import Store

        shared = self.shared
        store = Store.open(
            self.store_url,
            clock=self.clock,
            migrate=migrate and not shared.migrated,
            current=shared.migrated,
        )
        shared.migrated = shared.migrated or migrate
        return store

    def store_exists(self) -> bool:
        """Whether there is a store to read: the SQLite file exists (a PostgreSQL store is
        always there to connect to)."""
        url = self.store_url
        return url.path is None or url.path.exists()

    @property
    def registry(self) -> Registry:
        """The signals and SLOs of the definitions folder, loaded on first use
        (``DefinitionError`` lists the problems of a broken folder), again by ``refresh``."""
        return self._definitions().current()
