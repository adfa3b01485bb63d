"""precision, recall and f1 against human labels, of one class or macro-averaged.

Predictions served in the slice (status ``ok``) are joined to their items' labels known at
evaluation time (the latest label of an item wins). The counts — a confusion matrix for
multiclass signals, per-type true/false positives and misses for entity signals — are a
sum over the quality table, computed once per bucket and label version (``monitors.partials``).
With ``labels: judge`` the SLI is instead one class's precision from the LLM judge's labels,
corrected for the judge's error (``judged``).

Intervals: Wilson for one class's precision or recall; a seeded bootstrap over the labelled
items for macro averages and F1 (for entity signals, over the entity decisions: each true
positive, false positive and miss is one draw). ``samples`` is the denominator that matters
(predicted-class count for precision, actual-class count for recall, all labelled items for
macro/F1): below ``min_labels`` the slice is ``insufficient_labels``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np
import polars as pl

from monitors import estimates
from monitors.partials import known_at
from monitors.slis import judge_estimates
from monitors.slis.base import Context, SliValue, TimesliceCalculation
from sigwatch.calibration import CalibrationError, weighted_share
from sigwatch.kinds import JudgedQualitySLI, QualitySLI
from sigwatch.states import Verdict
from sigwatch.stats import wilson_interval

BOOTSTRAP = 400
SEP = "\u241f"  # separates predicted and true class in confusion keys


def counts(ctx: Context, start: datetime, end: datetime, at: datetime) -> dict:
    """The slice's quality counts with the labels known at ``at``, summed from the quality
    table (``monitors.partials``): a confusion matrix (``confusion``), per-type entity counts
    (``per_class``) or score pairs (``pairs``), and the number of labelled predictions."""
    return payload(ctx.signal, known_at(ctx.quality(start, min(end, at)), at))


def payload(signal, rows: pl.DataFrame) -> dict:
    """The counts of quality table rows (all of one evaluation time's labels)."""
    if signal.task == "entities":
        per_class = {c: {"tp": 0, "fp": 0, "fn": 0} for c in signal.classes}
        summed = rows.group_by("cls").agg(pl.col("tp", "fp", "fn", "n").sum())
        labelled = 0
        for cls, tp, fp, fn, n in summed.iter_rows():
            if cls is None:
                labelled = int(n)
            elif cls in per_class:
                per_class[cls] = {"tp": int(tp), "fp": int(fp), "fn": int(fn)}
        return {"labelled": labelled, "per_class": per_class}
    if signal.task == "score":
        summed = rows.group_by("score", "truth").agg(pl.col("n").sum()).sort("score", "truth")
        pairs = [[s, t] for s, t, n in summed.iter_rows() for _ in range(n)]
        return {"labelled": len(pairs), "pairs": pairs}
    summed = rows.group_by("predicted", "truth").agg(pl.col("n").sum())
    return {
        "labelled": int(summed["n"].sum()) if len(summed) else 0,
        "confusion": {f"{p}{SEP}{t}": int(n) for p, t, n in summed.iter_rows()},
    }


def estimated(ctx: Context, slo, start: datetime, end: datetime, at: datetime):
    """The slice's estimate (``estimate:``; None without one): the judge's
    (``monitors.slis.judge_estimates``), or CBPE's with its rolling reference leaving out the slices
    the SLO's labels judged bad."""
    if slo.sli.estimate is not None and slo.sli.estimate.method == judge_estimates.METHOD:
        return estimates.guarded(
            ctx.signal, slo, lambda: judge_estimates.for_slice(ctx, slo, start, end, at)
        )

    return estimates.for_slice(
        ctx.data_dir, ctx.signal, slo, start, end, at, ctx.group, _bad_slices(ctx, slo)
    )


def _bad_slices(ctx: Context, slo):
    """The slices of ``[lo, hi)`` the SLO's labels judged bad, stored or measured since."""

    def bad(lo: datetime, hi: datetime) -> tuple[tuple[datetime, datetime], ...]:
        found = ctx.measurements(slo.name, lo, hi)
        return tuple((m.start, m.end) for m in found if m.verdict is Verdict.BAD)

    return bad


def calibrate(ctx: Context, slo, start: datetime, at: datetime) -> estimates.Calibration:
    """CBPE's fit for the slice starting at ``start``, on the reference its rolling window
    leaves after the bad slices known at ``at`` (what ``estimated`` reads)."""
    return estimates.calibrate(ctx.data_dir, ctx.signal, slo, start, at, _bad_slices(ctx, slo))


class Labelled(TimesliceCalculation):
    """A kind judged against human labels: a group's volume is its labelled predictions."""

    volume_unit = "labels"

    def group_volume(self, ctx: Context, slo, start: datetime, at: datetime) -> pl.DataFrame:
        return known_at(ctx.quality(start, at), at).select(*slo.grouping.by, "n")


class Quality(Labelled):
    sli = QualitySLI

    def bad_labelled(self, sli, signal) -> tuple[pl.Expr, pl.Expr] | None:
        """A wrong labelled prediction, of those the SLI counts (single-label tasks only)."""
        if signal.task != "multiclass":
            return None
        predicted, truth = pl.col("predicted"), pl.col("truth")
        wrong = predicted != truth
        if sli.cls is None:
            return wrong, predicted.is_not_null() & truth.is_not_null()
        if sli.metric == "precision":
            return wrong, predicted == sli.cls
        if sli.metric == "recall":
            return wrong, truth == sli.cls
        return wrong, (predicted == sli.cls) | (truth == sli.cls)  # f1: both kinds of error

    def measure(self, ctx: Context, slo, start: datetime, end: datetime, at: datetime) -> SliValue:
        sli = slo.sli
        payload = counts(ctx, start, end, at)
        if ctx.signal.task == "entities":
            measured = _entities(payload, sli, seed=ctx.seed)
        else:
            measured = _multiclass(payload, sli, ctx.signal.classes, seed=ctx.seed)
        # what the console shows of the slice's human labels, kept with the measurement
        return replace(
            measured,
            details={**measured.details, "report": class_report(ctx.signal, payload)},
            estimated=estimated(ctx, slo, start, end, at),
        )


class JudgedQuality(Quality):
    """``labels: judge``: one class's precision from the judge's sample (``judged``)."""

    sli = JudgedQualitySLI

    def bad_labelled(self, sli, signal) -> None:
        return None  # the judge's sample is too small to say where bad slices come from

    def group_volume(self, ctx: Context, slo, start: datetime, at: datetime) -> pl.DataFrame:
        """The predictions the judge labelled, per group."""
        by = list(slo.grouping.by)
        calibration = ctx.calibration(at)
        if calibration is None:  # no judge label counts yet: no group
            return pl.DataFrame(schema={**dict.fromkeys(by, pl.Utf8), "n": pl.Int64})
        rows = ctx.judge_labels(calibration, start, at, at)
        return rows.select(*by, n=pl.lit(1, pl.Int64))

    def measure(self, ctx: Context, slo, start: datetime, end: datetime, at: datetime) -> SliValue:
        return judged(ctx, slo.sli, start, end, at)


def class_report(signal, payload: dict) -> dict:
    """The slice's human labels per class, as the signal page shows them: precision and recall
    of every class with its label count and 95% Wilson interval, the confusion matrix
    (``[predicted, truth, n]``; single-label tasks), the labelled items; a score signal's
    labelled pairs only (per-class precision and recall do not apply)."""
    report: dict = {"labelled": int(payload.get("labelled", 0)), "classes": []}
    if "pairs" in payload:
        report["pairs"] = len(payload["pairs"])
        return report
    if "confusion" in payload:
        cells = _cells(payload["confusion"])
        report["confusion"] = [[p, t, n] for p, t, n in sorted(cells)]
        per_class = {cls: _class_counts(cells, cls) for cls in signal.classes}
    else:
        per_class = {
            c: (v["tp"], v["tp"] + v["fp"], v["tp"] + v["fn"])
            for c, v in payload.get("per_class", {}).items()
        }
    for cls, (tp, predicted, actual) in per_class.items():
        for metric, n in (("precision", predicted), ("recall", actual)):
            if n:
                low, high = wilson_interval(tp, n)
                report["classes"].append(
                    {
                        "class": cls,
                        "metric": metric,
                        "value": tp / n,
                        "ci_low": low,
                        "ci_high": high,
                        "n": n,
                    }
                )
    return report


def _entities(payload: dict, sli, seed: int = 0) -> SliValue:
    per_class = payload.get("per_class", {})
    classes = [sli.cls] if sli.cls else list(per_class)
    tp = sum(per_class.get(c, {}).get("tp", 0) for c in classes)
    fp = sum(per_class.get(c, {}).get("fp", 0) for c in classes)
    fn = sum(per_class.get(c, {}).get("fn", 0) for c in classes)
    denominators = {"precision": tp + fp, "recall": tp + fn, "f1": tp + fp + fn}
    n = denominators[sli.metric]
    details = {"tp": tp, "fp": fp, "fn": fn, "labelled_items": payload.get("labelled", 0)}
    if n < sli.min_labels:
        return SliValue(samples=n, unknown=Verdict.INSUFFICIENT_LABELS, details=details)
    if sli.metric == "f1":
        value = 2 * tp / (2 * tp + fp + fn)
        low, high = entity_f1_interval(tp, fp, fn, seed)
        return SliValue(value=value, ci_low=low, ci_high=high, samples=n, details=details)
    success = tp
    low, high = wilson_interval(success, n)
    return SliValue(value=success / n, ci_low=low, ci_high=high, samples=n, details=details)


def _multiclass(payload: dict, sli, classes, seed: int) -> SliValue:
    pairs = _cells(payload.get("confusion", {}))
    labelled = sum(n for _, _, n in pairs)
    if sli.cls is not None:
        tp, predicted, actual = _class_counts(pairs, sli.cls)
        details = {"tp": tp, "predicted": predicted, "actual": actual, "labelled": labelled}
        if sli.metric in ("precision", "recall"):
            n = predicted if sli.metric == "precision" else actual
            if n < sli.min_labels:
                return SliValue(samples=n, unknown=Verdict.INSUFFICIENT_LABELS, details=details)
            low, high = wilson_interval(tp, n)
            return SliValue(value=tp / n, ci_low=low, ci_high=high, samples=n, details=details)
    if labelled < sli.min_labels:
        return SliValue(
            samples=labelled, unknown=Verdict.INSUFFICIENT_LABELS, details={"labelled": labelled}
        )
    index = {c: k for k, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)))
    for p, t, n in pairs:
        if p in index and t in index:
            matrix[index[p], index[t]] += n
    value = metric_from_confusion(matrix, sli.metric, index.get(sli.cls))
    low, high = _bootstrap(matrix, sli.metric, index.get(sli.cls), seed)
    return SliValue(
        value=value,
        ci_low=low,
        ci_high=high,
        samples=labelled,
        details={"labelled": labelled, "averaging": "macro" if sli.cls is None else sli.cls},
    )


