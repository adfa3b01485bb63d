"""Calibrating the judge on a signal's human gold set: every gold post judged once per (model,
prompt version), stored in ``judge_labels`` (purpose ``calibration``), then kappa and per-class
TPR/TNR stored in ``judge_calibrations``. Judge errors are counted, never scored as labels."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evaluation.judge import JudgeClient, Rubric
from evaluation.labels import call, stored
from sigwatch.calibration import ClassRates, class_rates, cohen_kappa
from sigwatch.model import Signal
from sigwatch.store import Store, to_epoch
from sigwatch.store.judge import CalibrationRow

CALIBRATION = "calibration"


@dataclass(frozen=True)
class GoldItem:
    id: str
    text: str
    truth: str


@dataclass(frozen=True)
class Calibration:
    signal: str
    model: str
    prompt_version: str
    n: int
    errors: int
    kappa: float | None
    rates: dict[str, ClassRates]
    cost_usd: float


def gold_items(signal: Signal) -> list[GoldItem]:
    """The human gold set of a signal: the hand-labelled posts (content_type) or the
    CrowdFlower tweets' human sentiment (sentiment; the 400 most confident, by id order)."""
    from inference import datasets

    if signal.name == "content_type":
        return [GoldItem(p.id, p.text, p.content_type) for p in datasets.gold()]
    if signal.name == "sentiment":
        confident = [t for t in datasets.tweets() if t.confidence >= 0.99]
        return [GoldItem(t.id, t.text, t.sentiment) for t in confident[:400]]
    raise ValueError(f"no human gold set for {signal.name!r}; allowed: content_type, sentiment")


def calibrate(
    store: Store,
    client: JudgeClient,
    signal: Signal,
    items: Sequence[GoldItem],
    progress: Callable[[int, int], None] | None = None,
) -> Calibration:
    rubric = Rubric.of(signal)
    truth, judged, errors, cost = [], [], 0, 0.0
    for k, item in enumerate(items):
        done = stored(store, signal.name, item.id, CALIBRATION, client.model, rubric.version)
        done = done or call(store, client, signal.name, item.id, item.text, rubric, CALIBRATION)
        cost += done.cost_usd
        if done.error is not None:
            errors += 1
        else:
            truth.append(item.truth)
            judged.append(done.label)
        if progress:
            progress(k + 1, len(items))
    rates = class_rates(truth, judged, list(signal.classes)) if truth else {}
    result = Calibration(
        signal.name,
        client.model,
        rubric.version,
        len(items),
        errors,
        cohen_kappa(truth, judged) if truth else None,
        rates,
        cost,
    )
    per_class = {c: r.__dict__ for c, r in rates.items()}
    store.judge.put_calibration(
        CalibrationRow(
            signal.name,
            client.model,
            rubric.version,
            to_epoch(store.now()),
            result.n,
            errors,
            result.kappa,
            json.dumps(per_class),
            cost,
        )
    )
    return result
