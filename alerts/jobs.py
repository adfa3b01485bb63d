"""The scheduler's jobs when alerting is on (``sigwatch serve``): evaluate a signal then its
alerts, retry the outbox every minute, post the daily digest. Module-level functions with
plain arguments, because the job store pickles references to them."""

from __future__ import annotations

import logging

from alerts.digest import post_digest
from alerts.service import Alerting
from monitors.scheduler import evaluate_once, heartbeat
from sigwatch.clock import Clock
from sigwatch.runtime import Runtime

log = logging.getLogger(__name__)


def monitor_and_alert_job(signal: str, data_dir: str, definitions: str, clock: Clock) -> None:
    runtime = Runtime.from_env(data=data_dir, definitions=definitions, clock=clock)
    with runtime.open_store() as store:
        outcomes = evaluate_once(runtime, store, signal)
        if outcomes is None:  # another scheduler has it
            return
        Alerting.open(store, runtime.registry, runtime.settings, clock).after_runs(outcomes)
        if outcomes:
            heartbeat(runtime, store, outcomes[0].at)


def flush_job(data_dir: str, definitions: str, clock: Clock) -> None:
    """Send what is queued (Slack was down, or rate limited us) and lift expired silences."""
    runtime = Runtime.from_env(data=data_dir, definitions=definitions, clock=clock)
    with runtime.open_store() as store:
        alerting = Alerting.open(store, runtime.registry, runtime.settings, clock)
        with store.transaction():
            alerting.lifecycle.announce(clock.now())
        alerting.delivery.flush()


def digest_job(data_dir: str, definitions: str, clock: Clock) -> None:
    """The day's digest, once a day however many schedulers share the store."""
    runtime = Runtime.from_env(data=data_dir, definitions=definitions, clock=clock)
    channel, now = runtime.settings.digest_channel, clock.now()
    with runtime.open_store() as store, store.exclusive("digest") as mine:
        last = store.alerts.last_enqueued("digest", channel)
        if not mine or (last is not None and last.date() == now.date()):
            return  # another scheduler is posting it, or posted it today
        alerting = Alerting.open(store, runtime.registry, runtime.settings, clock)
        post_digest(alerting.records, runtime.registry, channel, now)
        alerting.delivery.flush()


def weekly_job(data_dir: str, definitions: str, clock: Clock) -> None:
    """The weekly SLO review of the week before, once a week however many schedulers share the
    store."""
    from alerts.weekly import last_full_week, posted_this_week, publish

    runtime = Runtime.from_env(data=data_dir, definitions=definitions, clock=clock)
    now, channel = clock.now(), runtime.settings.digest_channel
    with runtime.open_store() as store, store.exclusive("weekly") as mine:
        if not mine or posted_this_week(store, channel, now):
            return  # another scheduler is posting it, or posted it this week
        done = publish(store, runtime.registry, runtime.settings, runtime.data_dir,
                       last_full_week(now), now)  # fmt: skip
        log.info("weekly review: %s", done.said)
