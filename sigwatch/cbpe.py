"""Confidence-based performance estimation (CBPE): precision, recall, F1 and AUC of a slice
estimated from the model's calibrated confidence, before its labels arrive.

The method and its numbers are NannyML 0.13's (``nannyml.CBPE``), rewritten here on NumPy and
scikit-learn; ``make peer`` compares the two on seeded data (peer/nannyml_cbpe.py writes
NannyML's figures, tests/test_cbpe_peer.py checks ours against them):

- **Calibration**, per class one-vs-rest, on a reference window's labelled predictions:
  isotonic regression, kept only where it lowers the expected calibration error (ECE) in every
  sense NannyML checks — ten stratified 90/10 splits (seed 42), the calibrated and raw scores of
  the ten test folds pooled, ECE over ten equal-count bins; scores already separating the
  classes (AUC > 0.999) or one class only: no calibration. A multiclass row is renormalised to
  sum to 1 (uniform when it sums to 0).
- **Estimates** from the expected confusion matrix: for class k with calibrated probability
  p_k, TP = Σ p_k over the rows predicted k, FP = Σ (1 - p_k) over them, FN = Σ p_k over the
  rows predicted otherwise. Macro averages are the mean over classes.
- **Sampling error** from the reference: the standard deviation of the observation-level metric
  (TP rows 1, FP rows 0 for precision...) over the square root of the slice's size times the
  reference's share of relevant rows; a macro average's is the root of the summed class
  variances over the number of classes. The band is ±3 sampling errors, clipped to [0, 1].

Recall and F1 need the rows not predicted as the class: a multilabel or entity signal has no
such row (``label_scores`` only score what was predicted), so only precision is estimable there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import auc

SAMPLING_ERROR_RANGE = 3  # the band: ±3 sampling errors
METRICS = ("precision", "recall", "f1")


# --- calibration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibrator:
    """An isotonic map from a score to a probability (``x`` and ``y``: its steps), or the
    identity when the scores were left as they are (``x`` empty)."""

    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    @property
    def identity(self) -> bool:
        return not self.x

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=float)
        if self.identity:
            return scores
        return np.interp(scores, self.x, self.y)  # clipped at both ends, as sklearn predicts

    @classmethod
    def fit(cls, scores: np.ndarray, truth: np.ndarray) -> Calibrator:
        scores = np.asarray(scores, dtype=float)
        truth = np.asarray(truth, dtype=float)
        order = np.lexsort((truth, scores))
        return cls._of_sorted(scores[order], truth[order])

    @classmethod
    def _of_sorted(cls, scores: np.ndarray, truth: np.ndarray) -> Calibrator:
        """The isotonic fit of rows sorted by score, then truth (float64 both): the steps
        ``sklearn.isotonic.IsotonicRegression(out_of_bounds="clip")`` keeps, without its
        validation and sort on every fold (tests/test_cbpe.py holds the two equal)."""
        x, y = _isotonic_sorted(scores, truth)
        return cls(tuple(x.tolist()), tuple(y.tolist()))


# sklearn's _make_unique takes scores closer than this to the first of a run as one value
_RESOLUTION = float(np.finfo(np.float64).resolution)


def _isotonic_sorted(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IsotonicRegression's thresholds of sorted rows: a tie's targets averaged (each row
    weighing 1), scipy's pool-adjacent-violators on them, and the steps inside a flat run
    dropped, as ``IsotonicRegression._build_y`` does."""
    steps = np.diff(x)
    if ((steps > 0) & (steps < _RESOLUTION)).any():  # a run of near-ties: sklearn's own walk
        fitted = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(x, y)
        return fitted.X_thresholds_, fitted.y_thresholds_
    starts = np.flatnonzero(np.r_[True, steps > 0])
    counts = np.diff(np.r_[starts, len(x)]).astype(float)
    means = np.add.reduceat(y, starts) / counts
    pooled = optimize.isotonic_regression(means, weights=counts, increasing=True).x
    keep = np.ones(len(pooled), dtype=bool)
    keep[1:-1] = (pooled[1:-1] != pooled[:-2]) | (pooled[1:-1] != pooled[2:])
    return x[starts][keep], pooled[keep]


