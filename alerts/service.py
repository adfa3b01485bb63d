"""Alerting wired from settings: the lifecycle and the delivery over one store, for the CLI and
the scheduler's jobs."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from alerts.delivery import Delivery, FlushResult, notifier_from_settings, redact
from alerts.lifecycle import Lifecycle
from alerts.model import Policy
from monitors.runner import Outcome
from sigwatch.clock import Clock
from sigwatch.model import Registry
from sigwatch.settings import Settings
from sigwatch.store import SloStatus, Store
from sigwatch.store.alerts import AlertTables

_SLACK_LOGGERS = (
    "slack_sdk",
    "slack_sdk.web.base_client",
    "slack_sdk.webhook.client",
    "slack_sdk.http_retry",
)


class _Redact(logging.Filter):
    """Takes secrets out of log records (slack_sdk logs request URLs at debug level)."""

    def __init__(self, secrets) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def policy_from_settings(settings: Settings) -> Policy:
    return Policy(
        hold=settings.alert_hold,
        renotify=settings.alert_renotify,
        mention=settings.page_mention,
        console_url=settings.console_url,
        buttons=settings.slack_signing_secret is not None,
        runbooks_url=settings.runbooks_url,
    )


@dataclass
class Alerting:
    lifecycle: Lifecycle
    delivery: Delivery
    monitor_failures: int = 3  # failed runs in a row of a signal's monitor that page

    @classmethod
    def open(cls, store: Store, registry: Registry, settings: Settings, clock: Clock) -> Alerting:
        secrets = [settings.slack_token, settings.slack_webhook_url]
        secrets = [s for s in secrets if s is not None]
        if secrets:
            for name in _SLACK_LOGGERS:
                logger = logging.getLogger(name)
                if not any(isinstance(f, _Redact) for f in logger.filters):
                    logger.addFilter(_Redact(secrets))
        records = store.alerts
        lifecycle = Lifecycle(records, registry, policy_from_settings(settings))
        delivery = Delivery(records, notifier_from_settings(settings, store=store), clock, secrets)
        return cls(lifecycle, delivery, settings.monitor_failures)

    @property
    def records(self) -> AlertTables:
        return self.lifecycle.records

    def process(self, statuses: list[SloStatus]) -> FlushResult:
        """One live evaluation: update alerts, announce, send."""
        if statuses:
            self.lifecycle.evaluate(statuses)
        return self.delivery.flush()

    def after_runs(self, outcomes: Iterable[Outcome]) -> FlushResult:
        """One live evaluation of signals (their runs' outcomes): the statuses of the good
        runs update alerts; a failed run counts towards its signal's ``monitor`` page, a good
        one resolves it; then announce and send."""
        outcomes = list(outcomes)
        self._evaluate(outcomes)
        return self.delivery.flush()

    def _evaluate(self, outcomes: list[Outcome], statuses: list[SloStatus] | None = None) -> None:
        """The runs' statuses (``statuses``, else the good runs') and their outcomes: a good
        run resolves its signal's ``monitor`` page, a failed one counts towards it."""
        if statuses is None:
            statuses = [s for o in outcomes if o.ok for s in o.statuses]
        good = [(o.signal, o.at) for o in outcomes if o.ok]
        if statuses or good:
            self.lifecycle.evaluate(statuses, good_runs=good)
        for outcome in outcomes:
            if outcome.ok:
                continue
            failing = self.records.store.failing(outcome.signal)
            if failing is not None:
                self.lifecycle.monitor_failed(failing, self.monitor_failures, outcome.at)

    def replay(
        self,
        start: datetime,
        end: datetime,
        signals=None,
        outcomes: Iterable[Outcome] | None = None,
    ) -> FlushResult:
        """Walk the stored statuses of ``(start, end]`` in time order (a backfill's), recording
        alerts as they would have opened and resolved; only what is open at ``end`` is
        announced. ``outcomes``: the backfill's runs, which count for the ``monitor`` pages
        as live runs do."""
        registry = self.lifecycle.registry
        by_time: dict[datetime, list[SloStatus]] = defaultdict(list)
        for signal in signals or registry.names:
            for slo in registry.get(signal).slos:
                for row in self.records.store.status_history(signal, slo.name, start, end):
                    if start < row.at <= end:
                        by_time[row.at].append(row)
        times = sorted(by_time)
        for at in times[:-1]:
            self.lifecycle.evaluate(by_time[at], announce=False)
        self._evaluate(list(outcomes or []), by_time[times[-1]] if times else [])
        if times:  # what is open at the end is announced, touched at the end or not
            with self.records.store.transaction():
                self.lifecycle.announce(times[-1])
        return self.delivery.flush()
