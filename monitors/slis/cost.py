"""cost_per_1k and daily_spend over one slice, from the serving table (US dollars): ``cost``
over ``requests``, both from the signal's serving source (the logs, or Prometheus); the share
served by the external API rides along (``SliceCost``). A slice with a bucket the source could
not fill is ``no_data``."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitors.slis.base import Context, SliValue, TimesliceCalculation
from sigwatch.kinds import CostPer1kSLI, DailySpendSLI
from sigwatch.states import SliceCost, Verdict


def spent(ctx: Context, start: datetime, end: datetime) -> SliValue | SliceCost:
    """What ``[start, end)`` cost, or the slice's value when it cannot be told."""
    table = ctx.serving(start, end)
    errors = table["source_error"].drop_nulls()
    if len(errors):
        return SliValue(unknown=Verdict.NO_DATA, samples=0, details={"errors": [errors[-1]]})
    prometheus = bool((table["source"] == "prometheus").any())
    total = float(table["requests"].sum())
    if not total:
        return SliValue(unknown=Verdict.NO_DATA, samples=0)
    return SliceCost(
        cost_usd=float(table["cost"].sum()),
        items=total if prometheus else int(total),
        external_cost_usd=float(table["cost_external"].sum()),
        source="prometheus" if prometheus else "logs",
        external_share=None if prometheus else int(table["external"].sum()) / total,
    )


class Spend(TimesliceCalculation):
    """A kind measured from what a slice cost: its value from the spend (``value``)."""

    volume_unit = "items"

    def measure(self, ctx: Context, slo, start: datetime, end: datetime, at: datetime) -> SliValue:
        cost = spent(ctx, start, min(end, at))
        if isinstance(cost, SliValue):
            return cost
        value, extra = self.value(cost, min(end, at) - start)
        return SliValue(value=value, samples=int(cost.items), cost=cost, details=extra)

    def value(self, cost: SliceCost, covered: timedelta) -> tuple[float, dict]:
        raise NotImplementedError


class CostPer1k(Spend):
    sli = CostPer1kSLI

    def value(self, cost: SliceCost, covered: timedelta) -> tuple[float, dict]:
        return cost.cost_usd / cost.items * 1000, {}


class DailySpend(Spend):
    sli = DailySpendSLI

    def value(self, cost: SliceCost, covered: timedelta) -> tuple[float, dict]:
        """Dollars per day: a slice shorter than a day (or not yet over) scaled to one."""
        per_day = (
            cost.cost_usd * (timedelta(days=1) / covered)
            if covered > timedelta(0)
            else cost.cost_usd
        )
        return per_day, {"spend_so_far": cost.cost_usd}
