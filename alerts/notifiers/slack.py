"""Slack's Web API through ``slack_sdk.WebClient``: the alert's message is ``chat.postMessage``,
changes are ``chat.update`` on its ``ts`` plus a reply in its thread (``thread_ts``).

Every message carries the outbox id in its metadata, so a send whose outcome is unknown (a
timeout after Slack may have accepted it) is looked up in the channel's history or the thread
before it is sent again: a restart never posts twice. The definitions name channels
(``#acu-oncall``), which only ``chat.postMessage`` accepts: history, replies and edits want the
channel's id. An id is learnt from every post (Slack answers with it) or, for a channel never
posted to, looked up once by name (``conversations.list``), and kept (``channels``).

429 honours ``Retry-After`` and 5xx and connection errors are retried with backoff (slack_sdk's
retry handlers) before the item is left queued for the next flush."""

from __future__ import annotations

import random
import re
import threading
from typing import Protocol
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
from sigwatch.states import OutboxKind

TRANSIENT = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
# A channel id (public C..., private G..., direct D...), as opposed to a name.
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{8,}")


class ChannelIds(Protocol):
    """Where channel ids learnt by name are kept."""

    def get(self, name: str) -> str | None: ...

    def put(self, name: str, channel_id: str) -> None: ...


class MemoryChannelIds:
    """Channel ids for this process only."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> str | None:
        with self._lock:
            return self._ids.get(name)

    def put(self, name: str, channel_id: str) -> None:
        with self._lock:
            self._ids[name] = channel_id


class StoreChannelIds:
    """Channel ids kept in the store (``slack_channels``): a restarted process, or another
    host's, knows them without asking Slack."""

    def __init__(self, store) -> None:
        self.store = store

    def get(self, name: str) -> str | None:
        return self.store.alerts.slack_channel_id(name)

    def put(self, name: str, channel_id: str) -> None:
        self.store.alerts.remember_slack_channel(name, channel_id, self.store.now())


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
        self,
        token: Secret,
        api_url: str = "https://slack.com/api/",
        *,
        timeout: float = 10,
        retries: int = 2,
        backoff: float = 0.5,
        channels: ChannelIds | None = None,
    ) -> None:
        self.channels = channels if channels is not None else MemoryChannelIds()
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
            if item.kind in (OutboxKind.POST, OutboxKind.DIGEST):
                out = self.client.chat_postMessage(
                    channel=item.channel, text=item.text, blocks=item.blocks, metadata=metadata
                )
                if out.get("channel") and not CHANNEL_ID.fullmatch(item.channel):
                    self.channels.put(_name(item.channel), out["channel"])
            elif item.kind == OutboxKind.UPDATE:
                channel, ts = self._thread(alert)
                out = self.client.chat_update(
                    channel=channel, ts=ts, text=item.text, blocks=item.blocks
                )
            elif item.kind == OutboxKind.REPLY:
                channel, ts = self._thread(alert)
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

    def find(self, item: OutboxItem, alert: Alert | None) -> tuple[str, str | None] | None:
        if item.kind == OutboxKind.UPDATE:
            return None  # an edit is safe to repeat
        oldest = (item.sending_at or item.created_at).timestamp() - 60
        try:
            if item.kind == OutboxKind.REPLY:
                channel, ts = self._thread(alert)
                page = self.client.conversations_replies(
                    channel=channel,
                    ts=ts,
                    oldest=f"{oldest:.6f}",
                    include_all_metadata=True,
                    limit=200,
                )
            else:
                channel = self.channel_id(item.channel)
                page = self.client.conversations_history(
                    channel=channel,
                    oldest=f"{oldest:.6f}",
                    include_all_metadata=True,
                    limit=200,
                )
        except SlackApiError as exc:
            raise _classify(exc) from None
        for message in page.get("messages", []):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("outbox_id") == item.id:
                return message.get("ts"), channel
        return None

    def upload(self, channel: str, files: list[tuple[str, bytes, str]], comment: str) -> list[str]:
        """Share ``files`` (name, content, title) in ``channel`` with ``comment`` as one message
        (Slack's external upload: a URL per file, the bytes, then completion); their ids."""
        try:
            answer = self.client.files_upload_v2(
                channel=self.channel_id(channel),
                file_uploads=[
                    {"content": body, "filename": name, "title": title}
                    for name, body, title in files
                ],
                initial_comment=comment,
            )
        except SlackApiError as exc:
            raise _classify(exc) from None
        except (OSError, URLError) as exc:
            raise Retryable(f"upload failed: {type(exc).__name__}") from None
        return [f["id"] for f in answer.get("files", [])]

    def channel_id(self, channel: str) -> str:
        """The id of a channel given by id or by name (``#acu-oncall``): kept, learnt from a
        post, or looked up once in the channels this app can see."""
        if CHANNEL_ID.fullmatch(channel):
            return channel
        name = _name(channel)
        known = self.channels.get(name)
        if known is not None:
            return known
        cursor = None
        while True:
            page = self.client.conversations_list(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=200,
                cursor=cursor,
            )
            for found in page.get("channels", []):
                if found.get("name") == name:
                    self.channels.put(name, found["id"])
                    return found["id"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        raise Permanent(
            f"Slack has no channel #{name} this app can see: invite the app to it, or give it "
            "the channels:read and groups:read scopes"
        )

    def _thread(self, alert: Alert | None) -> tuple[str, str]:
        """The channel id and ``ts`` of an alert's message."""
        if alert is None or not alert.slack_ts:
            raise Permanent("the alert's message was never delivered, so it cannot be edited")
        return self.channel_id(alert.slack_channel or alert.channel), alert.slack_ts


def _name(channel: str) -> str:
    return channel.removeprefix("#")


def _classify(exc: SlackApiError) -> Exception:
    status = getattr(exc.response, "status_code", 0) or 0
    error = exc.response.get("error") if hasattr(exc.response, "get") else None
    text = f"Slack answered {status}: {error or 'no error code'}"
    if status == 429 or status >= 500 or error in TRANSIENT:
        return Retryable(text)
    return Permanent(text)
