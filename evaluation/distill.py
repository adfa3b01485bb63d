"""Distilling content_type: the LLM judge (the teacher) labels an unlabelled slice, a MiniLM +
logistic-regression head (the student) learns the teacher's labels, and both are evaluated on
the held-out gold posts next to the in-house model trained on human labels.

- The unlabelled slice: the gold set's *training* posts with their human labels withheld,
  then packaged tweets and reviews (other domains), up to ``items``. The held-out gold posts
  (the same 25% split the in-house model holds out) are never shown to the student.
- Teacher labels are stored in ``judge_labels`` (purpose ``distill``): an interrupted run
  resumes, and a run stops before its dollar budget is spent.
- The model card compares teacher and student: macro-F1 with bootstrap intervals (and the
  paired difference), latency per item, cost per 1k items on the same $/hour basis.

The student's artifact and card are written to ``<data>/models/`` (generated, not committed);
the signal's YAML switches to it with ``model: {id: content-type-distilled}``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.judge import JudgeClient, Rubric
from evaluation.labels import call, stored
from inference import datasets
from inference.content_type import TEST_SHARE
from inference.content_type_distilled import MODEL_ID, VERSION, artifact_path, card_path
from inference.embeddings import embed
from inference.heads import HeadModel, fit_head
from inference.metrics import BOOTSTRAP, classification_report, macro_f1
from sigwatch.model import Signal
from sigwatch.store import Store

DISTILL = "distill"
CALIBRATION = "calibration"


@dataclass
class Distilled:
    artifact: Path
    card: Path
    taught: int  # teacher labels the student learned from
    new_calls: int
    errors: int
    cost_usd: float
    stopped: str | None
    summary: dict


def unlabelled(items: int) -> list[tuple[str, str]]:
    """``(id, text)`` of the slice, gold training posts first."""
    train, _ = datasets.gold_split(TEST_SHARE)
    out = [(p.id, p.text) for p in train]
    others = [t for t in datasets.tweets() if datasets.split_of(t.id, 0.5, "distill") == "test"]
    out += [(t.id, t.text) for t in others]
    return out[:items]


def distill(
    store: Store,
    client: JudgeClient,
    signal: Signal,
    data_dir: Path,
    *,
    items: int,
    dollars: float,
    price_per_hour: float,
    seed: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
) -> Distilled:
    if signal.name != "content_type":
        raise ValueError(f"distillation is set up for content_type, not {signal.name!r}")
    rubric = Rubric.of(signal)
    slice_ = unlabelled(items)
    taught_x, taught_y, calls, errors, cost, stopped = [], [], 0, 0, 0.0, None
    for k, (item, text) in enumerate(slice_):
        done = stored(store, signal.name, item, DISTILL, client.model, rubric.version)
        if done is None:
            per_call = cost / calls if calls else 0.0
            if cost + per_call > dollars:
                stopped = f"dollar budget (${dollars:.2f}) spent after {k} of {len(slice_)}"
                break
            done = call(store, client, signal.name, item, text, rubric, DISTILL)
            calls, cost, errors = calls + 1, cost + done.cost_usd, errors + (done.error is not None)
        if done.label is not None:
            taught_x.append(text)
            taught_y.append(done.label)
        if progress:
            progress("teacher labelling the slice", k + 1, len(slice_))
    if len(set(taught_y)) < 2:
        raise ValueError(
            f"the teacher labelled {len(taught_y)} posts with {len(set(taught_y))} class(es); "
            "a student needs at least two classes (raise --items or the budget)"
        )
    head = fit_head(
        embed(taught_x),
        taught_y,
        c=4.0,
        balanced=True,
        seed=seed,
        meta={"teacher": client.model, "prompt_version": rubric.version, "taught": len(taught_y)},
    )
    path = artifact_path(data_dir)
    head.save(path)
    student = HeadModel(MODEL_ID, VERSION, "multiclass", head)
    summary = _evaluate(store, client, signal, rubric, student, price_per_hour, seed, progress)
    summary.update(
        taught=len(taught_y),
        teacher_calls_for_slice=calls,
        slice_errors=errors,
        slice_cost_usd=cost,
        teacher_model=client.model,
        prompt_version=rubric.version,
        price_per_hour=price_per_hour,
    )
    card = card_path(data_dir)
    card.with_suffix(".json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    card.write_text(_card(summary))
    return Distilled(path, card, len(taught_y), calls, errors, cost, stopped, summary)


def _evaluate(store, client, signal, rubric, student, price_per_hour, seed, progress) -> dict:
    """Teacher, student and the in-house model on the held-out gold posts."""
    from inference import catalog

    _, test = datasets.gold_split(TEST_SHARE)
    truth = [p.content_type for p in test]
    teacher, latencies = [], []
    for k, post in enumerate(test):
        done = stored(store, signal.name, post.id, CALIBRATION, client.model, rubric.version)
        done = done or call(store, client, signal.name, post.id, post.text, rubric, CALIBRATION)
        teacher.append(done.label)
        if done.label is not None and done.latency_ms is not None:
            latencies.append(done.latency_ms)
        if progress:
            progress("teacher on the held-out gold posts", k + 1, len(test))
    texts = [p.text for p in test]
    started = time.perf_counter()
    student_labels = [p.label for p in student.predict(texts)]
    student_ms = (time.perf_counter() - started) * 1000 / len(texts)
    inhouse = [p.label for p in catalog.load("content-type").predict(texts)]
    classes = list(signal.classes)
    ok = [k for k, label in enumerate(teacher) if label is not None]
    teacher_ms = float(np.mean(latencies)) if latencies else float("nan")

    def report(pred, idx):
        r = classification_report([truth[k] for k in idx], [pred[k] for k in idx], classes, seed)
        return {
            "macro_f1": r.macro_f1.value,
            "low": r.macro_f1.low,
            "high": r.macro_f1.high,
            "n": r.macro_f1.n,
            "accuracy": r.accuracy.value,
        }

    def per_1k(ms: float) -> float:
        return ms / 3.6e6 * price_per_hour * 1000

    return {
        "gold_posts": len(test),
        "teacher_errors": len(test) - len(ok),
        "teacher": {
            **report(teacher, ok),
            "latency_ms": teacher_ms,
            "cost_per_1k": per_1k(teacher_ms),
        },
        "student": {
            **report(student_labels, range(len(test))),
            "latency_ms": student_ms,
            "cost_per_1k": per_1k(student_ms),
        },
        "student_on_teacher_judged": report(student_labels, ok),
        "in_house_human_trained": report(inhouse, range(len(test))),
        "student_minus_teacher": _paired(truth, student_labels, teacher, ok, classes, seed),
        "agreement_student_teacher": float(np.mean([student_labels[k] == teacher[k] for k in ok]))
        if ok
        else None,
    }


def _paired(truth, student, teacher, ok, classes, seed) -> dict:
    """Student minus teacher macro-F1 on the same resampled posts (a paired bootstrap)."""
    t = np.asarray([truth[k] for k in ok])
    s = np.asarray([student[k] for k in ok])
    j = np.asarray([teacher[k] for k in ok])
    if len(t) == 0:
        return {"value": None, "low": None, "high": None}
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, len(t), len(t))
        diffs.append(macro_f1(t[idx], s[idx], classes) - macro_f1(t[idx], j[idx], classes))
    value = macro_f1(t, s, classes) - macro_f1(t, j, classes)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return {"value": value, "low": float(low), "high": float(high)}


def _card(s: dict) -> str:
    def row(name, r):
        extra = " | - | -"
        if "latency_ms" in r:
            extra = f" | {r['latency_ms']:.1f} | ${r['cost_per_1k']:.4f}"
        return (
            f"| {name} | {r['macro_f1']:.3f} [{r['low']:.3f}, {r['high']:.3f}] | "
            f"{r['accuracy']:.3f} | {r['n']}{extra} |"
        )

    d = s["student_minus_teacher"]
    diff = "n/a" if d["value"] is None else f"{d['value']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
    agreement = _share(s["agreement_student_teacher"])
    lines = [
        f"# {MODEL_ID} {VERSION}: content_type distilled from an LLM judge",
        "",
        f"Student: all-MiniLM-L6-v2 embeddings + logistic regression, trained on {s['taught']} "
        f"posts labelled by the teacher `{s['teacher_model']}` (prompt {s['prompt_version']}); "
        "no human label was used for training.",
        "",
        f"Evaluated on the {s['gold_posts']} held-out gold posts (human labels; 25% split by a "
        "hash of the post id, the split the in-house model also holds out). Macro-F1 with 95% "
        "percentile-bootstrap intervals; cost per 1k items = latency x "
        f"${s['price_per_hour']:.2f}/hour of the machine, for both.",
        "",
        "| model | macro-F1 [95% CI] | accuracy | posts | latency ms/item | cost per 1k |",
        "| --- | --- | --- | --- | --- | --- |",
        row("teacher (LLM judge)", s["teacher"]),
        row("student (distilled)", s["student"]),
        row("in-house, human-trained", s["in_house_human_trained"]),
        "",
        "Student minus teacher, macro-F1 on the posts the teacher answered (paired bootstrap): "
        f"{diff}. Student-teacher agreement: {agreement}. Teacher errors on the gold posts: "
        f"{s['teacher_errors']}.",
        "",
        f"Teacher calls for the slice this run: {s['teacher_calls_for_slice']} "
        f"(errors {s['slice_errors']}, ${s['slice_cost_usd']:.4f}).",
        "",
    ]
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
