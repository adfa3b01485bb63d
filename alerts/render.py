"""An alert as a Slack message: a plain-text fallback (notifications, webhooks) and Block Kit.

The message carries what on-call needs to decide without opening anything: signal and SLO,
state and severity, the value against its target or objective, the burn-rate rule that fired,
the error budget left, for quality SLOs the interval and label count, for grouped SLOs the
groups alerting, where the bad events come from (``monitors.suspects``), the owner, and
links to the runbook and the signal's console page."""

from __future__ import annotations

from datetime import UTC, datetime, time
from urllib.parse import quote

from alerts.model import (
    ACKNOWLEDGED,
    FIRING,
    MONITOR,
    PAGE,
    RESOLVED,
    STALE,
    TICKET,
    Alert,
    Policy,
)
from sigwatch.model import Signal, group_label
from sigwatch.states import EstimateCheck, ListedGroup, Outcome

ICONS = {
    (PAGE, FIRING): ":red_circle:",
    (TICKET, FIRING): ":large_orange_circle:",
    ACKNOWLEDGED: ":eyes:",
    RESOLVED: ":white_check_mark:",
}


def slack_escape(text: str) -> str:
    """Text for Slack's mrkdwn: ``&``, ``<`` and ``>`` as entities, so a name typed by a
    person or a value from the logs such as ``<!channel>`` shows as written and pings nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def console_link(base: str | None, signal: str) -> str | None:
    """The signal's console page (the console serves it at ``/signal?signal=NAME``)."""
    return f"{base.rstrip('/')}/signal?signal={quote(signal)}" if base else None


def render_alert(alert: Alert, signal: Signal, policy: Policy) -> tuple[str, list[dict]]:
    icon = ICONS.get(alert.state) or ICONS[(alert.severity, FIRING)]
    state = alert.state.upper()
    title = f"{icon} {state} [{alert.severity}] {alert.signal} / {alert.slo}"
    check = alert.estimate
    if check is not None and check.outcome is None:
        title += " (estimated)"  # opened on an estimate: its labels have not landed yet
    seen, failure = alert.seen, alert.failure
    value = _value(alert)
    mention = (
        f"{policy.mention} "
        if policy.mention and alert.severity == PAGE and alert.state == FIRING
        else ""
    )
    text = f"{mention}{title}: {value}"
    fields = [f"*Value*\n{value}"]
    if alert.slo == STALE:
        why = f"no eligible predictions since before {_slice(seen.at)}" if seen else "no data"
        fields.append(f"*Why*\n{why}")
    elif alert.slo == MONITOR:
        # the error names files and columns of the logs: shown as written
        reason = failure.reason if failure else "?"
        fields.append(f"*Error*\n{slack_escape(reason)[:1500]}")
        last_ok = failure.last_ok if failure else None
        fields.append(f"*Last good run*\n{_slice(last_ok) if last_ok else 'none recorded'}")
    elif alert.fired and alert.fired != "slice":
        fired = next((f for f in seen.fired if f.rule == alert.fired), None) if seen else None
        if fired:
            fields.append(
                f"*Burn rate*\n{fired.long_burn:.1f}x / {fired.short_burn:.1f}x over "
                f"{alert.fired} (rule: {fired.factor:.1f}x, {fired.severity})"
            )
    elif alert.fired == "slice":
        why = " (its whole 95% interval misses)" if seen and seen.ci_low is not None else ""
        if seen is not None and seen.verdict_from is not None and seen.verdict_from.estimate:
            why = f" by its {seen.verdict_from} estimate (the whole band misses)"
        fields.append(f"*Slice*\n{_slice(alert.slice)} is bad{why}")
    if check is not None:
        fields.append(f"*Estimate*\n{estimate_line(check)}")
    if seen is not None and seen.budget_remaining is not None:
        fields.append(f"*Error budget left*\n{seen.budget_remaining:.0%}")
    fields.append(f"*Owner*\n{signal.owner}")
    fields.append(f"*Since*\n{alert.started_at:%Y-%m-%d %H:%M} UTC")
    if alert.state == RESOLVED and alert.resolved_at:
        fields.append(f"*Resolved*\n{alert.resolved_at:%Y-%m-%d %H:%M} UTC")
    if alert.acknowledged_by:
        # whoever acked names themselves (``ack --by``): shown as written, never a ping
        fields.append(f"*Acknowledged by*\n{slack_escape(alert.acknowledged_by)}")
    links = []
    slo = next((s for s in signal.slos if s.name == alert.slo), None)
    if slo is not None and slo.alerting.runbook:
        links.append(f"<{slo.alerting.runbook}|Runbook>")
    elif alert.slo == MONITOR and policy.runbooks_url:
        links.append(f"<{policy.runbooks_url}#monitor|Runbook>")
    console = console_link(policy.console_url, alert.signal)
    if console:
        links.append(f"<{console}|Console: {alert.signal}>")
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
    ]
    if mention:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": mention.strip()}})
    blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]})
    if alert.groups and alert.state != RESOLVED:
        # Group values come from the logs too: plain text.
        listed = "; ".join(_group(g) for g in alert.groups)
        text_block = {"type": "plain_text", "emoji": False, "text": f"Groups: {listed}"}
        blocks.append({"type": "section", "text": text_block})
    if alert.suspects and alert.state != RESOLVED:
        # Slice values come from the logs: plain text, so a community named "<!channel>" or
        # "*urgent*" neither pings nor formats.
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "plain_text",
                    "emoji": False,
                    "text": "Where it comes from: "
                    + "; ".join(s.sentence() for s in alert.suspects),
                },
            }
        )
    if links:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]}
        )
    if policy.buttons:
        actions = buttons(alert)
        if actions is not None:
            blocks.append(actions)
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"alert `{alert.key}` · sigwatch"}],
        }
    )
    return text, blocks


