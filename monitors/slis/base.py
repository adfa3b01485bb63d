"""What a timeslice SLI measurement returns, and the context it runs in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from monitors.partials import QualityTables, ServingTables
from sigwatch.model import Signal
from sigwatch.states import Verdict
from sigwatch.store import Store, to_epoch


@dataclass(frozen=True)
class SliValue:
    """One slice's measurement. ``unknown`` says why a slice cannot be judged
    (``Verdict.NO_DATA`` or ``Verdict.INSUFFICIENT_LABELS``); otherwise ``value`` is set."""

    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    samples: int | None = None
    unknown: Verdict | None = None
    details: dict[str, Any] = field(default_factory=dict)


class _Cached:
    """A partial table read once for the widest span of buckets asked, and sliced after."""

    def __init__(self, read: Callable[[datetime, datetime], pl.DataFrame]) -> None:
        self.read = read
        self.table: pl.DataFrame | None = None
        self.span: tuple[datetime, datetime] | None = None
        self.epochs = np.zeros(0, np.int64)
        self.cumulative: dict[tuple[str, ...], np.ndarray] = {}

    def prime(self, table: pl.DataFrame, start: datetime, end: datetime) -> None:
        self.table, self.span = table, (start, end)
        self.epochs = table["bucket"].dt.epoch("s").to_numpy()
        self.cumulative = {}

    def rows(self, start: datetime, end: datetime) -> tuple[int, int]:
        span = self.span
        if span is None or start < span[0] or end > span[1]:
            lo = start if span is None else min(start, span[0])
            hi = end if span is None else max(end, span[1])
            self.prime(self.read(lo, hi), lo, hi)
        found = np.searchsorted(self.epochs, [to_epoch(start), to_epoch(end)], side="left")
        return int(found[0]), int(found[1])

    def slice(self, start: datetime, end: datetime) -> pl.DataFrame:
        lo, hi = self.rows(start, end)
        assert self.table is not None
        return self.table.slice(lo, hi - lo)


@dataclass
class Context:
    """What an evaluation of one signal needs; it also keeps the partial tables it has read,
    so the SLOs of one run (or every time of a backfill) share one read of each."""

    data_dir: Path
    store: Store
    signal: Signal
    seed: int = 0
    reports_dir: Path | None = None
    tables: ServingTables | None = None
    _serving: _Cached = field(init=False, repr=False)
    _quality: _Cached = field(init=False, repr=False)

    def __post_init__(self) -> None:
        tables = self.tables or ServingTables(self.data_dir)
        quality = QualityTables(self.data_dir)
        self._serving = _Cached(lambda lo, hi: tables.read(self.signal, lo, hi))
        self._quality = _Cached(lambda lo, hi: quality.read(self.signal, lo, hi))

    def serving(self, start: datetime, end: datetime) -> pl.DataFrame:
        """The serving table's buckets starting in ``[start, end)``."""
        return self._serving.slice(start, end)

    def quality(self, start: datetime, end: datetime) -> pl.DataFrame:
        """The quality table's rows of the buckets starting in ``[start, end)``."""
        return self._quality.slice(start, end)

    def sums(self, columns: tuple[str, ...], start: datetime, end: datetime) -> np.ndarray:
        """The sums of the serving table's ``columns`` over the buckets of ``[start, end)``,
        from cumulative sums kept per column set: a window is two look-ups, however many times
        are evaluated."""
        cached = self._serving
        lo, hi = cached.rows(start, end)
        if columns not in cached.cumulative:
            assert cached.table is not None
            values = cached.table.select(columns).to_numpy().astype(np.float64)
            zero = np.zeros((1, len(columns)))
            cached.cumulative[columns] = np.concatenate([zero, np.cumsum(values, axis=0)])
        cumulative = cached.cumulative[columns]
        return cumulative[hi] - cumulative[lo]

    def prime(
        self,
        start: datetime,
        end: datetime,
        serving: pl.DataFrame,
        quality: pl.DataFrame | None = None,
    ) -> None:
        """Use the tables just computed (ordered by bucket) as those of ``[start, end)``,
        sparing a read."""
        self._serving.prime(serving, start, end)
        if quality is not None:
            self._quality.prime(quality, start, end)
