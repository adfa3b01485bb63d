"""Alerts: SLO states -> an on-call lifecycle -> Slack.

    monitors' SloStatus rows ──> lifecycle.Lifecycle.evaluate ──> alerts (firing,
    acknowledged, resolved; silenced or not) ──> outbox rows ──> delivery.flush ──> a notifier
    (notifiers.slack: chat.postMessage / chat.update / thread replies; notifiers.webhook)

Nothing is sent that was not first written to the outbox, and nothing written there is sent
twice: the outbox id travels with the message (Slack message metadata), so a send interrupted
by a crash is looked up before it is retried.
"""
