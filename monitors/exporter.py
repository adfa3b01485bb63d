"""A Prometheus collector over the store: every SLO's state, SLI value, error budget and burn
rates, each signal's last run, its runs counted by outcome and its last good run (the
dead-man's switch), read from the store at scrape time (so it is never staler
than the last evaluation, and an existing Grafana/Alertmanager stack can use them).

The groups of grouped SLOs have families of their own, ``sigwatch_group_*``, labelled with the
dimension columns (``community="headphones"``; the columns an SLO is not grouped by are empty,
which Prometheus reads as absent). Their number is bounded by each SLO's ``groups`` rule (the
top N and ``(other)``, or the values listed), as the store keeps them."""

from __future__ import annotations

import logging
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from sigwatch.clock import Clock
from sigwatch.model import DIMENSIONS
from sigwatch.states import SloState
from sigwatch.store import Store
from sigwatch.store.connection import StoreUnavailable, StoreURL

log = logging.getLogger(__name__)


class StatusCollector:
    def __init__(self, store: StoreURL | Path, clock: Clock) -> None:
        self.store = store if isinstance(store, StoreURL) else StoreURL.parse(store)
        self.clock = clock

    def collect(self):
        state = GaugeMetricFamily(
            "sigwatch_slo_state",
            "1 for the SLO's current state.",
            labels=["signal", "slo", "state"],
        )
        value = GaugeMetricFamily(
            "sigwatch_sli_value", "Current SLI value.", labels=["signal", "slo"]
        )
        budget = GaugeMetricFamily(
            "sigwatch_slo_error_budget_remaining",
            "Share of the error budget left.",
            labels=["signal", "slo"],
        )
        exhausted = GaugeMetricFamily(
            "sigwatch_slo_error_budget_exhausted",
            "1 when the window's error budget is spent (release freeze), else 0.",
            labels=["signal", "slo"],
        )
        burn = GaugeMetricFamily(
            "sigwatch_slo_burn_rate", "Burn rate over a window.", labels=["signal", "slo", "window"]
        )
        last_run = GaugeMetricFamily(
            "sigwatch_monitor_last_run_timestamp_seconds",
            "Start of the last monitor run.",
            labels=["signal", "status"],
        )
        runs_total = CounterMetricFamily(
            "sigwatch_monitor_runs",
            "Monitor runs of a signal by outcome (ok, error), since the store began.",
            labels=["signal", "outcome"],
        )
        last_success = GaugeMetricFamily(
            "sigwatch_monitor_last_success_timestamp_seconds",
            "Start of the signal's last good monitor run: the dead-man's switch (alert when "
            "time() minus it grows past a few schedules).",
            labels=["signal"],
        )
        group_state = GaugeMetricFamily(
            "sigwatch_group_slo_state",
            "1 for the state of one group of a grouped SLO.",
            labels=["signal", "slo", *DIMENSIONS, "state"],
        )
        group_value = GaugeMetricFamily(
            "sigwatch_group_sli_value",
            "SLI value of one group of a grouped SLO.",
            labels=["signal", "slo", *DIMENSIONS],
        )
        group_budget = GaugeMetricFamily(
            "sigwatch_group_error_budget_remaining",
            "Share of the error budget left, of one group of a grouped SLO.",
            labels=["signal", "slo", *DIMENSIONS],
        )
        group_burn = GaugeMetricFamily(
            "sigwatch_group_burn_rate",
            "Burn rate over a window, of one group of a grouped SLO.",
            labels=["signal", "slo", *DIMENSIONS, "window"],
        )
        store_up = GaugeMetricFamily(
            "sigwatch_store_up",
            "1 when this scrape read the store, 0 when it could not be reached (every other "
            "family is then absent: alert on this one).",
        )
        groups = []
        if self.store.path is None or self.store.path.exists():
            try:
                with Store.open(self.store, clock=self.clock, migrate=False) as store:
                    statuses = store.latest_status()
                    groups = [
                        g for s in statuses for g in store.group_statuses(s.signal, s.slo, s.at)
                    ]
                    runs = store.runs(limit=1000)
                    totals = store.run_totals()
            except StoreUnavailable as exc:
                log.warning("/metrics: %s", exc)
                store_up.add_metric([], 0.0)
                yield store_up
                return
            store_up.add_metric([], 1.0)
            for signal, outcome, total, last in totals:
                runs_total.add_metric([signal, outcome], float(total))
                if outcome == "ok":
                    last_success.add_metric([signal], last.timestamp())
            for g in groups:
                key = [g.signal, g.slo, *((g.group or {}).get(d, "") for d in DIMENSIONS)]
                for name in SloState:
                    group_state.add_metric([*key, name], 1.0 if g.state is name else 0.0)
                if g.value is not None:
                    group_value.add_metric(key, g.value)
                if g.budget_remaining is not None:
                    group_budget.add_metric(key, g.budget_remaining)
                for window, rate in g.burn_rates.items():
                    if rate is not None:
                        group_burn.add_metric([*key, window], rate)
            for s in statuses:
                for name in SloState:
                    state.add_metric([s.signal, s.slo, name], 1.0 if s.state is name else 0.0)
                if s.value is not None:
                    value.add_metric([s.signal, s.slo], s.value)
                if s.budget_remaining is not None:
                    budget.add_metric([s.signal, s.slo], s.budget_remaining)
                    exhausted.add_metric([s.signal, s.slo], float(s.budget_exhausted))
                for window, rate in s.burn_rates.items():
                    if rate is not None:
                        burn.add_metric([s.signal, s.slo, window], rate)
            seen = set()
            for run in runs:  # newest first: the first of each signal is its last run
                if run.signal not in seen:
                    seen.add(run.signal)
                    last_run.add_metric([run.signal, run.status], run.started.timestamp())
        yield from (store_up, state, value, budget, exhausted, burn, last_run, runs_total)
        yield last_success
        yield from (group_state, group_value, group_budget, group_burn)
