"""The daily judge job of ``sigwatch serve`` (02:00 UTC): yesterday's sample of every signal
with a judge rubric, within the daily budget, after calibrating a judge model or prompt
version not seen before. A signal that fails is logged and the others
still run; no judge configured or installed is logged once a day, not raised."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from evaluation.calibrate import calibrate, gold_items
from evaluation.daily import DayRun, judge_day, yesterday
from evaluation.judge import Rubric
from evaluation.local import LocalJudgeError, open_judge
from monitors.scheduler import DAILY_RETRY_S, with_store
from sigwatch.clock import Clock, FixedClock, floor_time
from sigwatch.runtime import Runtime
from sigwatch.settings import Settings
from sigwatch.store import Store

log = logging.getLogger("sigwatch.judge")


def judge_yesterday(
    registry, data_dir: Path, settings: Settings, clock: Clock, store: Store
) -> dict[str, DayRun | str]:
    """Each judged signal's run of yesterday (UTC), or the error that stopped it."""
    start = yesterday(clock.now())
    signals = [s for s in registry if s.judge is not None]
    results: dict[str, DayRun | str] = {}
    if not signals:
        return results
    with open_judge(settings, data_dir) as client:
        for signal in signals:
            try:
                _calibrate_if_new(store, client, signal)
                results[signal.name] = judge_day(
                    store,
                    client,
                    signal,
                    data_dir,
                    start,
                    calls=settings.judge_daily_calls,
                    dollars=settings.judge_daily_dollars,
                    seed=0,
                )
            except Exception as exc:  # one signal's failure must not stop the others
                log.exception("judge run of %s on %s failed", signal.name, start.date())
                results[signal.name] = f"{type(exc).__name__}: {exc}"
    return results


JOB_TIME = timedelta(hours=2)  # the daily run judges yesterday at 02:00 UTC


def backfill(
    registry,
    data_dir: Path,
    store: Store,
    clock: FixedClock,
    client,
    start: datetime,
    end: datetime,
    *,
    calls: int,
    dollars: float,
    seed: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[DayRun]:
    """The daily run over past days, as ``sigwatch serve`` would have run it: a judge model or
    prompt version not seen before calibrated at ``start``, then each UTC day from ``start``
    judged at 02:00 the next day when that is before ``end``, its labels stamped then
    (``clock`` is ``store``'s, moved to each run's time), so a monitor backfill sees a day's
    labels only from when they existed. A day judged before is reused (``judge_day``
    resumes), so a second backfill costs no calls."""
    signals = [s for s in registry if s.judge is not None]
    first = floor_time(start, timedelta(days=1))
    days = []
    while first + timedelta(days=len(days) + 1) + JOB_TIME <= end:
        days.append(first + timedelta(days=len(days)))
    runs: list[DayRun] = []
    total, done = len(signals) * (len(days) + 1), 0
    for signal in signals:
        clock.set(start)
        _calibrate_if_new(store, client, signal)
        done += 1
        if progress:
            progress(f"{signal.name}: calibration", done, total)
        for day in days:
            clock.set(day + timedelta(days=1) + JOB_TIME)
            runs.append(
                judge_day(
                    store, client, signal, data_dir, day, calls=calls, dollars=dollars, seed=seed
                )
            )
            done += 1
            if progress:
                progress(f"{signal.name}: {day:%Y-%m-%d}", done, total)
    return runs


def _calibrate_if_new(store: Store, client, signal) -> None:
    """A new judge model or prompt version is measured on the gold set before its labels are
    used (the SLIs use only labels of the latest calibration's model and prompt)."""
    version = Rubric.of(signal).version
    if store.judge.calibrated(signal.name, client.model, version):
        return
    try:
        items = gold_items(signal)
    except ValueError:
        return  # no gold set: nothing to calibrate on (its judge-based SLIs stay unknown)
    log.info(
        "calibrating judge %s (prompt %s) on %d gold items of %s",
        client.model,
        version,
        len(items),
        signal.name,
    )
    calibrate(store, client, signal, items)


def judge_job(data_dir: str, definitions: str, clock: Clock) -> None:
    runtime = Runtime.composed(data=data_dir, definitions=definitions, clock=clock)
    runtime.refresh()

    def work(store: Store) -> dict | None:
        with store.exclusive("judge:daily") as mine:
            if not mine:
                log.info("daily judge run: another scheduler is running it")
                return None
            try:
                return judge_yesterday(
                    runtime.registry, runtime.data_dir, runtime.settings, clock, store
                )
            except LocalJudgeError as exc:
                log.warning("daily judge run skipped: %s", exc)
                return None

    results = with_store(runtime, "the daily judge run", work, within=DAILY_RETRY_S)
    if results is None:
        return
    for name, run in results.items():
        if isinstance(run, str):
            continue
        log.info(
            "judged %s %s: %d labels, %d errors, $%.4f, self-consistency %s",
            name,
            run.day.date(),
            run.judged,
            run.errors,
            run.cost_usd,
            run.consistency,
        )
