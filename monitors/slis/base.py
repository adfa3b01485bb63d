"""What a timeslice SLI measurement returns, and the context it runs in."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from monitors.logs import days_touched
from monitors.partials import BUCKET, GroupedTables, QualityTables, ServingTables
from monitors.windows import WINDOWS
from sigwatch.clock import floor_time
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


DAY = timedelta(days=1)


class _Cached:
    """A partial table read once for the widest span of buckets asked, and sliced after.

    ``read(lo, hi, fine)`` may return some whole days as one row each (the serving table's
    rollups; ``fine`` are days it must not), with the set of days it did: a slice whose start
    or end falls inside such a day reads again with that day in buckets, so every slice is
    exact."""

    def __init__(
        self, read: Callable[[datetime, datetime, set[date]], tuple[pl.DataFrame, set[date]]]
    ) -> None:
        self.read = read
        self.table: pl.DataFrame | None = None
        self.span: tuple[datetime, datetime] | None = None
        self.epochs = np.zeros(0, np.int64)
        self.cumulative: dict[tuple[str, ...], np.ndarray] = {}
        self.fine: set[date] = set()
        self.compacted: set[date] = set()

    def prime(
        self,
        table: pl.DataFrame,
        start: datetime,
        end: datetime,
        compacted: set[date] = frozenset(),
    ) -> None:
        self.table, self.span, self.compacted = table, (start, end), set(compacted)
        self.epochs = table["bucket"].dt.epoch("s").to_numpy()
        self.cumulative = {}

    def rows(self, start: datetime, end: datetime) -> tuple[int, int]:
        span = self.span
        inside = {
            b.date() for b in (start, end) if b.date() in self.compacted and b != floor_time(b, DAY)
        }
        if span is None or start < span[0] or end > span[1] or inside:
            lo = start if span is None else min(start, span[0])
            hi = end if span is None else max(end, span[1])
            self.fine |= inside
            table, compacted = self.read(lo, hi, self.fine)
            self.prime(table, lo, hi, compacted)
        found = np.searchsorted(self.epochs, [to_epoch(start), to_epoch(end)], side="left")
        return int(found[0]), int(found[1])

    def compacted_starts(self) -> list[datetime]:
        """The starts (midnights) of the rows that hold a whole day."""
        return [datetime.combine(d, datetime.min.time(), UTC) for d in self.compacted]

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
    # A run at one time reads a long window's older days as one row each (``read_compact``):
    # its sums end at that time. Many times (a backfill) need every bucket.
    compact: bool = False
    # One group of a grouped SLO (``monitors.groups``): its rows of the serving-by-group
    # table, of the quality table, of the logs and of the judge's labels are those matching
    # ``group_filter``, and what is measured is stored as that group's.
    group: dict[str, str] | None = None
    group_filter: pl.Expr | None = None
    _serving: _Cached = field(init=False, repr=False)
    _quality: _Cached = field(init=False, repr=False)

    def __post_init__(self) -> None:
        tables = self.tables or ServingTables(self.data_dir)
        quality = QualityTables(self.data_dir)

        def serving(lo: datetime, hi: datetime, fine: set[date]):
            if not self.compact:
                return tables.read(self.signal, lo, hi, keep=False), set()
            return tables.read_compact(self.signal, lo, hi, fine | self._recent(hi))

        self._serving = _Cached(serving)
        self._quality = _Cached(
            lambda lo, hi, fine: (quality.read(self.signal, lo, hi, keep=self.compact), set())
        )
        self._grouped: dict[tuple[str, ...], _Cached] = {}

    def for_group(self, group: dict[str, str], match: pl.Expr) -> Context:
        """This context for one group: the same tables read (shared), its quality rows only."""
        scoped = copy.copy(self)
        scoped.group, scoped.group_filter = group, match
        return scoped

    def grouped(self, by: tuple[str, ...], start: datetime, end: datetime) -> pl.DataFrame:
        """The serving-by-group table of ``by``: its rows of the buckets of ``[start, end)``."""
        return self._grouped_cache(by).slice(start, end)

    def first_seen(
        self, by: tuple[str, ...], group: dict[str, str], start: datetime, end: datetime
    ) -> datetime | None:
        """The first bucket of ``[start, end)`` with events of ``group`` (None without any)."""
        rows = GroupedTables(self.data_dir, by).read(self.signal, start, end, keep=self.compact)
        mine = rows.filter(
            pl.all_horizontal([pl.col(c) == group.get(c) for c in by]) & (pl.col("total") > 0)
        )
        return mine["bucket"].min() if len(mine) else None

    def _grouped_cache(self, by: tuple[str, ...]) -> _Cached:
        if by not in self._grouped:
            tables = GroupedTables(self.data_dir, by)

            def read(lo: datetime, hi: datetime, fine: set[date]):
                if not self.compact:
                    return tables.read(self.signal, lo, hi, keep=False), set()
                return tables.read_compact(self.signal, lo, hi, fine | self._recent(hi))

            self._grouped[by] = _Cached(read)
        return self._grouped[by]

    def rolled_days(self, by: tuple[str, ...]) -> list[datetime]:
        """The midnights of the days the serving-by-group table of ``by`` holds rolled up."""
        return self._grouped_cache(by).compacted_starts()

    @staticmethod
    def _recent(hi: datetime) -> set[date]:
        """The days the burn-rate windows ending at ``hi`` touch: kept in buckets by a
        compact read (only older days are rolled up)."""
        return set(days_touched(hi - max(WINDOWS), hi + BUCKET))

    def serving(self, start: datetime, end: datetime) -> pl.DataFrame:
        """The serving table's buckets starting in ``[start, end)``; for a group, its rows of
        the serving-by-group table (counted from the logs: a serving source such as Prometheus
        has no group labels), a bucket once per value pooled into it."""
        if self.group is None:
            return self._serving.slice(start, end)
        rows = self.grouped(tuple(self.group), start, end).filter(self.group_filter)
        return rows.with_columns(source=pl.lit("logs"), source_error=pl.lit(None, pl.Utf8))

    def row_ends(self, table: pl.DataFrame) -> np.ndarray:
        """Epoch seconds where each row of a slice of the serving table ends: a bucket after
        5 minutes, a rolled-up day at the next midnight."""
        starts = table["bucket"].dt.epoch("s").to_numpy()
        rolled = np.isin(starts, [to_epoch(d) for d in self._serving.compacted_starts()])
        return starts + np.where(rolled, DAY.total_seconds(), BUCKET.total_seconds()).astype(
            np.int64
        )

    def quality(self, start: datetime, end: datetime) -> pl.DataFrame:
        """The quality table's rows of the buckets starting in ``[start, end)`` (of this
        context's group only, for a group's)."""
        rows = self._quality.slice(start, end)
        return rows if self.group_filter is None else rows.filter(self.group_filter)

    def judge_labels(
        self, calibration, start: datetime, end: datetime, at: datetime
    ) -> pl.DataFrame:
        """The judge's labels of predictions served in ``[start, end)`` known at ``at``, by the
        judge model and prompt version of ``calibration`` (``sigwatch.calibration``); of this
        context's group only, for a group's."""
        rows = self.store.judge.sample(
            self.signal.name, calibration.model, calibration.prompt_version, start, end, at
        )
        return rows if self.group_filter is None else rows.filter(self.group_filter)

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
        grouped: dict[tuple[str, ...], pl.DataFrame] | None = None,
    ) -> None:
        """Use the tables just computed (ordered by bucket) as those of ``[start, end)``,
        sparing a read."""
        self._serving.prime(serving, start, end)
        if quality is not None:
            self._quality.prime(quality, start, end)
        for by, table in (grouped or {}).items():
            self._grouped_cache(by).prime(table, start, end)
