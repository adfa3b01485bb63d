"""The demo's LLM judge: a local server speaking OpenAI's chat-completions API (what
``SIGWATCH_JUDGE_URL`` points at) that reads each post as the simulator means it — the truth
its data sets give the post, or the meaning a concept shift gave it — and is right on
``ACCURACY`` of the posts, a stable choice per post (wrong ones get another class, also stable).

It is a stand-in for a real judge on simulated traffic: a real model would not know what the
simulator decided a post means. The simulator shows it only posts it knows the meaning of
(``Replay.content``), so it is never asked what nobody knows. The judge pipeline it serves is
the product's own (``evaluation.daily.judge_day``, ``evaluation.calibrate``)."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl

from sigwatch.model import Registry

ACCURACY = 0.85
MODEL = "simulated-judge"
_SIGNAL = re.compile(r"for the signal '([^']+)'")


def idiom(signal: str, meaning: str) -> str:
    """The words a concept shift adds to the posts it re-means (a new hashtag, stable per
    signal and meaning): what the judge and people read, and the served model never saw."""
    return " #" + hashlib.sha256(f"{signal}:{meaning}".encode()).hexdigest()[:7]


def meanings(registry: Registry, corpus: pl.DataFrame) -> dict[str, dict[str, str]]:
    """Signal -> post text -> what the post means, for the judged signals whose truth the
    corpus carries (the gold posts are corpus rows, so calibration is covered)."""
    from simulator.traffic import TRUTH_COLUMN

    out: dict[str, dict[str, str]] = {}
    for signal in registry:
        column = TRUTH_COLUMN.get(signal.name)
        if signal.judge is None or column is None or signal.task != "multiclass":
            continue
        known = corpus.select("text", pl.col(column).cast(pl.Utf8)).drop_nulls()
        out[signal.name] = dict(known.unique("text", keep="first").iter_rows())
    return out


class SimulatedJudge:
    """The server, on 127.0.0.1 and a free port (or ``port``), until ``stop()``."""

    def __init__(
        self,
        registry: Registry,
        corpus: pl.DataFrame,
        *,
        accuracy: float = ACCURACY,
        port: int = 0,
    ) -> None:
        self.accuracy = accuracy
        self.known = meanings(registry, corpus)
        self.classes = {s.name: list(s.classes) for s in registry if s.name in self.known}
        self.idioms = {
            (name, idiom(name, c)): c for name, classes in self.classes.items() for c in classes
        }
        self.calls = 0
        judge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                try:
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                    signal = _SIGNAL.search(body["messages"][0]["content"]).group(1)
                    post = body["messages"][-1]["content"]
                    label = judge.read(signal, post)
                except (KeyError, ValueError, AttributeError, IndexError, TypeError) as exc:
                    return self._send(400, {"error": {"message": f"bad request: {exc}"}})
                judge.calls += 1
                answer = {"label": label, "rationale": "simulated", "confidence": 0.9}
                self._send(
                    200,
                    {
                        "model": body.get("model", MODEL),
                        "object": "chat.completion",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": json.dumps(answer)},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 300, "completion_tokens": 20},
                    },
                )

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def meaning(self, signal: str, post: str) -> str | None:
        """What ``post`` means for ``signal`` (None: the simulator does not know)."""
        for (name, words), meant in self.idioms.items():
            if name == signal and post.endswith(words):
                return meant
        return self.known.get(signal, {}).get(post)

    def read(self, signal: str, post: str) -> str:
        """The judge's label: the meaning on ``accuracy`` of posts, another class on the
        rest; a post it knows nothing of gets a stable guess."""
        if signal not in self.classes:
            raise ValueError(f"no simulated meanings for signal {signal!r}")
        classes = self.classes[signal]
        h = int(hashlib.sha256(f"{signal}\0{post}".encode()).hexdigest(), 16)
        right = self.meaning(signal, post)
        if right is None:
            return classes[h % len(classes)]
        if (h % 10_000) / 10_000 < self.accuracy:
            return right
        k = classes.index(right)
        return classes[(k + 1 + (h // 10_000) % (len(classes) - 1)) % len(classes)]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