def _cells(confusion: dict[str, int]) -> list[tuple[str, str, int]]:
    """A confusion payload's ``(predicted, truth, n)`` cells."""
    return [(*key.split(SEP), n) for key, n in confusion.items()]


def _class_counts(cells: list[tuple[str, str, int]], cls: str) -> tuple[int, int, int]:
    """One class's true positives, predictions and true labels: the counts of its precision
    (tp / predicted) and recall (tp / actual)."""
    tp = sum(n for p, t, n in cells if p == cls and t == cls)
    predicted = sum(n for p, _, n in cells if p == cls)
    actual = sum(n for _, t, n in cells if t == cls)
    return tp, predicted, actual


def metric_from_confusion(matrix: np.ndarray, metric: str, cls: int | None) -> float:
    """precision/recall/f1 from a confusion matrix (rows predicted, columns true), for one
    class or macro-averaged over the classes that were predicted or present (as scikit-learn
    does, a class with no predictions has precision 0)."""
    return float(_metrics(matrix[None], metric, cls)[0])


def _metrics(matrices: np.ndarray, metric: str, cls: int | None) -> np.ndarray:
    """``metric_from_confusion`` of each of a stack of matrices (shape draws x k x k)."""
    tp = np.diagonal(matrices, axis1=1, axis2=2)
    predicted, actual = matrices.sum(axis=2), matrices.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        values = {"precision": precision, "recall": recall, "f1": f1}[metric]
        if cls is not None:
            return values[:, cls]
        present = (predicted > 0) | (actual > 0)
        counted = present.sum(axis=1)
        return np.where(counted > 0, np.where(present, values, 0.0).sum(axis=1) / counted, np.nan)


