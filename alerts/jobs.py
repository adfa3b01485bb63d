"""The scheduler's jobs when alerting is on (``sigwatch serve``): evaluate a signal then its
alerts, retry the outbox every minute, post the daily digest. Module-level functions with
plain arguments, because the job store pickles references to them.

Each job outlasts a store that goes away (``monitors.scheduler.with_store``): it tries again on
a new connection. A signal's evaluation that was stored but whose alerts could not be updated
before the store went is kept (``UNALERTED``) and its alerts updated first by the signal's next
job, so no status that should alert is skipped."""

from __future__ import annotations

import logging
import threading

from alerts.digest import post_digest
from alerts.service import Alerting
from monitors.runner import Outcome
from monitors.scheduler import (
    DAILY_RETRY_S,
    evaluate_once,
    failed_run,
    heartbeat,
    retry_window,
    still_defined,
    with_store,
)
from sigwatch.clock import Clock
from sigwatch.runtime import Runtime
from sigwatch.states import OutboxKind
from sigwatch.store import Store

log = logging.getLogger(__name__)


class Unalerted:
    """Per signal, the evaluations (their outcomes, oldest first) whose alerts are not yet
    updated: the store went between the two."""

    def __init__(self) -> None:
        self._kept: dict[str, list[list[Outcome]]] = {}
        self._lock = threading.Lock()

    def keep(self, signal: str, outcomes: list[Outcome]) -> None:
        with self._lock:
            self._kept.setdefault(signal, []).append(outcomes)

    def take(self, signal: str) -> list[list[Outcome]]:
        with self._lock:
            return self._kept.pop(signal, [])

    def give_back(self, signal: str, evaluations: list[list[Outcome]]) -> None:
        with self._lock:
            self._kept[signal] = evaluations + self._kept.get(signal, [])


UNALERTED = Unalerted()


def monitor_and_alert_job(signal: str, data_dir: str, definitions: str, clock: Clock) -> None:
    runtime = Runtime.composed(data=data_dir, definitions=definitions, clock=clock)
    if not still_defined(runtime, signal):
        return
    evaluated = False  # once stored, a retry (the store went) updates the alerts only

    def work(store: Store) -> None:
        nonlocal evaluated
        if not evaluated:
            outcomes = evaluate_once(runtime, store, signal)  # None: another scheduler has it
            evaluated = True
            if outcomes:
                UNALERTED.keep(signal, outcomes)
        alerting = Alerting.open(store, runtime.registry, runtime.settings, clock)
        waiting = UNALERTED.take(signal)  # earlier evaluations left unalerted first, in order
        for n, outcomes in enumerate(waiting):
            try:
                alerting.after_runs(outcomes)
            except BaseException:
                UNALERTED.give_back(signal, waiting[n:])
                raise
        if waiting:
            heartbeat(runtime, store, waiting[-1][0].at)

    keep = failed_run(signal)

    def failed(*attempts) -> None:  # a failed run, unless the evaluation was stored
        if not evaluated:
            keep(*attempts)

    within = retry_window(runtime, signal)
    with_store(runtime, f"monitor {signal}", work, within=within, failed=failed)


def flush_job(data_dir: str, definitions: str, clock: Clock) -> None:
    """Send what is queued (Slack was down, or rate limited us) and lift expired silences."""
    runtime = Runtime.composed(data=data_dir, definitions=definitions, clock=clock)
    runtime.refresh()

    def work(store: Store) -> None:
        alerting = Alerting.open(store, runtime.registry, runtime.settings, clock)
        with store.transaction():
            alerting.lifecycle.announce(clock.now())
        alerting.delivery.flush()

    with_store(runtime, "the outbox", work, within=0)  # it runs again in a minute


def digest_job(data_dir: str, definitions: str, clock: Clock) -> None:
    """The day's digest, once a day however many schedulers share the store."""
    runtime = Runtime.composed(data=data_dir, definitions=definitions, clock=clock)
    runtime.refresh()
    channel, now = runtime.settings.digest_channel, clock.now()

    def work(store: Store) -> None:
        with store.exclusive("digest") as mine:
            last = store.alerts.last_enqueued(OutboxKind.DIGEST, channel)
            if not mine or (last is not None and last.date() == now.date()):
                return  # another scheduler is posting it, or posted it today
            alerting = Alerting.open(store, runtime.registry, runtime.settings, clock)
            post_digest(alerting.records, runtime.registry, channel, now)
            alerting.delivery.flush()

    with_store(runtime, "the daily digest", work, within=DAILY_RETRY_S)


def weekly_job(data_dir: str, definitions: str, clock: Clock) -> None:
    """The weekly SLO review of the week before, once a week however many schedulers share the
    store."""
    from alerts.weekly import last_full_week, posted_this_week, publish

    runtime = Runtime.composed(data=data_dir, definitions=definitions, clock=clock)
    runtime.refresh()
    now, channel = clock.now(), runtime.settings.digest_channel

    def work(store: Store) -> None:
        with store.exclusive("weekly") as mine:
            if not mine or posted_this_week(store, channel, now):
                return  # another scheduler is posting it, or posted it this week
            week = last_full_week(now)
            done = publish(store, runtime.registry, runtime.settings, runtime.data_dir, week, now)
            log.info("weekly review: %s", done.said)

    with_store(runtime, "the weekly review", work, within=DAILY_RETRY_S)
