"""The ``judge_labels`` table: one row per judge call — a label, or the ``judge_error`` that
replaced it — keyed by (signal, item, purpose, model, prompt version)."""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.judge import JudgeClient, JudgeError, Rubric, Verdict
from sigwatch.model import DIMENSIONS
from sigwatch.store import Store
from sigwatch.store.judge import JudgeCall


@dataclass(frozen=True)
class Call:
    """One judge call: its label, or the ``judge_error`` that replaced it."""

    label: str | None
    error: str | None
    cost_usd: float
    latency_ms: float | None


def stored(store: Store, signal: str, item: str, purpose: str, model: str, version: str):
    """The stored ``Call`` for this item, purpose, model and prompt version, or None."""
    found = store.judge.call(signal, item, purpose, model, version)
    if found is None:
        return None
    return Call(found.label, found.error, found.cost_usd or 0.0, found.latency_ms)


def call(
    store: Store,
    client: JudgeClient,
    signal: str,
    item: str,
    text: str,
    rubric: Rubric,
    purpose: str,
    *,
    meta: dict | None = None,
    salt: int = 0,
) -> Call:
    """Ask the judge and store the answer — or, when its retries are spent, the error."""
    try:
        verdict = client.judge(text, rubric, salt=salt)
    except JudgeError as exc:
        error = f"judge_error: {exc.kind}"
        record(store, signal, item, purpose, client.model, rubric.version, error=error, meta=meta)
        return Call(None, error, 0.0, None)
    record(store, signal, item, purpose, client.model, rubric.version, verdict=verdict, meta=meta)
    return Call(verdict.label, None, verdict.cost_usd, verdict.latency_ms)


def record(
    store: Store,
    signal: str,
    item: str,
    purpose: str,
    model: str,
    version: str,
    *,
    verdict: Verdict | None = None,
    error: str | None = None,
    meta: dict | None = None,
) -> None:
    """Store a verdict, or (``verdict`` None) the error that replaced it."""
    v, meta = verdict, meta or {}
    store.judge.put_call(
        JudgeCall(
            signal=signal,
            item_id=item,
            purpose=purpose,
            model=v.model if v else model,
            prompt_version=version,
            label=v and v.label,
            error=error,
            rationale=v and v.rationale,
            confidence=v and v.confidence,
            tokens_in=v and v.tokens_in,
            tokens_out=v and v.tokens_out,
            latency_ms=v and v.latency_ms,
            cost_usd=v.cost_usd if v else 0.0,
            event_time=meta.get("event_time"),
            predicted=meta.get("predicted"),
            stratum=meta.get("stratum"),
            weight=meta.get("weight"),
            **{d: meta.get(d) for d in DIMENSIONS},
        ),
        store.now(),
    )
