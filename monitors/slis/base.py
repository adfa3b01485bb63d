"""The SLI seam: what a kind's calculation declares (``OccurrenceCalculation``,
``TimesliceCalculation``: every hook with its default), what a measurement returns
(``SliValue``) and the context it runs in (``Context``: the tables, the slices measured, the
samples kept). A calculation reads through the context and returns values; the runner
(``monitors.evaluate``, ``monitors.runner``) persists them. Adding a kind:
docs/adding-an-sli-kind.md."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl

from monitors.logs import days_touched
from monitors.partials import (
    BUCKET,
    GroupedTables,
    QualityTables,
    ServingTables,
    quarantine,
    write_atomic,
)
from monitors.windows import WINDOWS
from sigwatch.calibration import latest_calibration
from sigwatch.clock import floor_time
from sigwatch.kinds import SLIKind
from sigwatch.model import SLO, Budgeting, Signal
from sigwatch.states import SliceCost, SliceEstimate, Verdict
from sigwatch.store import Measurement, Store, to_epoch


@dataclass(frozen=True)
class SliValue:
    """One slice's measurement. ``unknown`` says why a slice cannot be judged
    (``Verdict.NO_DATA`` or ``Verdict.INSUFFICIENT_LABELS``); otherwise ``value`` is set.
    ``artifacts`` are files to keep beside the SLO's report (file name -> a table, or a dict
    kept as JSON): the runner writes them into ``report_folder``."""

    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    samples: int | None = None
    unknown: Verdict | None = None
    cost: SliceCost | None = None  # what the slice cost (the cost kinds)
    estimated: SliceEstimate | None = None  # a quality slice before its labels (``estimate:``)
    details: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, pl.DataFrame | dict] = field(default_factory=dict, compare=False)


# --- the calculations: one class per kind, registered by the model class it calculates -------

_REGISTERED: dict[type[SLIKind], Calculation] = {}


class Calculation:
    """What every kind's calculation declares. A concrete subclass names the model class it
    calculates (``sli``) and is registered by it: ``calculation(slo.sli)`` finds it, and a
    model class with no calculation, or with two, is an error when the package is loaded
    (``tests/monitors/test_sli_seam.py`` ties every YAML kind to one)."""

    sli: ClassVar[type[SLIKind]]
    budgeting: ClassVar[Budgeting]
    volume_unit: ClassVar[str] = "events"  # what a group's volume counts, as the console says it

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "sli" not in cls.__dict__:  # a base, not a kind
            return
        if cls.sli.budgeting is not cls.budgeting:
            raise TypeError(
                f"{cls.__name__} is a {cls.budgeting} calculation, and {cls.sli.__name__} "
                f"budgets {cls.sli.budgeting}"
            )
        if cls.sli in _REGISTERED:
            raise TypeError(
                f"{cls.sli.__name__} is calculated by {type(_REGISTERED[cls.sli]).__name__} "
                f"and {cls.__name__}"
            )
        _REGISTERED[cls.sli] = cls()

    def group_volume(self, ctx: Context, slo: SLO, start: datetime, at: datetime) -> pl.DataFrame:
        """Each group's volume over ``[start, at)`` (the group's columns and ``n``), which
        ``top`` groupings rank by: served events by default."""
        by = slo.grouping.by
        return ctx.grouped(by, start, at).select(*by, n=pl.col("total"))


class OccurrenceCalculation(Calculation):
    """An occurrence kind counts good events per bucket of the serving table."""

    budgeting: ClassVar[Budgeting] = Budgeting.OCCURRENCES

    def good_total(self, sli, signal: Signal, table: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Good and total events per row of a serving (or serving-by-group) table."""
        raise NotImplementedError(f"{type(self).__name__} does not count good events")

    def bad_rows(self, sli, signal: Signal) -> tuple[pl.Expr, pl.Expr]:
        """A bad event and the events counted, as Polars expressions over log columns: the
        rows the serving table counts, one by one (``monitors.suspects``: where a breach comes
        from). Required: an occurrence kind always knows its bad events."""
        raise NotImplementedError(f"{type(self).__name__} does not say what a bad row is")

    def errors(self, table: pl.DataFrame) -> list[str]:
        """The serving source's errors over the rows read, shown with the SLO: none by
        default."""
        return []

    def display(self, ctx: Context, at: datetime) -> dict:
        """What the console shows beside the SLO's value (latency's quantiles): nothing by
        default."""
        return {}