ACK_ACTION = "sigwatch_ack"
SILENCE_ACTION = "sigwatch_silence_1h"


def buttons(alert: Alert) -> dict | None:
    """What on-call can do from the message (``alerts.actions`` answers the clicks): a firing
    alert can be acknowledged or silenced for an hour, an acknowledged one silenced; the value
    is the alert's id, so a click on an old message never touches a newer alert of the same
    key."""
    if alert.state == RESOLVED or alert.id is None:
        return None
    elements = []
    if alert.state == FIRING:
        elements.append(_button("Acknowledge", ACK_ACTION, alert.id, style="primary"))
    elements.append(_button("Silence 1h", SILENCE_ACTION, alert.id))
    return {"type": "actions", "block_id": f"sigwatch_alert_{alert.id}", "elements": elements}


def _button(label: str, action: str, alert_id: int, style: str | None = None) -> dict:
    button = {
        "type": "button",
        "action_id": action,
        "value": str(alert_id),
        "text": {"type": "plain_text", "text": label},
    }
    if style:
        button["style"] = style
    return button


def _value(alert: Alert) -> str:
    seen, failure = alert.seen, alert.failure
    v = alert.last_value
    if alert.slo == STALE:
        return "no data"
    if alert.slo == MONITOR:
        since = _slice(failure.since) if failure else "?"
        failures = failure.failures if failure else "?"
        return f"the monitor failed {failures} runs in a row, since {since}"
    if v is None or seen is None:
        return seen.state if seen else "no value"
    if seen.target:  # a timeslice SLO: value per slice against a target
        shown = f"{v:.3f}"
        by = seen.verdict_from
        if by is not None and by.estimate and seen.ci_low is not None:
            shown += (
                f" estimated by {by} (band {seen.ci_low:.3f} to {seen.ci_high:.3f}, "
                f"{seen.samples:,} predictions; too few labels yet)"
            )
        elif seen.ci_low is not None and seen.ci_high is not None:
            shown += f" (95% CI {seen.ci_low:.3f} to {seen.ci_high:.3f}, {seen.samples} labels)"
        return f"{shown} vs target {seen.target} ({seen.objective:.0%} of slices)"
    # an occurrence SLO: its value is the share of good events
    return f"{v:.2%} good vs objective {seen.objective:.2%}"


def estimate_line(check: EstimateCheck) -> str:
    """An estimate's alert: what it opened on, and what the labels said once they landed."""
    opened = (
        f"opened on {check.method}'s estimate of {_slice(check.slice)}: {check.value:.3f} "
        f"[{check.lower:.3f}, {check.upper:.3f}]"
    )
    return f"{opened}; {settled_line(check) if check.outcome else 'awaiting its labels'}"


def settled_line(check: EstimateCheck) -> str:
    """What the labels said of an estimate's alert: ``confirmed by 212 labels: 0.710 [0.650,
    0.770]``, ``labels disagree: 0.912 [0.880, 0.930] (212 labels)``, or that they never
    came."""
    labels = check.labels
    if labels is None or labels.value is None:
        return f"unconfirmed: the labels of {_slice(check.slice)} never reached min_labels"
    figures = f"{labels.value:.3f}"
    if labels.ci_low is not None and labels.ci_high is not None:
        figures += f" [{labels.ci_low:.3f}, {labels.ci_high:.3f}]"
    if check.outcome is Outcome.CONFIRMED:
        return f"confirmed by {labels.samples:,} labels: {figures}"
    return f"labels disagree: {figures} ({labels.samples:,} labels)"


def _group(group: ListedGroup) -> str:
    """``community=headphones (burn 22.0x, 91.20% good)``; a group held after it stopped
    alerting says so."""
    facts = []
    if group.clear_since is not None:
        facts.append("clear, held")
    elif group.burn:
        facts.append(f"burn {group.burn:.1f}x")
    if group.value is not None:
        facts.append(f"value {group.value:.3f}")
    return group_label(group.group) + (f" ({', '.join(facts)})" if facts else "")


def _slice(start: datetime | None) -> str:
    """A day as ``2026-11-27``, another time as ``2026-11-27 08:00 UTC``."""
    if start is None:
        return "?"
    start = start.astimezone(UTC)
    if start.time() == time(0):
        return f"{start:%Y-%m-%d}"
    return f"{start:%Y-%m-%d %H:%M} UTC"
