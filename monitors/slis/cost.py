"""cost_per_1k and daily_spend over one slice, from the serving table (US dollars): ``cost``
over ``requests``, both from the signal's serving source (the logs, or Prometheus); the share
served by the external API rides along in the details. A slice with a bucket the source could
not fill is ``no_data``."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitors.slis.base import Context, SliValue
from sigwatch.states import Verdict

KINDS = ("cost_per_1k", "daily_spend")


def measure(ctx: Context, slo, start: datetime, end: datetime, at: datetime) -> SliValue:
    table = ctx.serving(start, min(end, at))
    errors = table["source_error"].drop_nulls()
    if len(errors):
        return SliValue(unknown=Verdict.NO_DATA, samples=0, details={"errors": [errors[-1]]})
    prometheus = bool((table["source"] == "prometheus").any())
    total = float(table["requests"].sum())
    if not total:
        return SliValue(unknown=Verdict.NO_DATA, samples=0)
    items = total if prometheus else int(total)
    cost = float(table["cost"].sum())
    details = {
        "cost_usd": cost,
        "items": items,
        "external_cost_usd": float(table["cost_external"].sum()),
        "source": "prometheus" if prometheus else "logs",
    }
    if not prometheus:
        details["external_share"] = int(table["external"].sum()) / total
    if slo.sli.kind == "cost_per_1k":
        return SliValue(value=cost / total * 1000, samples=items, details=details)
    covered = min(end, at) - start
    per_day = cost * (timedelta(days=1) / covered) if covered > timedelta(0) else cost
    return SliValue(value=per_day, samples=items, details={**details, "spend_so_far": cost})
