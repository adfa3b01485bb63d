"""The scheduler's jobs when alerting is on (``sigwatch serve``): evaluate a signal then its
alerts, retry the outbox every minute, post the daily digest. Module-level functions with
plain arguments, because the job store pickles references to them."""

from __future__ import annotations

from pathlib import Path

from alerts.digest import post_digest
from alerts.service import Alerting
from monitors.scheduler import monitor_signal
from sigwatch.clock import Clock
from sigwatch.registry import load_registry
from sigwatch.settings import Settings
from sigwatch.store import Store


def monitor_and_alert_job(signal: str, data_dir: str, definitions: str, clock: Clock) -> None:
    registry = load_registry(Path(definitions))
    settings = Settings.from_env()
    with Store.open(Path(data_dir) / "sigwatch.db", clock=clock) as store:
        outcomes = monitor_signal(registry, Path(data_dir), store, clock, signal)
        statuses = [s for o in outcomes for s in o.statuses]
        Alerting.open(store, registry, settings, clock).process(statuses)


def flush_job(data_dir: str, definitions: str, clock: Clock) -> None:
    """Send what is queued (Slack was down, or rate limited us) and lift expired silences."""
    registry = load_registry(Path(definitions))
    with Store.open(Path(data_dir) / "sigwatch.db", clock=clock) as store:
        alerting = Alerting.open(store, registry, Settings.from_env(), clock)
        with store.transaction():
            alerting.lifecycle.announce(clock.now())
        alerting.delivery.flush()


def digest_job(data_dir: str, definitions: str, clock: Clock) -> None:
    registry = load_registry(Path(definitions))
    settings = Settings.from_env()
    with Store.open(Path(data_dir) / "sigwatch.db", clock=clock) as store:
        alerting = Alerting.open(store, registry, settings, clock)
        post_digest(alerting.records, registry, settings.digest_channel, clock.now())
        alerting.delivery.flush()