class TimesliceCalculation(Calculation):
    """A timeslice kind measures one slice at a time."""

    budgeting: ClassVar[Budgeting] = Budgeting.TIMESLICES

    def measure(
        self, ctx: Context, slo: SLO, start: datetime, end: datetime, at: datetime
    ) -> SliValue:
        """The slice ``[start, end)`` as known at ``at``."""
        raise NotImplementedError(f"{type(self).__name__} does not measure a slice")

    def bad_labelled(self, sli, signal: Signal) -> tuple[pl.Expr, pl.Expr] | None:
        """Over served, labelled predictions (``predicted``, ``truth``): a wrong one and those
        the SLI counts (``monitors.suspects``); None (the default) when the kind cannot say
        where a bad slice comes from."""
        return None


def calculation(sli: SLIKind) -> Calculation:
    """The calculation of an SLI (of its model class)."""
    from monitors import slis  # the package's modules register their calculations

    slis.load()
    try:
        return _REGISTERED[type(sli)]
    except KeyError:
        raise KeyError(
            f"no calculation in monitors/slis is registered for {type(sli).__name__}; "
            f"registered: {', '.join(sorted(c.__name__ for c in _REGISTERED))}"
        ) from None


def registered() -> dict[type[SLIKind], Calculation]:
    """Every model class with its calculation."""
    from monitors import slis

    slis.load()
    return dict(_REGISTERED)


def report_folder(reports_dir, signal: str, slo: str, group: dict[str, str] | None = None):
    """Where an SLO's latest artifacts (``SliValue.artifacts``: a drift slice's samples, and
    the report drawn from them) are kept; of one group of a grouped SLO, in a folder of its own
    below."""
    folder = Path(reports_dir) / signal / slo
    return folder if group is None else folder / group_folder(group)


def group_folder(group: dict[str, str]) -> str:
    """A folder name for a group: readable, and distinct for any values (they come from the
    logs: a value may hold a slash or dots)."""
    readable = "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", v).strip(".-")[:40] for v in group.values())
    digest = hashlib.sha256(json.dumps(group, sort_keys=True).encode()).hexdigest()[:8]
    return f"group={readable or 'x'}-{digest}"


