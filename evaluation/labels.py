"""The ``judge_labels`` table: one row per judge call — a label, or the ``judge_error`` that
replaced it — keyed by (signal, item, purpose, model, prompt version)."""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.judge import JudgeClient, JudgeError, Rubric, Verdict
from sigwatch.model import DIMENSIONS
from sigwatch.store import Store, to_epoch


@dataclass(frozen=True)
class Call:
    """One judge call: its label, or the ``judge_error`` that replaced it."""

    label: str | None
    error: str | None
    cost_usd: float
    latency_ms: float | None


def stored(store: Store, signal: str, item: str, purpose: str, model: str, version: str):
    """The stored ``Call`` for this item, purpose, model and prompt version, or None."""
    row = store.execute(
        "SELECT label, error, cost_usd, latency_ms FROM judge_labels WHERE signal = ?"
        " AND item_id = ? AND purpose = ? AND model = ? AND prompt_version = ?",
        (signal, item, purpose, model, version),
    ).fetchone()
    return None if row is None else Call(row[0], row[1], row[2] or 0.0, row[3])


def call(store: Store, client: JudgeClient, signal: str, item: str, text: str, rubric: Rubric,
         purpose: str, *, meta: dict | None = None, salt: int = 0) -> Call:  # fmt: skip
    """Ask the judge and store the answer — or, when its retries are spent, the error."""
    try:
        verdict = client.judge(text, rubric, salt=salt)
    except JudgeError as exc:
        error = f"judge_error: {exc.kind}"
        record(store, signal, item, purpose, client.model, rubric.version, error=error, meta=meta)
        return Call(None, error, 0.0, None)
    record(store, signal, item, purpose, client.model, rubric.version, verdict=verdict, meta=meta)
    return Call(verdict.label, None, verdict.cost_usd, verdict.latency_ms)


def record(store: Store, signal: str, item: str, purpose: str, model: str, version: str, *,
           verdict: Verdict | None = None, error: str | None = None,
           meta: dict | None = None) -> None:  # fmt: skip
    """Store a verdict, or (``verdict`` None) the error that replaced it."""
    v, meta = verdict, meta or {}
    store.execute(
        "INSERT OR REPLACE INTO judge_labels (signal, item_id, purpose, label, error, rationale,"
        " confidence, model, prompt_version, tokens_in, tokens_out, latency_ms, cost_usd,"
        " labeled_at, event_time, predicted, stratum, weight, " + ", ".join(DIMENSIONS) + ")"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (signal, item, purpose, v and v.label, error, v and v.rationale, v and v.confidence,
         v.model if v else model, version, v and v.tokens_in, v and v.tokens_out,
         v and v.latency_ms, v.cost_usd if v else 0.0, to_epoch(store.now()),
         meta.get("event_time"), meta.get("predicted"), meta.get("stratum"), meta.get("weight"),
         *(meta.get(d) for d in DIMENSIONS)),
    )  # fmt: skip
