"""Slack's Web API through ``slack_sdk.WebClient``: the alert's message is ``chat.postMessage``,
changes are ``chat.update`` on its ``ts`` plus a reply in its thread (``thread_ts``).

Every message carries the outbox id in its metadata, so a send whose outcome is unknown (a
timeout after Slack may have accepted it) is looked up in the channel's history or the thread
before it is sent again: a restart never posts twice. 429 honours ``Retry-After`` and 5xx and
connection errors are retried with backoff (slack_sdk's retry handlers) before the item is
left queued for the next flush."""

from __future__ import annotations

import random
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter

from alerts.model import Alert, OutboxItem
from alerts.notifiers import METADATA_EVENT, Permanent, Retryable
from sigwatch.settings import Secret

TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable",
             "request_timeout"}  # fmt: skip


class ShareJitter(Jitter):
    """Up to +50% of the interval (slack_sdk's default adds up to a whole second, which would
    dominate sub-second backoffs)."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)

    def recalculate(self, duration: float) -> float:
        return duration * (1 + 0.5 * self._random.random())


class SlackNotifier:
    name = "slack"

    def __init__(
        self, token: Secret, api_url: str = "https://slack.com/api/", *, timeout: float = 10,
        retries: int = 2, backoff: float = 0.5,
    ) -> None:  # fmt: skip
        backoff_calc = BackoffRetryIntervalCalculator(backoff_factor=backoff, jitter=ShareJitter())
        self.client = WebClient(
            token=token.reveal(),
            base_url=api_url if api_url.endswith("/") else api_url + "/",
            timeout=int(max(1, timeout)),
            retry_handlers=[
                RateLimitErrorRetryHandler(max_retry_count=retries),
                ServerErrorRetryHandler(max_retry_count=retries, interval_calculator=backoff_calc),
                ConnectionErrorRetryHandler(
                    max_retry_count=retries, interval_calculator=backoff_calc
                ),
            ],
        )

    def send(self, item: OutboxItem, alert: Alert | None) -> tuple[str | None, str | None]:
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"outbox_id": item.id}}
        try:
            if item.kind in ("post", "digest"):
                out = self.client.chat_postMessage(
                    channel=item.channel, text=item.text, blocks=item.blocks, metadata=metadata
                )
            elif item.kind == "update":
                channel, ts = _thread(alert)
                out = self.client.chat_update(
                    channel=channel, ts=ts, text=item.text, blocks=item.blocks
                )
            elif item.kind == "reply":
                channel, ts = _thread(alert)
                out = self.client.chat_postMessage(
                    channel=channel,
                    thread_ts=ts,
                    text=item.text,
                    blocks=item.blocks,
                    metadata=metadata,
                )
            else:
                raise Permanent(f"unknown outbox kind {item.kind!r}")
        except SlackApiError as exc:
            raise _classify(exc) from None
        except URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError):  # nothing left this machine
                raise Retryable(f"Slack unreachable: {exc.reason}") from None
            raise
        return out.get("ts"), out.get("channel")

    def find(self, item: OutboxItem, alert: Alert | None) -> str | None:
        if item.kind == "update":
            return None  # an edit is safe to repeat
        oldest = (item.sending_at or item.created_at).timestamp() - 60
        try:
            if item.kind == "reply":
                channel, ts = _thread(alert)
                page = self.client.conversations_replies(
                    channel=channel, ts=ts, oldest=f"{oldest:.6f}", include_all_metadata=True,
                    limit=200,
                )  # fmt: skip
            else:
                page = self.client.conversations_history(
                    channel=item.channel, oldest=f"{oldest:.6f}", include_all_metadata=True,
                    limit=200,
                )  # fmt: skip
        except SlackApiError as exc:
            raise _classify(exc) from None
        for message in page.get("messages", []):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("outbox_id") == item.id:
                return message.get("ts")
        return None


def _thread(alert: Alert | None) -> tuple[str, str]:
    if alert is None or not alert.slack_ts:
        raise Permanent("the alert's message was never delivered, so it cannot be edited")
    return alert.slack_channel or alert.channel, alert.slack_ts


def _classify(exc: SlackApiError) -> Exception:
    status = getattr(exc.response, "status_code", 0) or 0
    error = exc.response.get("error") if hasattr(exc.response, "get") else None
    text = f"Slack answered {status}: {error or 'no error code'}"
    if status == 429 or status >= 500 or error in TRANSIENT:
        return Retryable(text)
    return Permanent(text)
