"""What the judge did and how far to trust it, read from the store: the latest calibration,
and per day of judged traffic the calls, errors, cost, self-consistency and the
judge-corrected precision of each predicted class (``sigwatch judge report``, the console)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sigwatch.calibration import CalibrationError, Corrected, latest_calibration, weighted_share
from sigwatch.store import Store

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
    calls = store.judge.monitoring_calls(signal, since, until)
    repeats = store.judge.consistency_labels(signal)
    out: dict[str, JudgedDay] = {}
    by_class: dict[tuple[str, str], tuple[list[bool], list[float]]] = {}
    latencies: dict[str, list[float]] = {}
    for c in calls:
        day = datetime.fromtimestamp(c.event_time, UTC).date().isoformat()
        d = out.setdefault(day, JudgedDay(day))
        d.calls += 1
        d.cost_usd += c.cost_usd or 0.0
        d.tokens += (c.tokens_in or 0) + (c.tokens_out or 0)
        if c.error is not None:
            d.errors += 1
            continue
        latencies.setdefault(day, []).append(c.latency_ms or 0.0)
        if c.item_id in repeats:
            d.repeats += 1
            d.repeats_agreeing += repeats[c.item_id] == c.label
        if cal is not None and (c.model, c.prompt_version) == (cal.model, cal.prompt_version):
            hits, weights = by_class.setdefault((day, c.predicted), ([], []))
            hits.append(c.label == c.predicted)
            weights.append(c.weight or 1.0)
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
