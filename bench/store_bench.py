"""The store's size as ``sigwatch serve`` fills it: 50 signals (the shipped five, cloned), every
SLO's status every 5 minutes, each grouped SLO's groups at every evaluation, every slice of the
timeslice SLOs, a run per signal per evaluation. Two days are written for real, into SQLite and
into PostgreSQL; the 90-day and the retention figures are that size scaled (rows per day do not
change with time), with and without the daily compaction of statuses, and say so.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

DAYS_WRITTEN = 2
GROUPS = 6  # a grouped SLO's groups per evaluation: top 5 and the pooled (other)
STEP = timedelta(minutes=5)
END = datetime(2026, 11, 26, tzinfo=UTC)


def _fill(path: Path, registry) -> dict[str, int]:
    from sigwatch.clock import FixedClock
    from sigwatch.model import Budgeting
    from sigwatch.states import SloState
    from sigwatch.store import Measurement, Run, SloStatus, Store

    start = END - timedelta(days=DAYS_WRITTEN)
    rows = {"statuses": 0, "group statuses": 0, "measurements": 0, "runs": 0}
    burn = {"5m": 0.4, "30m": 0.5, "1h": 0.6, "2h": 0.5, "6h": 0.4, "1d": 0.3, "3d": 0.3}
    with Store.open(path, clock=FixedClock(END)) as store:
        at = start + STEP
        while at <= END:
            statuses, groups, slices = [], [], []
            for signal in registry:
                for slo in signal.slos:
                    status = SloStatus(
                        signal=signal.name,
                        slo=slo.name,
                        at=at,
                        sli=slo.sli.kind,
                        state=SloState.OK,
                        objective=slo.objective.ratio,
                        evaluated_at=at,
                        window_end=at,
                        value=0.995,
                        budget_remaining=0.62,
                        burn_rates=burn,
                        samples=12_345,
                        details={"good": 12_300.0, "total": 12_345.0, "window": "28d"},
                    )
                    statuses.append(status)
                    if slo.grouping is not None:
                        groups += [
                            SloStatus(**{**status.__dict__, "group": {slo.grouping.by[0]: f"g{k}"}})
                            for k in range(GROUPS)
                        ]
                    timeslice = slo.objective.timeslice
                    if (
                        slo.objective.budgeting is Budgeting.TIMESLICES
                        and timeslice is not None
                        and (at - start) % timeslice == timedelta(0)
                    ):
                        slices.append(
                            Measurement(
                                signal=signal.name,
                                slo=slo.name,
                                start=at - timeslice,
                                end=at,
                                sli=slo.sli.kind,
                                evaluated_at=at,
                                value=0.87,
                                ci_low=0.84,
                                ci_high=0.9,
                                samples=400,
                                details={"verdict": "good", "tp": 348, "predicted": 400},
                            )
                        )
                store.record_run(Run(signal.name, at, at, 240.0, "ok"))
            store.put_status(statuses + groups)
            store.put_measurements(slices)
            rows["statuses"] += len(statuses)
            rows["group statuses"] += len(groups)
            rows["measurements"] += len(slices)
            rows["runs"] += len(registry)
            at += STEP
    return rows


def main() -> None:
    from bench.console_bench import SIGNALS, _registry
    from sigwatch.clock import FixedClock
    from sigwatch.registry import load_registry
    from sigwatch.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        registry = load_registry(_registry(folder))
        slos = sum(len(s.slos) for s in registry)
        started = time.perf_counter()
        rows = _fill(folder / "sigwatch.db", registry)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in folder.glob("sigwatch.db*"))
        # the daily compaction of the first day (as if SIGWATCH_STATUS_DETAIL had passed)
        with Store.open(folder / "sigwatch.db", clock=FixedClock(END)) as store:
            started = time.perf_counter()
            compacted = store.retention.compact(END - timedelta(days=DAYS_WRITTEN - 1))
            compact_s = time.perf_counter() - started
    total = sum(rows.values())
    per_day = size / DAYS_WRITTEN
    per_row = size / total
    statuses_a_day = (rows["statuses"] + rows["group statuses"]) / DAYS_WRITTEN
    gone_a_day = sum(compacted.values())  # one day compacted
    compact_day = per_day - gone_a_day * per_row
    detail = 7
    print(
        f"1. the store as `serve` fills it: {SIGNALS} signals, {slos} SLOs, an evaluation "
        "every 5 minutes"
    )
    print(
        f"   {DAYS_WRITTEN} days written for real in {seconds:.1f} s: "
        + ", ".join(f"{n:,} {kind}" for kind, n in rows.items())
        + f"; {size / 2**20:.0f} MB ({per_row:.0f} bytes a row)"
    )
    print(
        f"   90 days (scaled from {DAYS_WRITTEN}: rows per day do not change), uncompacted: "
        f"{90 * per_day / 2**30:.1f} GB, {90 * total // DAYS_WRITTEN:,} rows"
    )
    print(
        f"2. the daily compaction of one day's statuses (SIGWATCH_STATUS_DETAIL): "
        f"{gone_a_day:,} of {statuses_a_day:,.0f} deleted in {compact_s:.1f} s "
        f"(one an hour and every change kept; a steady day keeps 1 in 12)"
    )
    print(
        f"   90 days with the default detail ({detail}d full, then compacted; scaled): "
        f"{(detail * per_day + (90 - detail) * compact_day) / 2**30:.1f} GB"
    )
    print(
        f"   with the default SIGWATCH_RETENTION (400d) it stops growing at about "
        f"{(detail * per_day + (400 - detail) * compact_day) / 2**30:.1f} GB (scaled; "
        f"{400 * per_day / 2**30:.1f} GB uncompacted); `sigwatch prune` keeps it there"
    )
    _postgres()


def _postgres() -> None:
    """The same two days written into a real PostgreSQL (started here, as the tests do): its
    size on disk and write time beside SQLite's."""
    from bench.console_bench import _registry
    from sigwatch.clock import FixedClock
    from sigwatch.registry import load_registry
    from sigwatch.store import Store
    from tests.postgres import PostgresServer

    try:
        server = PostgresServer().start()
    except RuntimeError as exc:
        print(f"3. PostgreSQL: not measured ({exc})")
        return
    try:
        import psycopg

        url = server.new_database("bench")
        with tempfile.TemporaryDirectory() as tmp:
            registry = load_registry(_registry(Path(tmp)))
            started = time.perf_counter()
            rows = _fill(url, registry)
            seconds = time.perf_counter() - started

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            (full,) = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        with Store.open(url, clock=FixedClock(END)) as store:
            started = time.perf_counter()
            gone = sum(store.retention.compact(END - timedelta(days=DAYS_WRITTEN - 1)).values())
            compact_s = time.perf_counter() - started
    finally:
        server.stop()
    # the space of deleted rows is reused by later ones (autovacuum); the files do not shrink
    per_day = full / DAYS_WRITTEN
    compact_day = per_day - gone * full / sum(rows.values())
    print(
        f"3. the same in PostgreSQL {server.bin.parent.name} (a server on 127.0.0.1): "
        f"{sum(rows.values()):,} rows written in {seconds:.1f} s, {full / 2**20:.0f} MB; "
        f"a day compacted in {compact_s:.1f} s"
    )
    print(
        f"   90 days (scaled, 7d full then compacted): "
        f"{(7 * per_day + 83 * compact_day) / 2**30:.1f} GB; 400 days: "
        f"{(7 * per_day + 393 * compact_day) / 2**30:.1f} GB "
        f"({400 * per_day / 2**30:.1f} GB uncompacted)"
    )
