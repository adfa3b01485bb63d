"""``sigwatch serve``: an APScheduler job per signal at its ``schedule``.

Jobs are module-level functions with fixed ids (``monitor:<signal>``) in a SQLAlchemy job store
in the data folder, so a restart resumes them instead of piling up copies (``replace_existing``).
``max_instances=1`` keeps a slow run from overlapping the next, ``coalesce`` turns a backlog of
missed runs into one, and a misfire grace lets a run that starts a little late still happen.
Each run opens its own store connection and records itself in ``runs``; a failing signal never
stops the others' jobs. A store that cannot be reached (PostgreSQL restarted) fails the attempt,
not the job: ``with_store`` tries again on a new connection, and the runs that failed meanwhile
are recorded once the store answers (``BACKLOG``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from monitors.engine import make_engine
from monitors.partials import BUCKET, prune_partials
from monitors.runner import Monitor
from monitors.sources import serving_source
from sigwatch.clock import Clock, floor_time
from sigwatch.model import Registry
from sigwatch.runtime import Runtime
from sigwatch.store import Run, Store
from sigwatch.store.connection import StoreUnavailable

MISFIRE_GRACE_S = 120
RETRY_FIRST_S, RETRY_MAX_S = 5.0, 30.0  # the first wait for the store, and the longest
DAILY_RETRY_S = 15 * 60.0  # how long a daily or weekly job waits for the store
log = logging.getLogger(__name__)
T = TypeVar("T")


class Backlog:
    """The runs that failed because the store was unreachable, kept in this process until it
    answers again: the next job that opens it writes them, so an outage's failed runs are on
    record like any other (``runs``, ``/metrics``, the console's run list)."""

    def __init__(self) -> None:
        self._runs: list[Run] = []
        self._lock = threading.Lock()

    def add(self, run: Run) -> None:
        with self._lock:
            self._runs.append(run)

    def write(self, store: Store) -> int:
        """Record the kept runs (each once: ``runs`` is keyed by signal, time and start);
        how many."""
        with self._lock:
            kept, self._runs = self._runs, []
        written = 0
        try:
            for run in kept:
                store.record_run(run)
                written += 1
        except BaseException:
            with self._lock:  # the store went again: keep what is not written
                self._runs[:0] = kept[written:]
            raise
        if kept:
            log.info("recorded %d runs that failed while the store was unreachable", len(kept))
        return len(kept)

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)


BACKLOG = Backlog()


