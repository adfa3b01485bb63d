"""The ``judge_labels`` table: one row per judge call — a label, or the ``judge_error`` that
replaced it — keyed by (signal, item, purpose, model, prompt version)."""

from __future__ import annotations

from evaluation.judge import Verdict
from sigwatch.store import Store, to_epoch


def stored(store: Store, signal: str, item: str, purpose: str, model: str, version: str):
    """``(label, error, cost_usd)`` of a stored call, or None."""
    return store.execute(
        "SELECT label, error, cost_usd FROM judge_labels WHERE signal = ? AND item_id = ?"
        " AND purpose = ? AND model = ? AND prompt_version = ?",
        (signal, item, purpose, model, version),
    ).fetchone()


def record(store: Store, signal: str, item: str, purpose: str, model: str, version: str, *,
           verdict: Verdict | None = None, error: str | None = None,
           meta: dict | None = None) -> None:  # fmt: skip
    """Store a verdict, or (``verdict`` None) the error that replaced it."""
    v, meta = verdict, meta or {}
    store.execute(
        "INSERT OR REPLACE INTO judge_labels (signal, item_id, purpose, label, error, rationale,"
        " confidence, model, prompt_version, tokens_in, tokens_out, latency_ms, cost_usd,"
        " labeled_at, event_time, predicted, stratum, weight)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (signal, item, purpose, v and v.label, error, v and v.rationale, v and v.confidence,
         v.model if v else model, version, v and v.tokens_in, v and v.tokens_out,
         v and v.latency_ms, v.cost_usd if v else 0.0, to_epoch(store.now()),
         meta.get("event_time"), meta.get("predicted"), meta.get("stratum"), meta.get("weight")),
    )  # fmt: skip
