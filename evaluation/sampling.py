"""Which predictions the judge labels: a seeded sample stratified by predicted class and
confidence band, so rare classes, low-confidence predictions and predicted negatives (an
entity signal's "nothing found", a class nobody predicts much) are all measured — recall needs
them — within the day's budget of calls (the dollar cap is enforced as the calls are made,
``evaluation.daily``).

Each stratum gets an equal share of the budget (capped at its size, the remainder spread over
the others); every sampled row carries its stratum's weight (rows in the stratum / rows
sampled from it), so totals estimated from the sample are unbiased."""

from __future__ import annotations

import polars as pl

BANDS = (0.0, 0.5, 0.8, 1.0)  # confidence bands: low [0, 0.5), mid [0.5, 0.8), high
NONE = "(none)"


def strata(frame: pl.DataFrame, label: str = "label", score: str = "score") -> pl.DataFrame:
    """``frame`` with ``stratum`` = predicted class (or ``(none)``) x confidence band."""
    predicted = pl.col(label).fill_null(NONE)
    if frame.schema.get(label) == pl.List(pl.Utf8):
        predicted = (
            pl.when(pl.col(label).list.len() > 0)
            .then(pl.col(label).list.sort().list.first().str.split(":").list.first())
            .otherwise(pl.lit(NONE))
        )
    band = (
        pl.when(pl.col(score) < BANDS[1])
        .then(pl.lit("low"))
        .when(pl.col(score) < BANDS[2])
        .then(pl.lit("mid"))
        .otherwise(pl.lit("high"))
    )
    return frame.with_columns(pl.concat_str([predicted, band], separator="/").alias("stratum"))


def stratified_sample(
    frame: pl.DataFrame, n: int, seed: int, label: str = "label", score: str = "score"
) -> pl.DataFrame:
    """At most ``n`` rows, spread evenly over the strata, with weights."""
    tagged = strata(frame, label, score)
    sizes = dict(tagged.group_by("stratum").len().iter_rows())
    quota = _allocate(sizes, n)
    parts = []
    for k, (name, take) in enumerate(sorted(quota.items())):
        if take == 0:
            continue
        group = tagged.filter(pl.col("stratum") == name)
        parts.append(
            group.sample(n=take, seed=seed + k).with_columns(
                pl.lit(sizes[name] / take).alias("weight")
            )
        )
    if not parts:
        return tagged.head(0).with_columns(pl.lit(0.0).alias("weight"))
    return pl.concat(parts)


def _allocate(sizes: dict[str, int], total: int) -> dict[str, int]:
    quota = dict.fromkeys(sizes, 0)
    left = total
    open_ = sorted(sizes)
    while left > 0 and open_:
        share = max(1, left // len(open_))
        for name in list(open_):
            take = min(share, sizes[name] - quota[name], left)
            quota[name] += take
            left -= take
            if quota[name] == sizes[name]:
                open_.remove(name)
            if left == 0:
                break
    return quota