def keep_artifacts(folder: Path, artifacts: dict[str, pl.DataFrame | dict]) -> None:
    """Write a measurement's artifacts into ``folder``, each file replaced whole."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in artifacts.items():
        if isinstance(content, pl.DataFrame):
            write_atomic(content, folder / name)
        else:
            tmp = folder / f".{name}.tmp"
            tmp.write_text(json.dumps(content))
            tmp.replace(folder / name)


DAY = timedelta(days=1)


def _group_key(group: dict[str, str] | None) -> str | None:
    return None if group is None else json.dumps(group, sort_keys=True)


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
    """What an evaluation of one signal needs; it also keeps what it has read (the partial
    tables, the stored measurements and statuses, the judge's calibration), so the SLOs of
    one run (or every time of a backfill) share one read of each: a context is one run's."""

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
    # slices measured and not yet stored: (slo, group key, start, end) -> measurement; the
    # runner stores them with the statuses (``take_measured``), and reads see them before
    _measured: dict[tuple, Measurement] = field(init=False, repr=False, default_factory=dict)
    _before: tuple | None = field(init=False, repr=False, default=None)
    _calibrations: dict = field(init=False, repr=False, default_factory=dict)
    # stored measurements read at once, per group key: (start, end, {(slo, start, end): m})
    _stored: dict = field(init=False, repr=False, default_factory=dict)

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

    def record(self, measurement: Measurement) -> None:
        """Keep a slice's measurement for the runner to store; ``measurements`` sees it."""
        group, m = _group_key(measurement.group), measurement
        self._measured[(m.slo, group, m.start, m.end)] = m
        if group in self._stored:
            self._stored[group][2][(m.slo, m.start, m.end)] = m

    def take_measured(self) -> list[Measurement]:
        """The measurements recorded since the last call, to be stored (oldest first)."""
        taken = sorted(self._measured.values(), key=lambda m: (m.slo, m.start, m.end))
        self._measured.clear()
        return taken

    def measurements(self, slo: str, start: datetime, end: datetime) -> list[Measurement]:
        """This context's (its group's) measurements of ``slo`` whose slices lie in
        ``[start, end)``, oldest first: the stored ones (every SLO's of the span read at once,
        and kept: ``read_measurements``) with those recorded since (``record``)."""
        group = _group_key(self.group)
        stored = self._stored.get(group)
        if stored is None or start < stored[0] or end > stored[1]:
            lo = start if stored is None else min(start, stored[0])
            hi = end if stored is None else max(end, stored[1])
            self.read_measurements(lo, hi)
        rows = self._stored[group][2]
        found = [
            m for (name, lo, hi), m in rows.items() if name == slo and lo >= start and hi <= end
        ]
        return sorted(found, key=lambda m: (m.start, m.end))

    def read_measurements(self, start: datetime, end: datetime) -> None:
        """Read the stored measurements of every SLO of the signal (of this context's group)
        within ``[start, end)`` in one query, for ``measurements`` to answer from."""
        group = _group_key(self.group)
        rows = self.store.measurements(self.signal.name, None, start, end, group=self.group)
        by_slice = {(m.slo, m.start, m.end): m for m in rows}
        for (slo, grp, lo, hi), m in self._measured.items():  # recorded, not stored yet
            if grp == group:
                by_slice[(slo, lo, hi)] = m
        self._stored[group] = (start, end, by_slice)

    def calibration(self, at: datetime):
        """The judge's latest calibration known at ``at`` (``sigwatch.calibration``; None
        before the first), read once per time."""
        if at not in self._calibrations:
            self._calibrations[at] = latest_calibration(self.store, self.signal.name, at)
        return self._calibrations[at]

    def status_before(self, slo: str, at: datetime):
        """The SLO's latest status before ``at`` (None without one): the signal's SLOs are
        read at once, the first time one is asked for."""
        if self._before is None or self._before[0] != at:
            names = [s.name for s in self.signal.slos]
            self._before = (at, self.store.statuses_before(self.signal.name, names, at))
        return self._before[1].get(slo)

    def kept_sample(
        self, slo: str, drawn_from: list, draw: Callable[[], pl.DataFrame | None]
    ) -> pl.DataFrame | None:
        """A sample drawn once and kept under the partials folder (a drift reference whose span
        is over): ``drawn_from`` names what it was drawn from, so anything else draws again.
        A damaged file is set aside and drawn again; the latest two are kept."""
        if self.group is not None:
            drawn_from = [*drawn_from, self.group]
        key = hashlib.sha256(json.dumps(drawn_from).encode()).hexdigest()[:16]
        folder = self.data_dir / "partials" / "drift" / f"signal={self.signal.name}" / slo
        if self.group is not None:
            folder = folder / group_folder(self.group)
        path = folder / f"reference-{key}.parquet"
        try:
            return pl.read_parquet(path)
        except FileNotFoundError:  # not drawn yet (or just replaced by another process's draw)
            pass
        except Exception as exc:  # damaged (a full disk, a killed writer): set aside, drawn again
            quarantine(self.data_dir, path, f"not a readable Parquet file ({type(exc).__name__})")
        frame = draw()
        if frame is not None:
            folder.mkdir(parents=True, exist_ok=True)
            kept = sorted(folder.glob("reference-*.parquet"), key=lambda p: p.stat().st_mtime)
            for old in kept[:-1]:
                old.unlink(missing_ok=True)  # with the new one, the latest two stay
            write_atomic(frame, path)
        return frame

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
