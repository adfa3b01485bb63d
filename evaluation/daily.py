"""The daily judge job: label a seeded, stratified sample of one day's served predictions
within a budget of calls and dollars, and check the judge's self-consistency on a repeated
subset (the same posts with the label order shuffled differently).

Every call is stored in ``judge_labels``: purpose ``monitoring`` (with the prediction's event
time, the served label, its stratum and weight) or ``consistency``; a failed call is stored as
its ``judge_error``, never as a label. Re-running a day reuses what is stored for the same
model and prompt version, so an interrupted run resumes and a finished one costs nothing."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from evaluation.judge import JudgeClient, Rubric
from evaluation.labels import call, stored
from evaluation.sampling import stratified_sample
from monitors.logs import scan_content, scan_logs
from sigwatch.clock import floor_time
from sigwatch.model import DIMENSIONS, Signal
from sigwatch.store import Store, to_epoch

MONITORING = "monitoring"
CONSISTENCY = "consistency"
REPEAT_SHARE = 0.05  # of each day's budget, spent on repeats
MIN_FOR_REPEATS = 20  # below this many calls, no repeats


@dataclass
class DayRun:
    signal: str
    day: datetime
    served: int = 0
    strata: int = 0
    sampled: int = 0
    judged: int = 0
    reused: int = 0
    errors: int = 0
    no_text: int = 0
    cost_usd: float = 0.0
    budget_calls: int = 0
    budget_dollars: float = 0.0
    stopped: str | None = None  # why the run stopped before the end of its sample
    repeats: int = 0
    repeats_agreeing: int = 0
    labels: dict[str, int] = field(default_factory=dict)

    @property
    def consistency(self) -> float | None:
        return self.repeats_agreeing / self.repeats if self.repeats else None


def yesterday(now: datetime) -> datetime:
    """The start of the UTC day before ``now``'s: the day a daily run judges by default."""
    return floor_time(now, timedelta(days=1)) - timedelta(days=1)


def served(data_dir: Path, signal: Signal, start: datetime, end: datetime) -> pl.DataFrame:
    """The day's predictions that were served (status ``ok``), with where they were served
    (the dimension columns: a judge-labelled SLO may be grouped by them)."""
    columns = ["item_id", "status", "label", "score", *DIMENSIONS]
    logs = scan_logs(data_dir, signal, start, end, columns)
    if logs is None:
        return pl.DataFrame()
    return logs.filter(pl.col("status") == "ok").drop("status").collect()


def texts(data_dir: Path, signal: Signal, start: datetime, end: datetime, ids: list[str]) -> dict:
    """Post text by item id from the content snapshot ``<data>/content/signal=<name>/``."""
    content = scan_content(data_dir, signal, start, end)
    if content is None or not ids:
        return {}
    found = content.filter(pl.col("item_id").is_in(ids)).collect()
    return dict(found.iter_rows())


def expected_cost(store: Store, signal: str, model: str) -> float:
    """The mean cost of this judge's last 200 calls (0 when it has none)."""
    return store.judge.mean_cost(signal, model, last=200)


def judge_day(
    store: Store,
    client: JudgeClient,
    signal: Signal,
    data_dir: Path,
    start: datetime,
    *,
    calls: int,
    dollars: float,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> DayRun:
    """Judge the sample of the day starting at ``start`` (UTC midnight)."""
    rubric = Rubric.of(signal)
    end = start + timedelta(days=1)
    run = DayRun(signal.name, start, budget_calls=calls, budget_dollars=dollars)
    frame = served(data_dir, signal, start, end)
    run.served = len(frame)
    if frame.is_empty():
        run.stopped = "no served predictions that day"
        return run
    # The sample depends on the call budget and the seed only, so a re-run draws the same
    # sample and resumes; it is judged in a seeded shuffled order, so a run the dollar budget
    # stops early is still spread over all strata (weights are fixed up at the end).
    repeats = math.ceil(calls * REPEAT_SHARE) if calls >= MIN_FOR_REPEATS else 0
    day_seed = seed + start.toordinal()
    sample = stratified_sample(frame, calls - repeats, seed=day_seed)
    sample = sample.sample(fraction=1.0, shuffle=True, seed=day_seed)
    run.sampled, run.strata = len(sample), sample["stratum"].n_unique()
    # the sampler's weight is stratum rows / rows drawn: the stratum sizes, without a re-scan
    per_stratum = sample.group_by("stratum").agg(pl.col("weight").first(), pl.len())
    sizes = {name: round(w * n) for name, w, n in per_stratum.iter_rows()}
    post = texts(data_dir, signal, start, end, sample["item_id"].to_list())
    per_call = expected_cost(store, signal.name, client.model)
    done: dict[str, str] = {}  # item -> label, judged fine (this run or before)
    rows = sample.select("item_id", "event_time", "label", "stratum", *DIMENSIONS).iter_rows()
    for k, (item, event_time, predicted, stratum, *where) in enumerate(rows):
        prior = stored(store, signal.name, item, MONITORING, client.model, rubric.version)
        if prior is not None:
            run.reused += 1
            if prior.label is not None:
                done[item] = prior.label
        elif item not in post:
            run.no_text += 1
        elif run.cost_usd + per_call > dollars:
            run.stopped = f"dollar budget (${dollars:.2f}) spent"
            break
        else:
            meta = {
                "event_time": to_epoch(event_time),
                "predicted": predicted,
                "stratum": stratum,
                "weight": None,
                **dict(zip(DIMENSIONS, where, strict=True)),
            }
            label = _call(
                store, client, signal.name, item, post[item], rubric, MONITORING, run, meta
            )
            if label is not None:
                done[item] = label
            per_call = run.cost_usd / max(1, run.judged)
        if progress:
            progress(k + 1, len(sample))
    _reweight(store, signal.name, client.model, rubric.version, start, end, sizes)
    for item in list(done)[:repeats]:
        if run.cost_usd + per_call > dollars or item not in post:
            break
        again = stored(store, signal.name, item, CONSISTENCY, client.model, rubric.version)
        label = (
            again.label
            if again
            else _call(
                store, client, signal.name, item, post[item], rubric, CONSISTENCY, run, {}, salt=1
            )
        )
        if label is not None:
            run.repeats += 1
            run.repeats_agreeing += label == done[item]
    for label in done.values():
        run.labels[label] = run.labels.get(label, 0) + 1
    return run


def _reweight(store, signal, model, version, start, end, sizes: dict[str, int]) -> None:
    """Weight = the stratum's served rows / its rows the judge labelled (errors and a stopped
    run leave fewer), so weighted shares stay estimates over the whole day."""
    judged = store.judge.labelled_per_stratum(signal, model, version, start, end)
    for stratum, n in judged.items():
        weight = sizes.get(stratum, n) / n
        store.judge.set_weight(signal, model, version, stratum, start, end, weight)


def _call(store, client, signal, item, text, rubric, purpose, run, meta, salt=0) -> str | None:
    done = call(store, client, signal, item, text, rubric, purpose, meta=meta, salt=salt)
    run.errors += done.error is not None
    run.judged += purpose == MONITORING and done.error is None
    run.cost_usd += done.cost_usd
    return done.label
