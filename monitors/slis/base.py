"""What a timeslice SLI measurement returns, and the context it runs in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from monitors.partials import ServingTables
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


@dataclass
class Context:
    """What an evaluation of one signal needs; it also keeps the serving table it has read, so
    the SLOs of one run share one read of the stored partials."""

    data_dir: Path
    store: Store
    signal: Signal
    seed: int = 0
    reports_dir: Path | None = None
    tables: ServingTables | None = None
    _serving: pl.DataFrame | None = field(default=None, repr=False)
    _serving_span: tuple[datetime, datetime] | None = field(default=None, repr=False)
    _epochs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    _cumulative: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.tables is None:
            self.tables = ServingTables(self.data_dir)

    def serving(self, start: datetime, end: datetime) -> pl.DataFrame:
        """The serving table's buckets starting in ``[start, end)``, read once per widest span
        asked."""
        lo, hi = self._rows(start, end)
        assert self._serving is not None
        return self._serving.slice(lo, hi - lo)

    def sums(self, columns: tuple[str, ...], start: datetime, end: datetime) -> np.ndarray:
        """The sums of ``columns`` over the buckets of ``[start, end)``, from cumulative sums
        kept per column set: a window is two look-ups, however many times are evaluated."""
        lo, hi = self._rows(start, end)
        if columns not in self._cumulative:
            assert self._serving is not None
            values = self._serving.select(columns).to_numpy().astype(np.float64)
            zero = np.zeros((1, len(columns)))
            self._cumulative[columns] = np.concatenate([zero, np.cumsum(values, axis=0)])
        cumulative = self._cumulative[columns]
        return cumulative[hi] - cumulative[lo]

    def prime(self, table: pl.DataFrame, start: datetime, end: datetime) -> None:
        """Use ``table`` (ordered by bucket) as the serving table of ``[start, end)``: the one
        just computed and stored, sparing a read."""
        self._serving, self._serving_span = table, (start, end)
        self._epochs = table["bucket"].dt.epoch("s").to_numpy()
        self._cumulative = {}

    def _rows(self, start: datetime, end: datetime) -> tuple[int, int]:
        span = self._serving_span
        if span is None or start < span[0] or end > span[1]:
            lo = start if span is None else min(start, span[0])
            hi = end if span is None else max(end, span[1])
            assert self.tables is not None
            self.prime(self.tables.read(self.signal, lo, hi), lo, hi)
        found = np.searchsorted(self._epochs, [to_epoch(start), to_epoch(end)], side="left")
        return int(found[0]), int(found[1])
