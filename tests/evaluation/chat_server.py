"""A local server speaking OpenAI's chat-completions API for the judge's tests. By default it
answers with the label ``answer(post)`` returns; ``plan`` queues misbehaviour for the next
calls: "malformed" (not JSON), "missing" (no confidence), "wrong_label", "429", "500", "hang"."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY = "sk-test-JUDGE-KEY-never-print"


class ChatServer:
    def __init__(self, answer) -> None:
        self.answer = answer
        self.plan: deque = deque()
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.hang_seconds = 3.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.headers.append(dict(self.headers))
                behaviour = fake.plan.popleft() if fake.plan else "ok"
                if behaviour == "hang":
                    time.sleep(fake.hang_seconds)
                    behaviour = "ok"
                if behaviour == "429":
                    return self._send(429, {"error": "rate limited"}, {"Retry-After": "1"})
                if behaviour == "500":
                    return self._send(500, {"error": "boom"})
                post = body["messages"][-1]["content"]
                answer = {"label": fake.answer(post), "rationale": "because", "confidence": 0.9}
                if behaviour == "wrong_label":
                    answer["label"] = "poem"
                if behaviour == "missing":
                    del answer["confidence"]
                content = "Sure! here it is" if behaviour == "malformed" else json.dumps(answer)
                self._send(
                    200,
                    {
                        "model": body["model"],
                        "object": "chat.completion",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 300, "completion_tokens": 20},
                    },
                )

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
