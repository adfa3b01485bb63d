"""The judge: any server speaking OpenAI's chat-completions API (vLLM, Ollama, llama.cpp's
server, a hosted API) labels one post by a signal's rubric.

Each call: temperature 0, the rubric's label definitions in an order shuffled per post
(seeded by the post, so re-runs are identical and position bias averages out), its few-shot
examples, and a JSON-schema-constrained answer ``{label, rationale, confidence}``. An answer
that is not JSON, misses a field or names a label outside the rubric is retried; so are 429
(after ``Retry-After``), 5xx and timeouts. When the retries are spent the call raises
``JudgeError`` with its kind — the caller records a ``judge_error``, never a label. Every
verdict records the model, the prompt version, tokens, latency and cost (kept apart from
serving cost)."""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass, field

import httpx

from sigwatch.settings import Secret

PROMPT = "v1"
# How the answer's JSON schema is asked for: OpenAI's structured outputs (vLLM, Ollama, hosted
# APIs) or llama-cpp-python's server, which takes ``{"type": "json_object", "schema": ...}``.
FORMATS = {
    "json_schema": lambda schema: {
        "type": "json_schema",
        "json_schema": {"name": "label", "schema": schema, "strict": True},
    },
    "json_object": lambda schema: {"type": "json_object", "schema": schema},
}


@dataclass(frozen=True)
class Rubric:
    signal: str
    labels: dict[str, str]  # label -> definition
    examples: tuple[tuple[str, str], ...] = ()  # (post, label)
    instructions: str = ""

    @classmethod
    def of(cls, signal) -> Rubric:
        """The rubric in a signal's YAML (``signal.judge``)."""
        if signal.judge is None:
            raise ValueError(
                f"signal {signal.name!r} has no judge rubric; add 'judge:' (labels, examples) "
                "to its SLO file"
            )
        return cls(
            signal.name,
            dict(signal.judge.labels),
            tuple(signal.judge.examples),
            signal.judge.instructions,
        )

    @property
    def version(self) -> str:
        """Changes when anything the judge is told changes (then calibration is re-run)."""
        blob = json.dumps([PROMPT, self.labels, self.examples, self.instructions], sort_keys=True)
        return f"{PROMPT}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"

    def schema(self) -> dict:
        return {
            "type": "object",
            "properties": {
                "label": {"type": "string", "enum": sorted(self.labels)},
                "rationale": {"type": "string", "maxLength": 300},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["label", "rationale", "confidence"],
            "additionalProperties": False,
        }

    def messages(self, text: str, salt: int = 0) -> list[dict]:
        """The chat turns for ``text``; ``salt`` changes the label order (self-consistency)."""
        order = sorted(self.labels)
        random.Random(hashlib.sha256(f"{salt}:{text}".encode()).digest()).shuffle(order)
        definitions = "\n".join(f"- {name}: {self.labels[name]}" for name in order)
        system = (
            f"You label social-media posts for the signal '{self.signal}'. "
            f"{self.instructions}\nLabels:\n{definitions}\n"
            'Answer with JSON only: {"label": one of the labels, "rationale": one short '
            'sentence, "confidence": 0 to 1}.'
        )
        out = [{"role": "system", "content": system}]
        for post, label in self.examples:
            out.append({"role": "user", "content": post})
            out.append(
                {
                    "role": "assistant",
                    "content": json.dumps(
                        {"label": label, "rationale": "example", "confidence": 1.0}
                    ),
                }
            )
        out.append({"role": "user", "content": text})
        return out


@dataclass(frozen=True)
class Verdict:
    label: str
    rationale: str
    confidence: float
    model: str
    prompt_version: str
    tokens_in: int
    tokens_out: int
    latency_ms: float
    cost_usd: float
    attempts: int


@dataclass
class JudgeError(Exception):
    kind: str  # malformed | wrong_label | rate_limited | http | timeout | unreachable
    detail: str
    attempts: int = field(default=0)

    def __str__(self) -> str:
        return f"judge_error ({self.kind}) after {self.attempts} attempt(s): {self.detail}"


class JudgeClient:
    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key: Secret | None = None,
        timeout: float = 30,
        retries: int = 2,
        price_in_per_1k: float = 0.0,
        price_out_per_1k: float = 0.0,
        max_retry_after: float = 30,
        price_per_hour: float = 0.0,
        response_format: str = "json_schema",
    ) -> None:
        self.url = url.rstrip("/") + "/chat/completions"
        self.model, self.retries, self.max_retry_after = model, retries, max_retry_after
        self.prices = (price_in_per_1k, price_out_per_1k)
        # A self-hosted judge costs its machine's time: ``price_per_hour`` x the call's latency.
        self.price_per_hour = price_per_hour
        if response_format not in FORMATS:
            raise ValueError(f"response_format {response_format!r}; allowed: {', '.join(FORMATS)}")
        self.response_format = response_format
        headers = {"Authorization": f"Bearer {api_key.reveal()}"} if api_key else {}
        self._http = httpx.Client(timeout=timeout, headers=headers)

    def close(self) -> None:
        self._http.close()

    def judge(self, text: str, rubric: Rubric, salt: int = 0) -> Verdict:
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": rubric.messages(text, salt),
            "response_format": FORMATS[self.response_format](rubric.schema()),
        }
        last: JudgeError | None = None
        for attempt in range(1, self.retries + 2):
            started = time.perf_counter()
            try:
                response = self._http.post(self.url, json=body)
            except httpx.TimeoutException:
                last = JudgeError("timeout", "no answer in time", attempt)
                continue
            except httpx.TransportError as exc:
                last = JudgeError("unreachable", type(exc).__name__, attempt)
                continue
            latency_ms = (time.perf_counter() - started) * 1000
            if response.status_code == 429:
                wait = float(response.headers.get("Retry-After") or 1)
                last = JudgeError("rate_limited", f"429, Retry-After {wait:g}s", attempt)
                time.sleep(min(wait, self.max_retry_after))
                continue
            if response.status_code >= 400:
                last = JudgeError("http", f"status {response.status_code}", attempt)
                if response.status_code < 500:
                    break  # a 4xx will not get better by asking again
                time.sleep(min(0.2 * 2**attempt, 5))
                continue
            try:
                return self._verdict(response.json(), rubric, latency_ms, attempt)
            except JudgeError as exc:
                exc.attempts = attempt
                last = exc
        assert last is not None
        raise last

    def _verdict(self, payload: dict, rubric: Rubric, latency_ms: float, attempt: int) -> Verdict:
        try:
            content = payload["choices"][0]["message"]["content"]
            answer = json.loads(content)
            label, rationale = answer["label"], str(answer.get("rationale", ""))
            confidence = float(answer["confidence"])
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise JudgeError("malformed", f"{type(exc).__name__}: {exc}"[:200]) from None
        if label not in rubric.labels:
            raise JudgeError("wrong_label", f"{label!r} is not one of {sorted(rubric.labels)}")
        if not 0 <= confidence <= 1:
            raise JudgeError("malformed", f"confidence {confidence} is outside [0, 1]")
        usage = payload.get("usage") or {}
        tokens_in = int(usage.get("prompt_tokens", 0))
        tokens_out = int(usage.get("completion_tokens", 0))
        cost = tokens_in / 1000 * self.prices[0] + tokens_out / 1000 * self.prices[1]
        cost += latency_ms / 3.6e6 * self.price_per_hour
        model = str(payload.get("model", self.model))
        return Verdict(
            label,
            rationale[:300],
            confidence,
            model,
            rubric.version,
            tokens_in,
            tokens_out,
            latency_ms,
            cost,
            attempt,
        )
