"""A Slack incoming webhook (``slack_sdk.webhook.WebhookClient``), for teams without a bot.

A webhook can only post: an alert's changes are posted as short messages of their own naming
the alert, and an edit is skipped (its reply carries the news). Webhook messages have no
``ts`` to look up, so a send interrupted mid-way may be repeated once (at least once)."""

from __future__ import annotations

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from alerts.model import Alert, OutboxItem
from alerts.notifiers import Permanent, Retryable
from sigwatch.settings import Secret
from sigwatch.states import OutboxKind


class WebhookNotifier:
    name = "webhook"

    def __init__(self, url: Secret, *, timeout: float = 10, retries: int = 2) -> None:
        self.client = WebhookClient(
            url.reveal(),
            timeout=int(max(1, timeout)),
            retry_handlers=[
                RateLimitErrorRetryHandler(max_retry_count=retries),
                ServerErrorRetryHandler(max_retry_count=retries),
                ConnectionErrorRetryHandler(max_retry_count=retries),
            ],
        )

    def send(self, item: OutboxItem, alert: Alert | None) -> tuple[str | None, str | None]:
        if item.kind == OutboxKind.UPDATE:
            return None, None
        text = f"{alert.key}: {item.text}" if item.kind == OutboxKind.REPLY and alert else item.text
        blocks = item.blocks if item.kind != OutboxKind.REPLY else None
        response = self.client.send(text=text, blocks=blocks)
        if response.status_code == 429 or response.status_code >= 500:
            raise Retryable(f"webhook answered {response.status_code}")
        if response.status_code >= 400:
            raise Permanent(f"webhook answered {response.status_code}: {response.body[:200]}")
        return None, None

    def find(self, item: OutboxItem, alert: Alert | None) -> tuple[str, str | None] | None:
        return None
