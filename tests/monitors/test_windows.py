"""Burn rates and alert rules against the SRE workbook's parameters."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from monitors.windows import RULES, WINDOWS, budget_remaining, burn_rate, fired_rules

THIRTY_DAYS = timedelta(days=30)
MINUTE = timedelta(minutes=1)


def test_the_workbook_table_for_a_30_day_slo():
    # SRE workbook, table 5-8: 14.4 (1h/5m page), 6 (6h/30m page), 3 (1d/2h ticket), 1 (3d/6h).
    assert [(r.severity, r.name, round(r.factor(THIRTY_DAYS), 6)) for r in RULES] == [
        ("page", "1h/5m", 14.4),
        ("page", "6h/30m", 6.0),
        ("ticket", "1d/2h", 3.0),
        ("ticket", "3d/6h", 1.0),
    ]


def test_factors_scale_with_the_slo_window():
    factors = [r.factor(timedelta(days=28)) for r in RULES]
    assert factors == pytest.approx([13.44, 5.6, 2.8, 0.9333333])


def test_burn_rate_and_budget():
    assert burn_rate(1, 1000, 0.999) == pytest.approx(1.0)
    assert burn_rate(0, 0, 0.999) is None
    assert budget_remaining(5, 10_000, 0.999) == pytest.approx(0.5)
    assert budget_remaining(20, 10_000, 0.999) == pytest.approx(-1.0)


def simulate(errors_per_minute: np.ndarray, objective: float, window: timedelta):
    """Minute by minute, which rules fire (1000 requests a minute)."""
    bad = np.concatenate([[0.0], np.cumsum(errors_per_minute * 1000.0)])
    total = np.arange(len(bad)) * 1000.0
    out = []
    for now in range(1, len(bad)):
        rates = {}
        for w in WINDOWS:
            lo = max(0, now - int(w / MINUTE))
            rates[w] = burn_rate(bad[now] - bad[lo], total[now] - total[lo], objective)
        out.append(fired_rules(rates, window))
    return out


def test_a_full_outage_against_99_9_pages_within_the_1h_rules_detection_time():
    # Workbook: detection time = (1 - SLO) * long window * factor / error rate
    #         = 0.001 * 60 min * 14.4 / 1.0 = 0.86 min; the 5m short window is above 14.4x at once.
    healthy = np.zeros(24 * 60)
    outage = np.ones(10)
    series = simulate(np.concatenate([healthy, outage]), 0.999, THIRTY_DAYS)
    assert all(not fired for fired in series[: len(healthy)])
    first = next(i for i, fired in enumerate(series) if fired) - len(healthy)
    assert first == 0  # the first outage minute (detection time < 1 minute)
    assert {f.rule for f in series[len(healthy)]} >= {"1h/5m"}
    assert series[len(healthy)][0].severity == "page"


def test_a_slow_leak_opens_a_ticket_not_a_page():
    # After 3 healthy days, 0.2% errors against 99.9% burn at 2x: only the 3d/6h ticket rule
    # (1x) can fire, once the 3-day window has averaged up to 1x: 2x * leak / 3d >= 1.
    healthy = np.zeros(3 * 24 * 60)
    series = simulate(np.concatenate([healthy, np.full(2 * 24 * 60, 0.002)]), 0.999, THIRTY_DAYS)
    fired = {f.rule for minute in series for f in minute}
    assert fired == {"3d/6h"}
    first = next(i for i, f in enumerate(series) if f) - len(healthy)
    assert first == pytest.approx(1.5 * 24 * 60, abs=2)


def test_the_page_stops_soon_after_the_outage_ends():
    series = simulate(
        np.concatenate([np.zeros(120), np.ones(30), np.zeros(60)]), 0.999, THIRTY_DAYS
    )
    pages = [i for i, f in enumerate(series) if any(x.rule == "1h/5m" for x in f)]
    # the 5m short window clears 5 minutes after the last bad minute
    assert max(pages) == 149 + 4  # last bad minute 149, still inside [149, 154)


def test_too_few_events_or_a_noisy_long_window_fire_nothing():
    from monitors.windows import MIN_EVENTS

    rates = {w: 100.0 for w in WINDOWS}
    few = {w: (MIN_EVENTS - 1.0, MIN_EVENTS - 1.0) for w in WINDOWS}
    assert fired_rules(rates, THIRTY_DAYS, few, 0.001) == []
    enough = {w: (MIN_EVENTS, MIN_EVENTS) for w in WINDOWS}
    assert len(fired_rules(rates, THIRTY_DAYS, enough, 0.001)) == 4
    # 4 bad of 341 against a 1% budget: 1.17x as a point, but its Wilson interval reaches
    # down to 0.46%, below the 3d/6h rule's 1x: no ticket on a quiet night's noise.
    noisy = {w: (4.0, 341.0) for w in WINDOWS}
    assert fired_rules({w: 1.17 for w in WINDOWS}, THIRTY_DAYS, noisy, 0.01) == []
