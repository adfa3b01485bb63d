"""A local HTTP server that speaks the part of Slack's Web API sigwatch uses: chat.postMessage
(with ``thread_ts`` and message metadata), chat.update, conversations.history and
conversations.replies (with ``include_all_metadata``), conversations.list (paginated by
cursor), an incoming-webhook path, a click's response_url, and file uploads
(files.getUploadURLExternal, the upload URL, files.completeUploadExternal). It checks the bearer
token, and can be told to answer the next calls with 429 + Retry-After, 500, 503 ("Slack is
down"), a permanent error, or to accept a message and then hang.

Like Slack, only chat.postMessage takes a channel's name (``#acu-oncall``); chat.update and
conversations.history/replies want its id (``C00000001``) and answer ``channel_not_found`` to a
name."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = "xoxb-test-0000-SECRET-TOKEN-do-not-print"
WEBHOOK_PATH = "/services/T000/B000/SECRETWEBHOOKdonotprint"
RESPONSE_PATH = "/actions/T000/respond"  # a click's response_url (ephemeral answers)
UPLOAD_PATH = "/upload/v1/"  # where files.getUploadURLExternal sends the bytes


class FakeSlack:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.messages: list[dict] = []  # every message, in the order accepted
        self.calls: list[tuple[str, float]] = []  # (method, time) of every request
        self.webhook_posts: list[dict] = []
        self.responses: list[dict] = []  # what was said to a clicker through a response_url
        self.files: dict[str, dict] = {}  # uploads by file id: name, bytes, title, channel
        self.shares: list[dict] = []  # completed uploads: channel, comment, file ids
        self.plan: deque = deque()  # behaviours for the next calls: "429", "500", "hang", ...
        self.down = False  # answer every call 503 while set
        self.hang_seconds = 3.0
        self.hang_posts = 0  # the next this many chat.postMessage: accept, then hang
        self.accepted = threading.Event()  # set when a hung post has been accepted
        self.channels: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/api/"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{WEBHOOK_PATH}"

    @property
    def response_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{RESPONSE_PATH}"

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def top_level(self, channel: str | None = None) -> list[dict]:
        return [
            m
            for m in self.messages
            if not m.get("thread_ts") and (channel is None or m["channel_name"] == channel)
        ]

    def replies(self, ts: str) -> list[dict]:
        return [m for m in self.messages if m.get("thread_ts") == ts]

    # --- the server -----------------------------------------------------------------------

    def add_channels(self, *names: str) -> None:
        """Channels that exist before anyone posts to them (they are listed)."""
        with self._lock:
            for name in names:
                self._channel_id(name)

    def _channel_id(self, name: str) -> str:
        """The id of a channel given by id or name (as chat.postMessage accepts either)."""
        if name in self.channels.values():
            return name
        return self.channels.setdefault(name, f"C{len(self.channels) + 1:08d}")

    def _known_id(self, channel: str) -> str | None:
        """``channel`` if it is a channel's id; None for a name (or an unknown id)."""
        return channel if channel in self.channels.values() else None

    def _channel_name(self, channel: str) -> str:
        return next((n for n, i in self.channels.items() if i == channel), channel)

    def _handle(self, method: str, body: dict) -> tuple[int, dict, dict]:
        with self._lock:
            self.calls.append((method, time.monotonic()))
            behaviour = self.plan.popleft() if self.plan else None
        if self.down:
            return 503, {}, {"ok": False, "error": "service_unavailable"}
        if behaviour == "429":
            return 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
        if behaviour == "500":
            return 500, {}, {"ok": False, "error": "internal_error"}
        if behaviour == "channel_not_found":
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if method == "chat.postMessage":
            with self._lock:
                ts = f"{1_800_000_000 + len(self.messages)}.{len(self.messages):06d}"
                channel = self._channel_id(body["channel"])
                message = {
                    "ts": ts,
                    "channel": channel,
                    "channel_name": self._channel_name(channel),
                    "text": body.get("text"),
                    "blocks": body.get("blocks"),
                    "thread_ts": body.get("thread_ts"),
                    "metadata": body.get("metadata"),
                    "edits": [],
                }
                self.messages.append(message)
                if self.hang_posts:
                    self.hang_posts -= 1
                    behaviour = "hang"
            if behaviour == "hang":
                self.accepted.set()
                time.sleep(self.hang_seconds)
            return 200, {}, {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "conversations.list":
            listed = sorted(self.channels.items(), key=lambda item: item[1])
            start = int(body.get("cursor") or 0)
            limit = int(body.get("limit") or 100)
            shown = listed[start : start + limit]
            page = [{"id": i, "name": n.removeprefix("#")} for n, i in shown]
            more = start + limit < len(listed)
            cursor = str(start + limit) if more else ""
            return (
                200,
                {},
                {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}},
            )
        if method in ("chat.update", "conversations.history", "conversations.replies"):
            channel = self._known_id(body.get("channel", ""))
            if channel is None:  # Slack wants an id here, not a name
                return 200, {}, {"ok": False, "error": "channel_not_found"}
        if method == "chat.update":
            for message in self.messages:
                if message["ts"] == body["ts"] and message["channel"] == channel:
                    message["edits"].append(
                        {"text": body.get("text"), "blocks": body.get("blocks")}
                    )
                    message["text"], message["blocks"] = body.get("text"), body.get("blocks")
                    return 200, {}, {"ok": True, "channel": channel, "ts": body["ts"]}
            return 200, {}, {"ok": False, "error": "message_not_found"}
        if method in ("conversations.history", "conversations.replies"):
            if method == "conversations.history":
                found = [m for m in self.messages if m["channel"] == channel and not m["thread_ts"]]
            else:
                found = [m for m in self.messages if m.get("thread_ts") == body["ts"]]
            keep = str(body.get("include_all_metadata")).lower() in ("1", "true")
            out = [{k: v for k, v in m.items() if keep or k != "metadata"} for m in found]
            return 200, {}, {"ok": True, "messages": out[::-1], "has_more": False}
        if method == "files.getUploadURLExternal":
            with self._lock:
                file_id = f"F{len(self.files) + 1:08d}"
                self.files[file_id] = {
                    "filename": body["filename"],
                    "length": int(body["length"]),
                    "bytes": None,
                    "title": None,
                    "channel": None,
                }
            url = f"http://127.0.0.1:{self._server.server_port}{UPLOAD_PATH}{file_id}"
            return 200, {}, {"ok": True, "upload_url": url, "file_id": file_id}
        if method == "files.completeUploadExternal":
            channel = self._known_id(body.get("channel_id", ""))
            if channel is None:
                return 200, {}, {"ok": False, "error": "channel_not_found"}
            shared = json.loads(body["files"])
            with self._lock:
                if any(self.files.get(f["id"], {}).get("bytes") is None for f in shared):
                    return 200, {}, {"ok": False, "error": "file_not_found"}
                for f in shared:
                    self.files[f["id"]].update(title=f.get("title"), channel=channel)
                self.shares.append(
                    {
                        "channel": channel,
                        "channel_name": self._channel_name(channel),
                        "comment": body.get("initial_comment"),
                        "files": [f["id"] for f in shared],
                    }
                )
            return (
                200,
                {},
                {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in shared]},
            )
        return 404, {}, {"ok": False, "error": "unknown_method"}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, headers: dict, payload) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a hang test)

            def _body(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                if raw and "json" in (self.headers.get("Content-Type") or ""):
                    return {**query, **json.loads(raw)}
                return {**query, **{k: v[0] for k, v in parse_qs(raw).items()}}

            def _route(self) -> None:
                path = urlparse(self.path).path
                if path.startswith(UPLOAD_PATH):  # the file's bytes, as they are
                    file_id = path.removeprefix(UPLOAD_PATH)
                    data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    known = fake.files.get(file_id)
                    if known is None or len(data) != known["length"]:
                        return self._reply(400, {}, b"bad upload")
                    known["bytes"] = data
                    return self._reply(200, {}, b"OK - " + str(len(data)).encode())
                body = self._body()
                if path == WEBHOOK_PATH:
                    with fake._lock:
                        fake.calls.append(("webhook", time.monotonic()))
                        behaviour = fake.plan.popleft() if fake.plan else None
                    if fake.down or behaviour == "500":
                        return self._reply(503 if fake.down else 500, {}, b"down")
                    fake.webhook_posts.append(body)
                    return self._reply(200, {}, b"ok")
                if path == RESPONSE_PATH:
                    fake.responses.append(body)
                    return self._reply(200, {}, b"ok")
                if not path.startswith("/api/"):
                    return self._reply(404, {}, {"ok": False, "error": "not_found"})
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._reply(200, {}, {"ok": False, "error": "invalid_auth"})
                status, headers, payload = fake._handle(path.removeprefix("/api/"), body)
                self._reply(status, headers, payload)

            do_GET = do_POST = _route

        return Handler
