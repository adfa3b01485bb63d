from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.lifecycle import Lifecycle
from alerts.model import Policy
from sigwatch.clock import FixedClock
from sigwatch.states import Fired, Severity, SloState
from sigwatch.store import SloStatus, Store
from tests.alerts.slack_server import FakeSlack

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
OCCURRENCE_SLOS = ("coverage", "latency", "errors")  # content_type's occurrence SLOs


def status(
    slo: str,
    at: datetime,
    state: str = "ok",
    *,
    signal: str = "content_type",
    burn: float = 0.5,
    value: float = 0.999,
    **extra,
) -> SloStatus:
    """A hand-built status: a page rule fired on breach, a ticket rule on warning."""
    fired = []
    sli = extra.pop("sli", "coverage")
    if sli not in ("coverage", "latency", "error_rate"):
        pass  # timeslice SLOs fire no burn-rate rule
    elif state == "breach":
        fired = [Fired(Severity.PAGE, "1h/5m", 13.44, burn, burn)]
    elif state == "warning":
        fired = [Fired(Severity.TICKET, "1d/2h", 2.8, burn, burn)]
    return SloStatus(
        signal=signal,
        slo=slo,
        at=at,
        sli=sli,
        state=SloState(state),
        objective=0.995,
        evaluated_at=at,
        window_end=at,
        value=None if state == "no_data" else value,
        samples=0 if state == "no_data" else 1000,
        budget_remaining=0.8,
        burn_rates={"5m": burn, "1h": burn},
        fired=fired,
        **extra,
    )


class World:
    """A store, a lifecycle and a clock at T0; ``step(states)`` evaluates one time."""

    def __init__(self, registry, path, policy: Policy | None = None) -> None:
        self.clock = FixedClock(T0)
        self.store = Store.open(path, clock=self.clock)
        self.records = self.store.alerts
        self.lifecycle = Lifecycle(self.records, registry, policy or Policy())

    def step(self, states: dict[str, str] | str = "ok", burn: float = 20.0, announce=True):
        """Advance 5 minutes and evaluate; ``states``: SLO -> state (others ok), or one state
        for coverage."""
        at = self.clock.advance(STEP)
        if isinstance(states, str):
            states = {"coverage": states}
        rows = [
            status(slo, at, states.get(slo, "ok"), burn=burn if states.get(slo) else 0.5)
            for slo in OCCURRENCE_SLOS
        ]
        self.store.put_status(rows)
        return self.lifecycle.evaluate(rows, announce=announce)

    def outbox(self):
        return [(i.kind, i.text) for i in self.records.outbox()]


@pytest.fixture
def world(registry, store_url):
    """A world on SQLite and on PostgreSQL."""
    w = World(registry, store_url)
    yield w
    w.store.close()


@pytest.fixture
def slack():
    server = FakeSlack().start()
    yield server
    server.stop()