def _bin_edges(length: int, bins: int) -> list[tuple[int, int]]:
    if length <= 2 * bins:
        bins = length // 2
        if bins < 2:
            raise ValueError(f"cannot split {length} rows into at least 2 calibration bins")
    width = length // bins
    edges = np.arange(0, length + 1, width)
    edges[-1] = length
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def expected_calibration_error(truth: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """ECE over ``bins`` equal-count bins of the sorted scores: Σ weight · |mean score - mean
    truth| (the last bin takes the remainder)."""
    order = np.argsort(scores, kind="quicksort")
    scores, truth = np.asarray(scores)[order], np.asarray(truth)[order]
    total = 0.0
    for left, right in _bin_edges(len(scores), bins):
        weight = (right - left) / len(scores)
        total += weight * abs(
            float(np.mean(scores[left:right])) - float(np.mean(truth[left:right]))
        )
    return total


def _approximate_mode(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many of ``draws`` each class gets: its floored share, the rest to the largest
    remainders, ties broken by ``rng`` (sklearn's ``_approximate_mode``, draw for draw)."""
    continuous = counts / counts.sum() * draws
    floored = np.floor(continuous)
    missing = int(draws - floored.sum())
    if missing > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            now = min(len(tied), missing)
            floored[rng.choice(tied, size=now, replace=False)] += 1
            missing -= now
            if missing == 0:
                break
    return floored.astype(int)


def stratified_splits(
    truth: np.ndarray, splits: int, test_share: float, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The train and test rows of ``StratifiedShuffleSplit(splits, test_size=test_share,
    random_state=seed)``, the same indices in the same order (tests/test_cbpe.py compares
    them): the same draws from the same generator, on arrays instead of Python lists."""
    rows = len(truth)
    tested = math.ceil(test_share * rows)
    trained = rows - tested
    _, inverse, counts = np.unique(truth, return_inverse=True, return_counts=True)
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    rng = np.random.RandomState(seed)
    for _ in range(splits):
        train_n = _approximate_mode(counts, trained, rng)
        test_n = _approximate_mode(counts - train_n, tested, rng)
        train, test = [], []
        for k, count in enumerate(counts):
            shuffled = members[k].take(rng.permutation(count), mode="clip")
            train.append(shuffled[: train_n[k]])
            test.append(shuffled[train_n[k] : train_n[k] + test_n[k]])
        yield rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _separates(truth: np.ndarray, sorted_scores: np.ndarray, sorted_truth: np.ndarray) -> bool:
    """Whether the scores' ROC AUC exceeds 0.999 (Mann-Whitney on the sorted rows, ties at
    their mean rank: what ``roc_auc_score`` gives, to rounding)."""
    positives = float(truth.sum())
    negatives = len(truth) - positives
    starts = np.flatnonzero(np.r_[True, np.diff(sorted_scores) != 0])
    ends = np.r_[starts[1:], len(sorted_scores)]
    mean_rank = np.repeat((starts + ends + 1) / 2, ends - starts)
    ranked = float(mean_rank[sorted_truth == 1].sum())
    return (ranked - positives * (positives + 1) / 2) / (positives * negatives) > 0.999


def needs_calibration(
    truth: np.ndarray, scores: np.ndarray, bins: int = 10, splits: int = 10
) -> bool:
    """Whether isotonic calibration lowers the ECE of the pooled held-out folds. The rows are
    sorted once; each fold's training rows, taken in that order, are already sorted for its
    isotonic fit."""
    truth, scores = np.asarray(truth).astype(float), np.asarray(scores, dtype=float)
    if np.isnan(scores).any():
        raise ValueError("scores hold NaN: the reference rows must all be scored")
    _, counts = np.unique(truth, return_counts=True)
    if len(counts) == 1 or counts.min() < 2:
        # one class, or a class of one row: folds cannot be stratified (nannyml raises;
        # sigwatch keeps the raw scores of that column, as for one class)
        return False
    order = np.lexsort((truth, scores))
    sorted_scores, sorted_truth = scores[order], truth[order]
    if _separates(truth, sorted_scores, sorted_truth):
        return False
    position = np.empty(len(order), dtype=np.intp)
    position[order] = np.arange(len(order))
    kept_truth, raw, calibrated = [], [], []
    for train, test in stratified_splits(truth, splits, 0.1, seed=42):
        in_train = np.zeros(len(order), dtype=bool)
        in_train[position[train]] = True
        calibrator = Calibrator._of_sorted(sorted_scores[in_train], sorted_truth[in_train])
        kept_truth.append(truth[test])
        raw.append(scores[test])
        calibrated.append(calibrator(scores[test]))
    pooled_truth = np.concatenate(kept_truth)
    before = expected_calibration_error(pooled_truth, np.concatenate(raw), bins)
    after = expected_calibration_error(pooled_truth, np.concatenate(calibrated), bins)
    return before > after


def fit_calibrator(truth: np.ndarray, scores: np.ndarray) -> Calibrator:
    """The isotonic calibrator of one score (``truth``: 0 or 1 per row), or the identity where
    calibration does not help."""
    truth = np.asarray(truth).astype(int)
    scores = np.asarray(scores, dtype=float)
    return Calibrator.fit(scores, truth) if needs_calibration(truth, scores) else Calibrator()


def fit_calibrators(truth: np.ndarray, scores: np.ndarray) -> tuple[Calibrator, ...]:
    """One calibrator per column of ``scores``, one-vs-rest (``truth``: the column index of
    each row's true class)."""
    scores = np.asarray(scores, dtype=float)
    truth = np.asarray(truth)
    return tuple(fit_calibrator(truth == k, scores[:, k]) for k in range(scores.shape[1]))


def calibrate(calibrators: tuple[Calibrator, ...], scores: np.ndarray) -> np.ndarray:
    """The calibrated probabilities: each column through its calibrator; with more than one
    column, each row renormalised to sum to 1 (uniform where it sums to 0)."""
    scores = np.asarray(scores, dtype=float)
    out = np.column_stack([c(scores[:, k]) for k, c in enumerate(calibrators)])
    if out.shape[1] == 1:
        return out
    sums = out.sum(axis=1, keepdims=True)
    uniform = np.full_like(out, 1 / out.shape[1])
    return np.divide(out, sums, out=uniform, where=sums != 0)


# --- the estimates --------------------------------------------------------------------------


def expected_counts(predicted: np.ndarray, proba: np.ndarray) -> tuple[float, float, float]:
    """The expected TP, FP and FN of one class: ``predicted`` says which rows were predicted
    as it, ``proba`` is its calibrated probability per row."""
    predicted = np.asarray(predicted, dtype=bool)
    proba = np.asarray(proba, dtype=float)
    tp = float(proba[predicted].sum())
    fp = float((1 - proba[predicted]).sum())
    fn = float(proba[~predicted].sum())
    return tp, fp, fn


def estimate(metric: str, predicted: np.ndarray, proba: np.ndarray) -> float:
    """Estimated precision, recall or F1 of one class (0 when its denominator is 0)."""
    return from_counts(metric, *expected_counts(predicted, proba))


def from_counts(metric: str, tp: float, fp: float, fn: float) -> float:
    """Precision, recall or F1 from (expected) TP, FP and FN counts (0 when its denominator
    is 0): a slice's estimate from its buckets' summed counts."""
    if metric == "precision":
        denominator = tp + fp
    elif metric == "recall":
        denominator = tp + fn
    elif metric == "f1":
        denominator = tp + 0.5 * (fp + fn)
    else:
        raise ValueError(f"no estimate of {metric!r}; allowed: {', '.join(METRICS)}")
    return tp / denominator if denominator else 0.0


def estimate_auc(
    calibrated: np.ndarray, raw: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """Estimated ROC AUC of a score signal: the curve the calibrated probabilities expect when
    the rows are ranked by the raw score. ``weights`` (one per row, about 1 on average; all 1
    by default, as nannyml) count a row that many times: a row per distinct score with its
    count, or rows weighted towards the population the labels measure."""
    order = np.argsort(np.asarray(raw, dtype=float), kind="quicksort")[::-1]
    expected = np.asarray(calibrated, dtype=float)[order]
    counted = np.ones(len(expected)) if weights is None else np.asarray(weights, float)[order]
    with np.errstate(divide="ignore", invalid="ignore"):
        tps = np.cumsum(expected * counted)
        fps = np.cumsum(counted) - tps
        tps = np.round(np.r_[0, tps], 5)
        fps = np.round(np.r_[0, fps], 5)
        return float(auc(fps / fps[-1], tps / tps[-1]))


# --- sampling error -------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorComponent:
    """What a metric's sampling error takes from the reference: the spread of its
    observation-level values and the share of rows they come from."""

    std: float
    fraction: float

    def error(self, rows: float) -> float:
        if rows <= 0 or self.fraction <= 0 or math.isnan(self.std):
            return math.nan
        return self.std / math.sqrt(rows * self.fraction)


def error_component(
    metric: str, truth: np.ndarray, predicted: np.ndarray, *, of_macro: bool = False
) -> ErrorComponent:
    """The reference's component for one class (``truth`` and ``predicted``: one-vs-rest).
    As NannyML: a binary F1's observation-level values are scaled so that their mean is the F1;
    the class components of a macro F1 (``of_macro``) are not."""
    truth = np.asarray(truth, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    tp = np.ones(int((truth & predicted).sum()))
    fp = np.zeros(int((~truth & predicted).sum()))
    fn = np.zeros(int((truth & ~predicted).sum()))
    if metric == "precision":
        values, fraction = np.concatenate([tp, fp]), predicted.sum() / len(predicted)
    elif metric == "recall":
        values, fraction = np.concatenate([tp, fn]), truth.sum() / len(predicted)
    elif metric == "f1":
        values = np.concatenate([tp, fn, fp])
        if not len(values):
            return ErrorComponent(math.nan, 0.0)
        if not of_macro:
            values = values * len(values) / ((len(fn) + len(fp)) * 0.5 + len(tp))
        fraction = len(values) / len(predicted)
    else:
        raise ValueError(f"no sampling error for {metric!r}; allowed: {', '.join(METRICS)}")
    if not len(values):
        return ErrorComponent(math.nan, float(fraction))
    return ErrorComponent(float(np.std(values)), float(fraction))


def macro_error(components: list[ErrorComponent], rows: float) -> float:
    """A macro average's sampling error: √(Σ variance_k / (rows · fraction_k)) / classes; a
    class the reference never had (fraction 0) adds no variance it could measure; NaN
    without rows."""
    if rows <= 0:
        return math.nan
    variances = [c.std**2 / (rows * c.fraction) for c in components if c.fraction > 0]
    return math.sqrt(sum(variances)) / len(components)


def auc_component(truth: np.ndarray, scores: np.ndarray) -> ErrorComponent:
    """AUC's component (AUC as a Mann-Whitney U statistic, by the variance sum law): the
    minority class taken as the positive one."""
    truth = np.asarray(truth, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if truth.mean() > 0.5:
        truth, scores = np.abs(truth - 1), 1 - scores
    order = np.argsort(scores, kind="quicksort")
    truth = truth[order]
    ranks = truth * np.arange(len(scores))
    positions = np.unique(ranks)[1:]
    below = positions - np.arange(len(positions))
    negatives = len(truth) - truth.sum()
    return ErrorComponent(float(np.std(below / negatives)), float(truth.sum() / len(truth)))


def band(value: float, error: float) -> tuple[float, float]:
    """The estimate's band: ±3 sampling errors, clipped to [0, 1]."""
    if math.isnan(error):
        return math.nan, math.nan
    spread = SAMPLING_ERROR_RANGE * error
    return max(0.0, value - spread), min(1.0, value + spread)
