"""cost_per_1k and daily_spend over one slice, from the serving partials (US dollars); the
share served by the external API rides along in the details. When the partials carry
Prometheus counts (``prom_cost``), those are used; a slice with a failed Prometheus read is
``no_data``."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitors.partials import merge
from monitors.slis.base import Context, SliValue
from sigwatch.states import Verdict


def measure(ctx: Context, slo, start: datetime, end: datetime, at: datetime) -> SliValue:
    parts = ctx.serving(start, min(end, at))
    payload = merge(p.payload for p in parts)
    if "prom_error" in payload:
        return SliValue(
            unknown=Verdict.NO_DATA, samples=0, details={"errors": [payload["prom_error"]]}
        )
    prometheus = "prom_cost" in payload
    total = payload.get("prom_requests" if prometheus else "total", 0)
    if not total:
        return SliValue(unknown=Verdict.NO_DATA, samples=0)
    cost = payload.get("prom_cost" if prometheus else "cost", 0.0)
    external_cost = payload.get("prom_cost_external" if prometheus else "cost_external", 0.0)
    details = {
        "cost_usd": cost,
        "items": total,
        "external_cost_usd": external_cost,
        "source": "prometheus" if prometheus else "logs",
    }
    if not prometheus:
        details["external_share"] = payload.get("external", 0) / total
    if slo.sli.kind == "cost_per_1k":
        return SliValue(value=cost / total * 1000, samples=total, details=details)
    covered = min(end, at) - start
    per_day = cost * (timedelta(days=1) / covered) if covered > timedelta(0) else cost
    return SliValue(value=per_day, samples=total, details={**details, "spend_so_far": cost})
