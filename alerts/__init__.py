"""The on-call alert lifecycle and its notifiers.

Not built yet (issue: "Alerts: the on-call lifecycle, posted to Slack"). It will turn SLO states
into deduplicated alerts (firing, acknowledged, resolved, silenced) and deliver them through an
outbox to Slack (slack_sdk). It may import the kernel (``sigwatch``) and ``monitors``.
"""