def with_store(
    runtime: Runtime,
    what: str,
    work: Callable[[Store], T],
    *,
    within: float,
    failed: Callable[[datetime, float, int, StoreUnavailable], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> T | None:
    """``work(store)`` on a new connection; while the store is unreachable, again on another
    one after 5 s, 10 s, 20 s, 30 s... for ``within`` seconds at most. Each failure is one log
    line naming the store, never a traceback; giving up is one more, and None (the job's next
    run tries again: the scheduler never stops). What ``BACKLOG`` kept is written first.

    ``failed(first, ms, attempts, exc)`` is told once of the attempts that failed in a row:
    when the first began (the runtime's clock), how long they took until the store answered or
    the job gave up, how many, and the last error. ``sleep`` and ``monotonic`` are time's (a
    test passes its own)."""
    deadline = monotonic() + within
    wait = RETRY_FIRST_S
    # the attempts failed in a row: when the first began (clock, monotonic), how many, the last
    # error; None while the store answers
    failing: tuple[datetime, float, int, StoreUnavailable] | None = None
    while True:
        started, t0 = runtime.clock.now(), monotonic()
        try:
            with runtime.open_store() as store:
                if failing is not None and failed is not None:  # on record, once it answers
                    first, t_first, count, error = failing
                    failed(first, (t0 - t_first) * 1000, count, error)
                failing = None
                BACKLOG.write(store)
                return work(store)
        except StoreUnavailable as exc:
            first, t_first, count, _ = failing or (started, t0, 0, exc)
            failing = (first, t_first, count + 1, exc)
            if monotonic() + wait > deadline:
                log.error("%s: %s; its next scheduled run tries again", what, exc)
                if failed is not None:
                    failed(first, (monotonic() - t_first) * 1000, count + 1, exc)
                return None
            log.warning("%s: %s; trying again in %.0f s", what, exc, wait)
            sleep(wait)
            wait = min(2 * wait, RETRY_MAX_S)


def retry_window(runtime: Runtime, signal: str) -> float:
    """How long a signal's job waits for the store: until shortly before its next run."""
    return max(0.0, runtime.registry.get(signal).schedule.total_seconds() - 10)


def failed_run(signal: str) -> Callable[[datetime, float, int, StoreUnavailable], None]:
    """A ``with_store`` callback that keeps a job's failed attempts as one failed run of
    ``signal`` at its 5-minute time (in ``BACKLOG``, recorded when the store answers)."""

    def keep(first: datetime, took_ms: float, attempts: int, exc: StoreUnavailable) -> None:
        tried = f" (tried {attempts} times over {took_ms / 1000:.0f} s)" if attempts > 1 else ""
        error = f"{type(exc).__name__}: {exc}{tried}"
        BACKLOG.add(Run(signal, floor_time(first, BUCKET), first, took_ms, "error", error))

    return keep


def monitor_signal(runtime: Runtime, store: Store, signal: str, at: datetime | None = None):
    """Evaluate one signal at ``at`` (default: now), with Prometheus when configured; return
    the outcomes."""
    monitor = Monitor(
        runtime.registry,
        runtime.data_dir,
        store,
        runtime.clock,
        source=serving_source(runtime.settings),
        engine=make_engine(runtime.settings),
    )
    return monitor.run(at, signals=[signal])


def evaluate_once(runtime: Runtime, store: Store, signal: str):
    """A scheduled evaluation of one signal that happens once however many schedulers share
    the store: the outcomes, or None when another scheduler is evaluating the signal right
    now or already evaluated it at this time (its 5-minute bucket). A scheduler that died
    holds nothing: its lock went with its connection, and the next one evaluates."""
    at = floor_time(runtime.clock.now(), BUCKET)
    with store.exclusive(f"evaluate:{signal}") as mine:
        if not mine:
            log.info("%s at %s: another scheduler is evaluating it", signal, f"{at:%H:%M}")
            return None
        if store.evaluated(signal, at):
            log.info("%s at %s: already evaluated", signal, f"{at:%H:%M}")
            return None
        # the time checked above is the time evaluated: "now" is read once per run
        return monitor_signal(runtime, store, signal, at)


def still_defined(runtime: Runtime, signal: str) -> bool:
    """Read the definitions again if a file changed; whether ``signal`` is still among them
    (a signal whose file was removed is no longer evaluated: its job says so and returns)."""
    if signal in runtime.refresh().names:
        return True
    log.warning("%s: no longer in the definitions (%s); not evaluated", signal, runtime.definitions)
    return False


def run_signal_job(signal: str, data_dir: str, definitions: str, clock: Clock) -> None:
    """One scheduled evaluation of one signal (module-level: the job store pickles its path)."""
    runtime = Runtime.composed(data=data_dir, definitions=definitions, clock=clock)
    if not still_defined(runtime, signal):
        return

    def work(store: Store) -> None:
        outcomes = evaluate_once(runtime, store, signal)
        if outcomes:
            heartbeat(runtime, store, outcomes[0].at)

    within = retry_window(runtime, signal)
    with_store(runtime, f"monitor {signal}", work, within=within, failed=failed_run(signal))


HEARTBEAT_TIMEOUT_S = 5.0


def heartbeat(runtime: Runtime, store: Store, at, timeout: float = HEARTBEAT_TIMEOUT_S) -> bool:
    """After a run: when every signal has now run for ``at`` (the cycle is complete), request
    ``SIGWATCH_HEARTBEAT_URL``, a dead-man's switch for teams without Prometheus (a
    healthchecks-style service pages when the requests stop). Whichever job completes the
    cycle sends it; a failed or slow heartbeat is logged (never its URL) and never fails the
    run, and waits ``timeout`` at most. Returns whether a request was answered 2xx."""
    url = runtime.settings.heartbeat_url
    if url is None or not set(runtime.registry.names) <= store.ran_at(at):
        return False
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(url.reveal())
    kind = http.client.HTTPSConnection if where.scheme == "https" else http.client.HTTPConnection
    conn = kind(where.netloc, timeout=timeout)
    try:
        conn.request("GET", (where.path or "/") + (f"?{where.query}" if where.query else ""))
        status = conn.getresponse().status
    except Exception as exc:  # unreachable, timed out: the scheduler goes on
        log.warning("heartbeat for %s: %s", f"{at:%H:%M}", type(exc).__name__)
        return False
    finally:
        conn.close()
    if not 200 <= status < 300:
        log.warning("heartbeat for %s: answered %s", f"{at:%H:%M}", status)
    return 200 <= status < 300


def prune_job(data_dir: str, definitions: str, clock: Clock) -> None:
    """The daily prune: the store's rows older than ``SIGWATCH_RETENTION``, and the partial
    tables' buckets older than ``SIGWATCH_BUCKET_RETENTION`` (kept as day rollups)."""
    runtime = Runtime.composed(data=data_dir, definitions=definitions, clock=clock)
    runtime.refresh()
    settings = runtime.settings

    def work(store: Store) -> None:
        with store.exclusive("prune") as mine:
            if not mine:
                return  # another scheduler is pruning
            pruned = store.retention.prune(clock.now() - settings.retention)
            compacted = store.retention.compact(clock.now() - settings.status_detail)
            before = (clock.now() - settings.bucket_retention).date()
            files = prune_partials(runtime.data_dir, runtime.registry, before)
        log.info(
            "pruned rows older than %s: %s; statuses compacted: %s; day files before %s: %s",
            settings.retention,
            pruned,
            compacted,
            before,
            files,
        )

    with_store(runtime, "the daily prune", work, within=DAILY_RETRY_S)


def calibrate_job(data_dir: str, definitions: str, clock: Clock) -> None:
    """The daily calibration (and one at start): CBPE fitted for the slices the cycles
    estimate, so that a cycle only reads its fits (``Monitor.calibrate``)."""
    runtime = Runtime.composed(data=data_dir, definitions=definitions, clock=clock)
    runtime.refresh()

    def work(store: Store) -> None:
        monitor = Monitor(runtime.registry, runtime.data_dir, store, clock)
        done = monitor.calibrate(clock.now())
        fitted = [c for c in done if not c.kept and c.reason is None]
        for c in done:
            if c.reason is not None:
                log.log(
                    logging.WARNING if c.failed else logging.INFO,
                    "no CBPE fit for %s/%s's slice of %s: %s",
                    c.signal,
                    c.slo,
                    f"{c.slice_start:%Y-%m-%d %H:%M}",
                    c.reason,
                )
        log.info(
            "calibrated %d CBPE fits in %.1f s (%d kept already)",
            len(fitted),
            sum(c.seconds for c in done),
            sum(c.kept for c in done),
        )

    with_store(runtime, "the daily calibration", work, within=DAILY_RETRY_S)


@dataclass(frozen=True)
class ExtraJob:
    """A job beside the per-signal ones: ``func(data_dir=..., definitions=..., clock=...)`` on
    a trigger (``"interval"`` with ``seconds``, or ``"cron"`` with ``hour``/``minute``)."""

    id: str
    func: Callable[..., None]
    trigger: str
    trigger_args: dict


def build_scheduler(
    registry: Registry,
    data_dir: Path,
    definitions: Path,
    clock: Clock,
    *,
    start_now: bool = True,
    job: Callable[..., None] = run_signal_job,
    extra: tuple[ExtraJob, ...] = (),
    persist: bool = True,
) -> BackgroundScheduler:
    """The scheduler with a job per signal and the ``extra`` jobs. Triggers fire on the wall
    clock (APScheduler's); each job is handed ``clock`` (pickled with it: a ``SystemClock``
    or a ``FixedClock``) for what it evaluates and stamps. ``persist``: jobs are kept in
    ``<data>/scheduler.db`` (one scheduler per folder); else in memory, for schedulers that
    share a folder and a PostgreSQL store (APScheduler's job stores are not to be shared)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    jobs = (
        SQLAlchemyJobStore(url=f"sqlite:///{data_dir / 'scheduler.db'}")
        if persist
        else MemoryJobStore()
    )
    scheduler = BackgroundScheduler(
        jobstores={"default": jobs},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_S},
        timezone=UTC,
    )
    first_run = {"next_run_time": clock.now()} if start_now else {}
    for signal in registry:
        scheduler.add_job(
            job,
            "interval",
            seconds=int(signal.schedule.total_seconds()),
            id=f"monitor:{signal.name}",
            name=f"monitor {signal.name}",
            replace_existing=True,
            kwargs={
                "signal": signal.name,
                "data_dir": str(data_dir.resolve()),
                "definitions": str(definitions.resolve()),
                "clock": clock,
            },
            **first_run,
        )
    paths = {
        "data_dir": str(data_dir.resolve()),
        "definitions": str(definitions.resolve()),
        "clock": clock,
    }
    for other in extra:
        scheduler.add_job(
            other.func,
            other.trigger,
            id=other.id,
            name=other.id,
            replace_existing=True,
            kwargs=paths,
            **other.trigger_args,
        )
    return scheduler