def _bootstrap(matrix: np.ndarray, metric: str, cls: int | None, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    flat = matrix.ravel()
    total = int(flat.sum())
    draws = rng.multinomial(total, flat / total, size=BOOTSTRAP)
    values = _metrics(draws.reshape(BOOTSTRAP, *matrix.shape), metric, cls)
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def entity_f1_interval(tp: int, fp: int, fn: int, seed: int) -> tuple[float, float]:
    """95% bootstrap interval of 2tp / (2tp + fp + fn), resampling the entity decisions."""
    n = tp + fp + fn
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, np.array([tp, fp, fn]) / n, size=BOOTSTRAP)
    values = 2 * draws[:, 0] / (2 * draws[:, 0] + draws[:, 1] + draws[:, 2])
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def judged(ctx: Context, sli, start: datetime, end: datetime, at: datetime) -> SliValue:
    """Precision of ``sli.cls`` from the LLM judge's daily sample, corrected for the judge's
    error measured on the gold set (Rogan-Gladen, see ``sigwatch.calibration``).

    Uses the latest calibration known at ``at`` and only labels of that judge model and prompt
    version. The sample is stratified (weights = stratum rows / rows judged), so the apparent
    share is weighted and its interval uses Kish's effective sample size."""
    calibration = ctx.calibration(at)
    if calibration is None:
        reason = "the judge is not calibrated: run sigwatch judge calibrate"
        return SliValue(
            unknown=Verdict.INSUFFICIENT_LABELS, details={"labels": "judge", "reason": reason}
        )
    model, version = calibration.model, calibration.prompt_version
    sample = ctx.judge_labels(calibration, start, end, at).filter(pl.col("predicted") == sli.cls)
    rows = list(zip(sample["label"].to_list(), sample["weight"].to_list(), strict=True))
    details = {
        "labels": "judge",
        "judge_model": model,
        "prompt_version": version,
        "kappa": calibration.kappa,
        "gold_items": calibration.n,
        "judged": len(rows),
    }
    if len(rows) < sli.min_labels:
        return SliValue(samples=len(rows), unknown=Verdict.INSUFFICIENT_LABELS, details=details)
    rates = calibration.rates[sli.cls]
    try:
        fixed = weighted_share(
            [label == sli.cls for label, _ in rows], [w or 1.0 for _, w in rows], rates
        )
    except CalibrationError as exc:
        details["reason"] = str(exc)
        return SliValue(samples=len(rows), unknown=Verdict.INSUFFICIENT_LABELS, details=details)
    details.update(
        apparent=round(fixed.apparent, 4),
        n_effective=round(fixed.n, 1),
        judge_tpr=rates.tpr,
        judge_tnr=rates.tnr,
    )
    return SliValue(
        value=fixed.value,
        ci_low=fixed.ci_low,
        ci_high=fixed.ci_high,
        samples=len(rows),
        details=details,
    )
