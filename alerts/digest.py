"""The daily digest for leadership: per signal, SLOs met, the lowest error budget left, the
SLOs whose budget is spent (the error-budget policy's release freeze, whatever their state),
yesterday's spend and external-API share, and the day's incidents (an alert superseded by a
page, or a grouped SLO's alert recorded as part of a signal-level one, is not an incident of
its own). Posted like an alert (through the outbox) to the digest channel."""

from __future__ import annotations

from datetime import datetime, timedelta

from sigwatch.clock import floor_time
from sigwatch.model import Registry
from sigwatch.states import OutboxKind, SloState
from sigwatch.store.alerts import AlertTables
from sigwatch.units import short_span

DAY = timedelta(days=1)


def build_digest(records: AlertTables, registry: Registry, at: datetime) -> tuple[str, list[dict]]:
    store = records.store
    day_end = floor_time(at, DAY)
    day_start = day_end - DAY
    latest = {(s.signal, s.slo): s for s in store.latest_status()}
    lines, total_spend, exhausted = [], 0.0, 0
    for signal in registry:
        rows = [latest.get((signal.name, slo.name)) for slo in signal.slos]
        known = [r for r in rows if r is not None]
        # an SLO whose window's budget is spent is not met, whatever its state now
        met = sum(1 for r in known if r.state is SloState.OK and not r.budget_exhausted)
        budgets = [r.budget_remaining for r in known if r.budget_remaining is not None]
        spend, share = _spend(store, signal, day_start, day_end)
        total_spend += spend or 0.0
        attention = sorted({r.slo for r in known if r.state in (SloState.WARNING, SloState.BREACH)})
        spent = [f"{r.slo} {r.budget_remaining:.0%}" for r in known if r.budget_exhausted]
        exhausted += len(spent)
        lines.append(
            f"*{signal.name}* ({signal.owner}): {met}/{len(signal.slos)} SLOs ok"
            + (f", lowest budget left {min(budgets):.0%}" if budgets else "")
            + (f", spend ${spend:,.2f}" if spend is not None else ", spend: no data")
            + (f" ({share:.0%} external API)" if share is not None else "")
            + (f" — needs attention: {', '.join(attention)}" if attention else "")
            + (f" — *error budget spent* (release freeze): {', '.join(spent)}" if spent else "")
        )
    opened = [
        a
        for a in records.alerts(include_resolved=True, limit=2000)
        if day_start <= a.started_at < day_end
    ]
    incidents = [
        f"• {a.key} {a.started_at:%H:%M}"
        + (
            f" to {a.resolved_at:%H:%M} ({short_span(a.resolved_at - a.started_at)})"
            if a.resolved_at
            else " (still open)"
        )
        for a in sorted(opened, key=lambda a: a.started_at)
        if a.incident
    ]
    title = f"sigwatch daily digest for {day_start:%Y-%m-%d} (UTC)"
    text = f"{title}: {len(incidents)} incident(s), spend ${total_spend:,.2f}" + (
        f", {exhausted} SLO(s) with the error budget spent" if exhausted else ""
    )
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f"*Incidents of the day* ({len(incidents)})\n"
                    + ("\n".join(incidents) or "none")
                )[:2900],
            },
        },
    ]
    return text, blocks


def post_digest(records: AlertTables, registry: Registry, channel: str, at: datetime) -> int:
    text, blocks = build_digest(records, registry, at)
    return records.enqueue(None, OutboxKind.DIGEST, channel, text, blocks, at)


def _spend(store, signal, start: datetime, end: datetime) -> tuple[float | None, float | None]:
    for slo in signal.slos:
        if not slo.sli.spend:
            continue
        for m in store.measurements(signal.name, slo.name, start, end):
            if m.start == start and m.cost is not None:
                return m.cost.cost_usd, m.cost.external_share
    return None, None
