"""Error budgets and multi-window, multi-burn-rate alerting (Google SRE workbook, ch. 5).

Burn rate = observed bad ratio / error budget (1 - objective): 1x spends the budget exactly
over the SLO window. The workbook's table is for a 30-day SLO; for another window the factor is
scaled so each rule still fires on the same share of the budget:

    factor = budget_share * slo_window / long_window

A rule fires when both its long and its short window burn at least ``factor``: the long window
makes it significant, the short one makes it stop soon after the problem does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sigwatch.states import Fired, Severity
from sigwatch.stats import wilson_interval
from sigwatch.units import format_duration

label = format_duration  # how windows are named in status output: 5m, 1h, 3d

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class BurnRule:
    severity: Severity
    long: timedelta
    short: timedelta
    budget_share: float  # of the whole budget spent in `long` when the rule just fires

    def factor(self, slo_window: timedelta) -> float:
        return self.budget_share * (slo_window / self.long)

    @property
    def name(self) -> str:
        return f"{format_duration(self.long)}/{format_duration(self.short)}"


RULES: tuple[BurnRule, ...] = (
    BurnRule(Severity.PAGE, HOUR, 5 * MINUTE, 0.02),  # 2% of a 30d budget in 1h -> 14.4x
    BurnRule(Severity.PAGE, 6 * HOUR, 30 * MINUTE, 0.05),  # 5% in 6h -> 6x
    BurnRule(Severity.TICKET, DAY, 2 * HOUR, 0.10),  # 10% in 1d -> 3x
    BurnRule(Severity.TICKET, 3 * DAY, 6 * HOUR, 0.10),  # 10% in 3d -> 1x
)
WINDOWS: tuple[timedelta, ...] = tuple(sorted({w for r in RULES for w in (r.long, r.short)}))


def burn_rate(bad: float, total: float, objective: float) -> float | None:
    """Bad ratio over the error budget; None when nothing was counted."""
    if total <= 0:
        return None
    return (bad / total) / (1.0 - objective)


def budget_remaining(bad: float, total: float, objective: float) -> float | None:
    """Share of the window's error budget still unspent (negative once overspent)."""
    rate = burn_rate(bad, total, objective)
    return None if rate is None else 1.0 - rate


MIN_EVENTS = 100  # a burn rate over fewer events in the long window is noise, not a signal


def fired_rules(
    burn_rates: dict[timedelta, float | None],
    slo_window: timedelta,
    counts: dict[timedelta, tuple[float, float]] | None = None,
    error_budget: float | None = None,
    sure_short: bool = False,
) -> list[Fired]:
    """The rules whose long and short windows both burn at least their factor.

    With ``counts`` (window -> (bad, total)) and the ``error_budget``, the long window must
    also make its case statistically: at least ``MIN_EVENTS`` events, and the lower end of the
    95% Wilson interval of its bad ratio at or above ``factor * budget``. Four slow answers among
    the first 341 of a quiet night are not a 1x burn; a full outage clears the bar at once, and
    at production volumes the bound sits within a few per cent of the point estimate.

    ``sure_short`` asks the same bound of the ticket rules' short windows (the groups of a
    grouped SLO): a small community's 6 hours after an incident are a few dozen events, and a
    3-day window still remembering the incident would turn their noise into a ticket. The page
    rules' short windows (5 and 30 minutes) only say the burn goes on; a bound over a handful
    of events would make a real page flap.
    """
    out = []
    for rule in RULES:
        long, short = burn_rates.get(rule.long), burn_rates.get(rule.short)
        factor = rule.factor(slo_window)
        if counts is not None and error_budget is not None:
            bad, total = counts.get(rule.long, (0.0, 0.0))
            if total < MIN_EVENTS or wilson_interval(bad, total)[0] < factor * error_budget:
                continue
            bad, total = counts.get(rule.short, (0.0, 0.0))
            unsure = not total or wilson_interval(bad, total)[0] < factor * error_budget
            if sure_short and rule.severity is Severity.TICKET and unsure:
                continue
        if long is not None and short is not None and long >= factor and short >= factor:
            out.append(Fired(rule.severity, rule.name, factor, long, short))
    return out
