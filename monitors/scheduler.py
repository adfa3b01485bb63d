"""``sigwatch serve``: an APScheduler job per signal at its ``schedule``.

Jobs are module-level functions with fixed ids (``monitor:<signal>``) in a SQLAlchemy job store
in the data folder, so a restart resumes them instead of piling up copies (``replace_existing``).
``max_instances=1`` keeps a slow run from overlapping the next, ``coalesce`` turns a backlog of
missed runs into one, and a misfire grace lets a run that starts a little late still happen.
Each run opens its own store connection and records itself in ``runs``; a failing signal never
stops the others' jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

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
from sigwatch.store import Store

MISFIRE_GRACE_S = 120
log = logging.getLogger(__name__)


def monitor_signal(runtime: Runtime, store: Store, signal: str):
    """Evaluate one signal now, with Prometheus when configured; return the outcomes."""
    monitor = Monitor(
        runtime.registry,
        runtime.data_dir,
        store,
        runtime.clock,
        source=serving_source(runtime.settings),
        engine=make_engine(runtime.settings),
    )
    return monitor.run(signals=[signal])


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
        return monitor_signal(runtime, store, signal)


def run_signal_job(signal: str, data_dir: str, definitions: str, clock: Clock) -> None:
    """One scheduled evaluation of one signal (module-level: the job store pickles its path)."""
    runtime = Runtime.from_env(data=data_dir, definitions=definitions, clock=clock)
    with runtime.open_store() as store:
        outcomes = evaluate_once(runtime, store, signal)
        if outcomes:
            heartbeat(runtime, store, outcomes[0].at)


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
    runtime = Runtime.from_env(data=data_dir, definitions=definitions, clock=clock)
    settings = runtime.settings
    with runtime.open_store() as store, store.exclusive("prune") as mine:
        if not mine:
            return  # another scheduler is pruning
        pruned = store.retention.prune(clock.now() - settings.retention)
        compacted = store.retention.compact(clock.now() - settings.status_detail)
        before = (clock.now() - settings.bucket_retention).date()
        files = prune_partials(runtime.data_dir, runtime.registry, before)
    log.info("pruned rows older than %s: %s; statuses compacted: %s; day files before %s: %s",
             settings.retention, pruned, compacted, before, files)  # fmt: skip


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
            other.func, other.trigger, id=other.id, name=other.id, replace_existing=True,
            kwargs=paths, **other.trigger_args,
        )  # fmt: skip
    return scheduler
