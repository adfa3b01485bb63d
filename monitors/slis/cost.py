"""cost_per_1k and daily_spend over one slice, from the serving partials (US dollars); the
share served by the external API rides along in the details."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitors.partials import merge
from monitors.slis.base import Context, SliValue


def measure(ctx: Context, slo, start: datetime, end: datetime, at: datetime) -> SliValue:
    parts = ctx.serving(start, min(end, at))
    payload = merge(p.payload for p in parts)
    total = payload.get("total", 0)
    if not total:
        return SliValue(unknown="no_data", samples=0)
    cost = payload.get("cost", 0.0)
    details = {
        "cost_usd": cost,
        "items": total,
        "external_share": payload.get("external", 0) / total,
        "external_cost_usd": payload.get("cost_external", 0.0),
    }
    if slo.sli.kind == "cost_per_1k":
        return SliValue(value=cost / total * 1000, samples=total, details=details)
    covered = min(end, at) - start
    per_day = cost * (timedelta(days=1) / covered) if covered > timedelta(0) else cost
    return SliValue(value=per_day, samples=total, details={**details, "spend_so_far": cost})
