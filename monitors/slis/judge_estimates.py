"""Quality estimated from the LLM judge's daily sample (``estimate: {method: judge}``), before
enough human labels land to judge the slice (docs/estimates.md).

The judge labels a stratified sample of each day's predictions (``evaluation.daily``; each item
weighs its stratum's served predictions over its sampled ones). Its labels are not the truth:

- **PPI++** (``sigwatch.ppi``) where people have labelled at least ``MIN_GOLD`` of the same
  sampled items by ``at``: those items are a random subset of the sample (people label items
  whatever the judge said), so the judge's error on them rectifies its labels on the rest, with
  λ tuned to the variance's minimum. Precision is a weighted mean (``ppi_mean``); recall and F1
  are ratios (``ppi_ratio``, a rectified bootstrap over the weighted items).
- **Rogan-Gladen** otherwise: the judge's sensitivity and specificity measured on the gold set
  (``sigwatch.calibration``) correct its weighted share. The gold set is not a sample of the
  day, so PPI would be biased under a prevalence shift; the correction is not. Recall and F1
  are built from two corrected shares — of the class among the items predicted as it, and
  among the others — each monotone, so the band is taken at its corners.

The band of PPI is ±3 standard errors (as CBPE's, so the audit holds both to one rule); that of
Rogan-Gladen is the widest corner of its three 95% Wilson intervals. The estimate says which it
used (``SliceEstimate.how``)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
from scipy.stats import norm

from monitors.logs import scan_labels
from sigwatch.calibration import CalibrationError, weighted_share
from sigwatch.ppi import ppi_mean, ppi_ratio
from sigwatch.states import SliceEstimate

METHOD = "judge"
MIN_GOLD = 30  # people's labels among the judge's items (of the metric's items) for PPI
BAND_SE = 3.0  # PPI's band: ±3 standard errors, as CBPE's
ALPHA = float(2 * norm.sf(BAND_SE))  # the two-sided level of a ±3 SE interval
RESAMPLES = 4000  # PPI's rectified bootstrap of a ratio: enough draws for its 0.13% tails
PPI = "ppi++"
ROGAN_GLADEN = "rogan-gladen"


def for_slice(ctx, slo, start: datetime, end: datetime, at: datetime) -> SliceEstimate:
    """The judge's estimate of the SLO's metric over ``[start, end)`` as known at ``at``, or
    why there is none."""
    sli = slo.sli
    if sli.cls is None:
        return _none("the judge's estimate is of one class's precision, recall or F1")
    calibration = ctx.calibration(at)
    if calibration is None:
        return _none("the judge is not calibrated: run sigwatch judge calibrate")
    sample = ctx.judge_labels(calibration, start, end, at)
    if sample.is_empty():
        return _none(
            "the judge has labelled none of the slice's predictions yet (its daily job labels "
            "the day before at 02:00 UTC)"
        )
    items = _items(ctx, sample, sli.cls, at)
    counted = items.filter(pl.col("predicted_c")) if sli.metric == "precision" else items
    gold = counted.filter(pl.col("truth_c").is_not_null())
    if len(gold) >= MIN_GOLD and len(gold) < len(counted):
        return _ppi(items, sli.metric, ctx.seed)
    return _rogan_gladen(items, sli.metric, calibration.rates.get(sli.cls), len(gold))


def _none(reason: str) -> SliceEstimate:
    return SliceEstimate(METHOD, reason=reason)


def _items(ctx, sample: pl.DataFrame, cls: str, at: datetime) -> pl.DataFrame:
    """One row per judged item: its weight, whether it was predicted ``cls``, whether the
    judge says it is, and whether people say it is (null where no person labelled it by
    ``at``)."""
    ids = sample["item_id"].unique()
    human = scan_labels(ctx.data_dir, ctx.signal, at)
    people = (
        pl.DataFrame(schema={"item_id": pl.Utf8, "truth": pl.Utf8})
        if human is None
        else human.filter(pl.col("item_id").is_in(ids.implode()))
        .select("item_id", truth=pl.col("label"))
        .collect()
    )
    return (
        sample.join(people, on="item_id", how="left")
        .select(
            weight=pl.col("weight").fill_null(1.0),
            predicted_c=pl.col("predicted") == cls,
            judge_c=pl.col("label") == cls,
            truth_c=pl.col("truth") == cls,
        )
        .with_columns(pl.col("predicted_c", "judge_c").fill_null(False))
    )


def _pairs(frame: pl.DataFrame, metric: str, truth: str) -> tuple[np.ndarray, np.ndarray]:
    """Each item's weighted (numerator, denominator) of recall or F1, with ``truth`` (the
    people's or the judge's column) as the class."""
    w = frame["weight"].to_numpy()
    hit = (frame["predicted_c"] & frame[truth]).to_numpy().astype(float)
    of_class = frame[truth].to_numpy().astype(float)
    if metric == "recall":
        return w * hit, w * of_class
    return w * 2 * hit, w * (frame["predicted_c"].to_numpy().astype(float) + of_class)


def _ppi(items: pl.DataFrame, metric: str, seed: int) -> SliceEstimate:
    labelled = items.filter(pl.col("truth_c").is_not_null())
    rest = items.filter(pl.col("truth_c").is_null())
    if metric == "precision":
        labelled, rest = (f.filter(pl.col("predicted_c")) for f in (labelled, rest))
        got = ppi_mean(
            labelled["truth_c"].to_numpy().astype(float),
            labelled["judge_c"].to_numpy().astype(float),
            rest["judge_c"].to_numpy().astype(float),
            lam=None,
            alpha=ALPHA,
            w=labelled["weight"].to_numpy(),
            w_unlabeled=rest["weight"].to_numpy(),
        )
    else:
        got = ppi_ratio(
            _pairs(labelled, metric, "truth_c"),
            _pairs(labelled, metric, "judge_c"),
            _pairs(rest, metric, "judge_c"),
            lam=None,
            alpha=ALPHA,
            resamples=RESAMPLES,
            seed=seed,
        )
    return SliceEstimate(
        METHOD,
        float(np.clip(got.value, 0.0, 1.0)),
        max(0.0, got.lower),
        min(1.0, got.upper),
        got.n + got.unlabeled,
        how=f"{PPI} (λ {got.lam:.2f}, {got.n} human labels among the judged items)",
    )


def _rogan_gladen(items: pl.DataFrame, metric: str, rates, gold: int) -> SliceEstimate:
    """The judge's weighted shares corrected by its rates on the gold set."""
    few = f"{gold} human labels among the judged items, fewer than {MIN_GOLD} for PPI"
    if rates is None:
        return _none(f"the judge's calibration has no rates for this class ({few})")
    predicted = items.filter(pl.col("predicted_c"))
    others = items.filter(~pl.col("predicted_c"))

    def share(frame: pl.DataFrame):
        if frame.is_empty():
            return None
        hits, weights = frame["judge_c"].to_list(), frame["weight"].to_list()
        return weighted_share(hits, weights, rates)

    try:
        inside, outside = share(predicted), share(others)
    except CalibrationError as exc:
        return _none(f"{exc} ({few})")
    if inside is None:
        return _none("the judge's sample has no prediction of this class")
    how = f"{ROGAN_GLADEN} (the judge's error on the gold set; {few})"
    if metric == "precision":
        return SliceEstimate(
            METHOD, inside.value, inside.ci_low, inside.ci_high, len(predicted), how=how
        )
    if outside is None:
        return _none("the judge's sample has only predictions of this class: no recall")
    # served predictions each side stands for: the weights sum to them
    n_in, n_out = float(predicted["weight"].sum()), float(others["weight"].sum())

    def value(p_in: float, p_out: float) -> float:
        found, present = p_in * n_in, p_in * n_in + p_out * n_out
        if metric == "recall":
            return found / present if present else 0.0
        return 2 * found / (n_in + present)  # f1: 2tp / (predicted + present)

    # increasing in the share inside, decreasing in the share outside: the corners bound it
    return SliceEstimate(
        METHOD,
        value(inside.value, outside.value),
        value(inside.ci_low, outside.ci_high),
        value(inside.ci_high, outside.ci_low),
        len(items),
        how=how,
    )
