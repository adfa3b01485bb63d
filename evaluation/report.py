"""What the judge did and how far to trust it, read from the store: the latest calibration,
and per day of judged traffic the calls, errors, cost, self-consistency and the
judge-corrected precision of each predicted class (``sigwatch judge report``, the console)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sigwatch.calibration import CalibrationError, Corrected, latest_calibration, weighted_share
from sigwatch.store import Store, to_epoch

MIN_FOR_ESTIMATE = 10


@dataclass
class JudgedDay:
    day: str
    calls: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    tokens: int = 0
    latency_ms: float = 0.0  # mean over successful calls
    repeats: int = 0
    repeats_agreeing: int = 0
    precision: dict[str, Corrected | str] = field(default_factory=dict)  # or why not


def days(store: Store, signal: str, since: datetime, until: datetime) -> list[JudgedDay]:
    """Judged traffic per UTC day of the predictions' event time, oldest first."""
    cal = latest_calibration(store, signal)
    rows = store.execute(
        "SELECT item_id, event_time, label, error, cost_usd, tokens_in, tokens_out, latency_ms,"
        " predicted, weight, model, prompt_version FROM judge_labels WHERE signal = ?"
        " AND purpose = 'monitoring' AND event_time >= ? AND event_time < ? ORDER BY event_time",
        (signal, to_epoch(since), to_epoch(until)),
    ).fetchall()
    repeats = dict(
        store.execute(
            "SELECT item_id, label FROM judge_labels WHERE signal = ? AND purpose = 'consistency'"
            " AND label IS NOT NULL",
            (signal,),
        ).fetchall()
    )
    out: dict[str, JudgedDay] = {}
    by_class: dict[tuple[str, str], tuple[list[bool], list[float]]] = {}
    latencies: dict[str, list[float]] = {}
    for row in rows:
        item, event, label, error, cost, t_in, t_out, latency, predicted, weight, *judge = row
        day = datetime.fromtimestamp(event, UTC).date().isoformat()
        d = out.setdefault(day, JudgedDay(day))
        d.calls += 1
        d.cost_usd += cost or 0.0
        d.tokens += (t_in or 0) + (t_out or 0)
        if error is not None:
            d.errors += 1
            continue
        latencies.setdefault(day, []).append(latency or 0.0)
        if item in repeats:
            d.repeats += 1
            d.repeats_agreeing += repeats[item] == label
        if cal is not None and tuple(judge) == (cal.model, cal.prompt_version):
            hits, weights = by_class.setdefault((day, predicted), ([], []))
            hits.append(label == predicted)
            weights.append(weight or 1.0)
    for day, d in out.items():
        d.latency_ms = sum(latencies.get(day, [])) / max(1, len(latencies.get(day, [])))
    for (day, cls), (hits, weights) in sorted(by_class.items()):
        if len(hits) < MIN_FOR_ESTIMATE:
            out[day].precision[cls] = f"{len(hits)} judged (< {MIN_FOR_ESTIMATE})"
            continue
        try:
            out[day].precision[cls] = weighted_share(hits, weights, cal.rates[cls])
        except CalibrationError as exc:
            out[day].precision[cls] = str(exc)
    return [out[k] for k in sorted(out)]
