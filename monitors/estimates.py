"""Quality estimated from the logs before the labels land: CBPE fitted on a reference window's
labelled predictions, then applied to a slice's served predictions (docs/estimates.md).

``fit`` reads the reference window's served predictions with their model confidence (the
``scores`` column of a multiclass signal, ``score`` of a score signal, ``label_scores`` of an
entity signal) and the human labels known by then, and keeps what CBPE needs: a calibrator per
class and the sampling-error components of the SLI's metric. It is fitted once per reference
window and kept as JSON under ``<data>/partials/cbpe/`` (``fitted``), not every 5 minutes.
``estimate`` applies it to a slice. Either says why when it cannot (``Unavailable``): logs
without the confidence column, a reference without labels, a metric not estimable from what
was logged (an entity signal's recall).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from monitors.logs import scan_labels, scan_logs
from monitors.partials import BUCKET, RECOMPUTE, write_atomic
from sigwatch import cbpe
from sigwatch.kinds import SCORED, AucSLI, QualitySLI
from sigwatch.model import NONE, Signal
from sigwatch.states import SliceEstimate

log = logging.getLogger(__name__)
Spans = tuple[tuple[datetime, datetime], ...]  # [start, end) spans of time
# Labelled predictions (an entity signal's: labelled labels of the class) a calibration needs.
# Its band does not count the calibration's own error: with 150 labels the demo's first days
# were estimated 0.10 off.
MIN_REFERENCE_LABELS = 500
FIT_VERSION = 4  # a fit kept by an earlier version is fitted again
STRATA = ("item_kind", "community")  # what the labelled share is kept per
SEP = "\u241f"
STEP = f"{int(BUCKET.total_seconds())}s"  # the buckets a slice's sums are kept in


@dataclass(frozen=True)
class Unavailable:
    """Why a slice has no estimate."""

    reason: str


@dataclass(frozen=True)
class Fitted:
    """CBPE fitted on one reference window: per class a calibrator and the sampling-error
    component of the SLI's metric (one of each for a score or entity signal)."""

    start: datetime
    end: datetime
    labelled: int  # labelled served predictions it was fitted on
    calibrators: tuple[cbpe.Calibrator, ...]
    components: tuple[cbpe.ErrorComponent, ...]
    # The share of the reference's served predictions that got a label, per stratum
    # (``item_kind`` + SEP + ``community``; ``item_kind`` alone; "" for all): what a slice's
    # rows are weighted by, so the estimate is of the predictions the labels measure.
    strata: dict[str, float] = field(default_factory=dict)
    # an entity signal's SLI class: only its predicted labels (``brand:...``) are estimated
    entity_class: str | None = None

    @property
    def key(self) -> str:
        """What tells this calibration from another: its calibrators' steps and strata."""
        steps = json.dumps(
            [
                [[c.x, c.y] for c in self.calibrators],
                sorted(self.strata.items()),
                self.entity_class,
            ]
        )
        return hashlib.sha1(steps.encode()).hexdigest()[:16]

    def weights(self, rows: pl.DataFrame) -> np.ndarray:
        """Each row's weight: its stratum's labelled share in the reference (a community the
        reference did not see: its item kind's; a kind it did not see: the overall share)."""
        if not self.strata:
            return np.ones(len(rows))
        overall = self.strata.get("", 1.0)
        by_pair = {k: v for k, v in self.strata.items() if SEP in k}
        by_kind = {k: v for k, v in self.strata.items() if k and SEP not in k}
        kinds = rows["item_kind"].fill_null(NONE)
        pairs = kinds + SEP + rows["community"].fill_null(NONE)
        share = pairs.replace_strict(by_pair, default=None, return_dtype=pl.Float64)
        of_kind = kinds.replace_strict(by_kind, default=None, return_dtype=pl.Float64)
        return share.fill_null(of_kind).fill_null(overall).to_numpy().astype(float)

    def to_json(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "labelled": self.labelled,
            "calibrators": [{"x": list(c.x), "y": list(c.y)} for c in self.calibrators],
            "components": [[c.std, c.fraction] for c in self.components],
            "strata": self.strata,
            "entity_class": self.entity_class,
        }

    @classmethod
    def from_json(cls, raw: dict) -> Fitted:
        return cls(
            start=datetime.fromisoformat(raw["start"]),
            end=datetime.fromisoformat(raw["end"]),
            labelled=raw["labelled"],
            calibrators=tuple(
                cbpe.Calibrator(tuple(c["x"]), tuple(c["y"])) for c in raw["calibrators"]
            ),
            components=tuple(cbpe.ErrorComponent(s, f) for s, f in raw["components"]),
            strata=raw.get("strata", {}),
            entity_class=raw.get("entity_class"),
        )


@dataclass(frozen=True)
class Estimated:
    """A slice's estimate: its value and band (``lower``, ``upper``) from ``n`` predictions."""

    method: str
    value: float
    lower: float
    upper: float
    n: int


def _metric(sli: QualitySLI | AucSLI) -> str:
    return "roc_auc" if isinstance(sli, AucSLI) else sli.metric


def _rows(
    data_dir: Path, signal: Signal, start: datetime, end: datetime, ids: bool = False
) -> pl.DataFrame | None:
    """Served predictions of ``[start, end)`` with what CBPE reads of them (and ``item_id``
    with ``ids``: a fit joins them to their labels, a slice's sums need no id)."""
    column = SCORED[signal.task]
    prediction = {"multiclass": "label", "score": "score"}.get(signal.task, "labels")
    named = ["item_id"] if ids else []
    columns = list(dict.fromkeys([*named, "status", *STRATA, prediction, column]))
    logs = scan_logs(data_dir, signal, start, end, columns)
    if logs is None:
        return None
    return logs.filter(pl.col("status") == "ok").collect()


def _columns(signal: Signal, classes: pl.Series) -> np.ndarray:
    """Each row's class as its column in ``scores`` (-1: not one of the signal's classes)."""
    index = {c: k for k, c in enumerate(signal.classes)}
    found = classes.replace_strict(index, default=-1, return_dtype=pl.Int64)
    return found.fill_null(-1).to_numpy()


def _counted(signal: Signal, sli: QualitySLI) -> list[int]:
    """The columns the SLI averages over: its class's, or every class's (macro)."""
    if sli.cls is None:
        return list(range(len(signal.classes)))
    return [signal.classes.index(sli.cls)]


def _matrix(rows: pl.DataFrame, signal: Signal) -> np.ndarray | Unavailable:
    """The multiclass probability vectors as an (n, classes) matrix."""
    vectors = rows["scores"]
    if vectors.null_count():
        return Unavailable(
            f"{vectors.null_count():,} served predictions have no 'scores' (the class "
            "probabilities); CBPE needs them on every row"
        )
    width = len(signal.classes)
    lengths = vectors.list.len()
    if len(vectors) and (lengths.min() != width or lengths.max() != width):
        return Unavailable(f"'scores' must hold {width} probabilities a row")
    return vectors.list.to_array(width).to_numpy().astype(float).reshape(len(vectors), width)


def fit(
    data_dir: Path,
    signal: Signal,
    sli: QualitySLI | AucSLI,
    start: datetime,
    end: datetime,
    known_at: datetime,
    excluded: Spans = (),
) -> Fitted | Unavailable:
    """CBPE fitted on the served predictions of ``[start, end)`` labelled by ``known_at``,
    leaving out those of the ``excluded`` spans."""
    if signal.task in ("multilabel", "entities") and _metric(sli) != "precision":
        return Unavailable(
            f"{_metric(sli)} of a {signal.task} signal is not estimable without labels: its "
            "logs score only the labels it predicted, not those it missed"
        )
    rows = _rows(data_dir, signal, start, end, ids=True)
    labels = scan_labels(data_dir, signal, known_at)
    if rows is None or labels is None:
        return Unavailable("no logs or no labels in the reference window")
    for lo, hi in excluded:
        rows = rows.filter(~pl.col("event_time").is_between(lo, hi, closed="left"))
    truth_column = "labels" if signal.task in ("multilabel", "entities") else "label"
    truths = labels.select("item_id", pl.col(truth_column).alias("truth")).collect()
    joined = rows.join(truths, on="item_id")
    strata = _strata(rows.join(truths, on="item_id", how="left"))
    if len(joined) < MIN_REFERENCE_LABELS:
        return _too_few(len(joined), "labelled predictions")
    metric = _metric(sli)
    if signal.task == "multiclass":
        matrix = _matrix(joined, signal)
        if isinstance(matrix, Unavailable):
            return matrix
        truth = _columns(signal, joined["truth"])
        predicted = _columns(signal, joined["label"])
        calibrators = cbpe.fit_calibrators(truth, matrix)
        components = tuple(
            cbpe.error_component(metric, truth == k, predicted == k, of_macro=sli.cls is None)
            for k in _counted(signal, sli)
        )
    elif signal.task == "score":
        score = joined["score"].to_numpy().astype(float)
        truth = (joined["truth"] == "1").to_numpy()
        calibrators = (cbpe.fit_calibrator(truth, score),)
        components = (cbpe.auc_component(truth, score),)
    else:  # entities, multilabel: the precision of the predicted labels
        per_label = _label_rows(joined, sli.cls)
        if isinstance(per_label, Unavailable):
            return per_label
        confidence, right, _, _ = per_label
        if len(confidence) < MIN_REFERENCE_LABELS:
            return _too_few(len(confidence), f"labelled {sli.cls or 'predicted'} labels")
        calibrators = (cbpe.fit_calibrator(right, confidence),)
        components = (cbpe.error_component("precision", right, np.ones(len(right), bool)),)
    entity_class = sli.cls if signal.task in ("multilabel", "entities") else None
    return Fitted(start, end, len(joined), calibrators, components, strata, entity_class)


def _too_few(n: int, what: str) -> Unavailable:
    return Unavailable(
        f"the reference window has {n:,} {what}; CBPE needs {MIN_REFERENCE_LABELS:,} to "
        "calibrate on"
    )


def _strata(rows: pl.DataFrame) -> dict[str, float]:
    """The labelled share of ``rows`` (served predictions, ``truth`` null where unlabelled)
    per item kind and community, per item kind, and overall."""
    rows = rows.with_columns(pl.col(list(STRATA)).fill_null(NONE))
    labelled = pl.col("truth").is_not_null().mean().alias("share")
    found = {"": float(rows.select(labelled).item())}
    for kind, share in rows.group_by("item_kind").agg(labelled).iter_rows():
        found[kind] = share
    for kind, place, share in rows.group_by(*STRATA).agg(labelled).iter_rows():
        found[f"{kind}{SEP}{place}"] = share
    return found


def _label_rows(
    rows: pl.DataFrame, entity_class: str | None = None
) -> tuple[np.ndarray, np.ndarray, pl.Series, np.ndarray] | Unavailable:
    """One row per predicted label (of ``entity_class`` only, ``brand:...``, when given): its
    logged confidence, whether the true set has it (with ``truth``; else all False), its
    bucket (with ``bucket``; else empty) and its prediction's weight (with ``_weight``; else
    1)."""
    if rows["label_scores"].null_count():
        return Unavailable(
            "served predictions without 'label_scores' (the confidence of each predicted "
            "label); CBPE needs them on every row"
        )
    extra = ("truth", "bucket", "_weight")
    kept = ["labels", "label_scores", *(c for c in extra if c in rows.columns)]
    exploded = rows.select(kept).explode(["labels", "label_scores"]).drop_nulls("labels")
    if entity_class is not None:
        exploded = exploded.filter(pl.col("labels").str.starts_with(f"{entity_class}:"))
    confidence = exploded["label_scores"].to_numpy().astype(float)
    buckets = exploded["bucket"] if "bucket" in kept else pl.Series("bucket", [])
    weights = exploded["_weight"].to_numpy() if "_weight" in kept else np.ones(len(confidence))
    if "truth" not in kept:
        return confidence, np.zeros(len(confidence), bool), buckets, weights
    right = exploded.select(
        pl.col("truth").list.contains(pl.col("labels")).fill_null(False)
    ).to_series()
    return confidence, right.to_numpy(), buckets, weights


def bucket_sums(fitted: Fitted, rows: pl.DataFrame, signal: Signal) -> pl.DataFrame | Unavailable:
    """What a slice's estimate sums, per 5-minute bucket of ``rows`` (served predictions with
    ``event_time``), each row weighted by its stratum's labelled share (``Fitted.weights``):
    ``rows`` (a count), ``w`` and ``w2`` (the weights and their squares: the effective sample
    size of the sampling error) and, by task,

    - multiclass: per class column k, ``predicted_k`` (rows predicted as it), ``tp_k`` (their
      calibrated probability of it: the expected true positives) and ``expected_k`` (every
      row's calibrated probability of it: the expected true labels);
    - entities, multilabel: ``w`` and ``w2`` are the predicted labels' (a label weighs what its
      prediction does) and ``tp`` their weighted calibrated confidence;
    - score: one row per bucket and raw ``score`` (rounded to 4 places, as the quality table
      keeps score pairs): the estimated AUC ranks them.
    """
    bucket = rows["event_time"].dt.truncate(STEP).alias("bucket")
    weight = fitted.weights(rows)
    if signal.task == "multiclass":
        matrix = _matrix(rows, signal)
        if isinstance(matrix, Unavailable):
            return matrix
        calibrated = cbpe.calibrate(fitted.calibrators, matrix) if len(rows) else matrix
        predicted = _columns(signal, rows["label"])
        columns: dict[str, np.ndarray] = {"rows": np.ones(len(rows)), "w": weight, "w2": weight**2}
        for k in range(len(signal.classes)):
            mine = predicted == k
            columns[f"predicted_{k}"] = weight * mine
            columns[f"tp_{k}"] = weight * np.where(mine, calibrated[:, k], 0.0)
            columns[f"expected_{k}"] = weight * calibrated[:, k]
        frame = pl.DataFrame(columns).with_columns(bucket)
        return frame.group_by("bucket").agg(pl.all().sum()).sort("bucket")
    if signal.task == "score":
        frame = pl.DataFrame(
            {
                "bucket": bucket,
                "score": rows["score"].cast(pl.Float64).round(4),
                "w": weight,
                "w2": weight**2,
            }
        )
        return (
            frame.group_by("bucket", "score")
            .agg(rows=pl.len().cast(pl.Float64), w=pl.col("w").sum(), w2=pl.col("w2").sum())
            .sort("bucket", "score")
        )
    per_label = _label_rows(
        rows.with_columns(bucket, _weight=pl.Series(weight)), fitted.entity_class
    )
    if isinstance(per_label, Unavailable):
        return per_label
    confidence, _, buckets, weights = per_label
    counted = (
        pl.DataFrame(
            {
                "bucket": buckets,
                "w": weights,
                "w2": weights**2,
                "tp": weights * fitted.calibrators[0](confidence),
            }
        )
        .group_by("bucket")
        .agg(pl.col("w", "w2", "tp").sum())
    )
    served = rows.select(bucket).group_by("bucket").agg(rows=pl.len().cast(pl.Float64))
    return served.join(counted, on="bucket", how="left").fill_null(0.0).sort("bucket")


def _effective(w: float, w2: float) -> float:
    """Kish's effective sample size of weights summing to ``w`` (squares: ``w2``)."""
    return w * w / w2 if w2 > 0 else 0.0


def from_sums(
    fitted: Fitted, signal: Signal, sli: QualitySLI | AucSLI, sums: pl.DataFrame
) -> Estimated | Unavailable:
    """The slice's estimate from its buckets' sums (``bucket_sums``)."""
    metric = _metric(sli)
    if sums.is_empty():
        return Unavailable("no served predictions in the slice")
    if signal.task == "score":
        histogram = sums.group_by("score").agg(pl.col("rows", "w", "w2").sum()).sort("score")
        raw = histogram["score"].to_numpy()
        weights = histogram["w"].to_numpy()
        rows = int(histogram["rows"].sum())
        effective = _effective(float(weights.sum()), float(histogram["w2"].sum()))
        if not effective:
            return Unavailable("no served predictions like those the labels measure")
        value = cbpe.estimate_auc(fitted.calibrators[0](raw), raw, weights / weights.mean())
        error = fitted.components[0].error(effective)
    else:
        total = sums.drop("bucket").sum().row(0, named=True)
        rows = int(total["rows"])
        effective = _effective(total["w"], total["w2"])
        if not total["w"]:
            what = "predicted labels" if signal.task != "multiclass" else "served predictions"
            return Unavailable(f"no {what} like those the labels measure in the slice")
        if signal.task == "multiclass":
            values = []
            for k in _counted(signal, sli):
                tp, predicted, expected = (
                    total[f"{c}_{k}"] for c in ("tp", "predicted", "expected")
                )
                values.append(cbpe.from_counts(metric, tp, predicted - tp, expected - tp))
            value = float(np.mean(values))
            if sli.cls is None:
                error = cbpe.macro_error(list(fitted.components), effective)
            else:
                error = fitted.components[0].error(effective)
        else:
            value = float(total["tp"] / total["w"])
            error = fitted.components[0].error(effective)
    if math.isnan(value):
        return Unavailable("the estimate is undefined on this slice")
    if math.isnan(error):
        return Unavailable("the estimate's sampling error is undefined on this slice")
    lower, upper = cbpe.band(value, error)
    return Estimated("cbpe", value, lower, upper, rows)


def estimate(
    fitted: Fitted,
    data_dir: Path,
    signal: Signal,
    sli: QualitySLI | AucSLI,
    start: datetime,
    end: datetime,
) -> Estimated | Unavailable:
    """The SLI of the served predictions of ``[start, end)`` as CBPE expects it, read from the
    logs at once (a monitor keeps the sums per bucket: ``slice_sums``)."""
    rows = _rows(data_dir, signal, start, end)
    if rows is None or rows.is_empty():
        return Unavailable("no served predictions in the slice")
    sums = bucket_sums(fitted, rows, signal)
    return sums if isinstance(sums, Unavailable) else from_sums(fitted, signal, sli, sums)


def slice_sums(
    fitted: Fitted, data_dir: Path, signal: Signal, start: datetime, end: datetime, at: datetime
) -> pl.DataFrame | Unavailable:
    """The ``bucket_sums`` of the slice ``[start, end)`` up to ``at``, kept under
    ``<data>/partials/cbpe/`` per calibration and slice: each cycle reads the logs of the
    buckets not summed yet, and again of the last ``RECOMPUTE`` (logs written late), as the
    partial tables are kept (``monitors.partials``)."""
    upto = min(end, at)
    folder = data_dir / "partials" / "cbpe" / f"signal={signal.name}"
    path = folder / f"sums-{fitted.key}-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.parquet"
    mark = path.with_suffix(".json")
    kept, until = _read_sums(path, mark)
    until = until or start
    if kept is not None and until >= upto:
        return kept.filter(pl.col("bucket") < upto)
    lo = start if kept is None else max(start, until - RECOMPUTE)
    rows = _rows(data_dir, signal, lo, upto)
    fresh = None if rows is None else bucket_sums(fitted, rows, signal)
    if isinstance(fresh, Unavailable):
        return fresh
    parts = [p for p in (kept, fresh) if p is not None and len(p)]
    if kept is not None and len(kept):
        parts[0] = kept.filter(pl.col("bucket") < lo)
    sums = pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame()
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(sums, path)
    tmp = mark.with_suffix(".tmp")
    tmp.write_text(json.dumps({"until": upto.isoformat()}))
    tmp.replace(mark)
    _remember(_SUMS, mark, (upto, sums))
    _prune(folder)
    return sums


# What this process read or wrote last, per file, with the file's mtime then: a long-running
# ``serve`` reads a slice's sums and a fit once, not every 5 minutes, and again only when
# another process (a second scheduler on the same folder) wrote them since.
_SUMS: dict[Path, tuple[int, tuple[datetime, pl.DataFrame]]] = {}
_FITS: dict[Path, tuple[int, Fitted]] = {}
_REMEMBERED = 64  # files per cache


def _remember(cache: dict, path: Path, value) -> None:
    try:
        cache[path] = (path.stat().st_mtime_ns, value)
    except OSError:
        cache.pop(path, None)
        return
    while len(cache) > _REMEMBERED:
        cache.pop(next(iter(cache)))


def _recalled(cache: dict, path: Path):
    """The value kept for ``path`` if the file has not changed since (else None)."""
    found = cache.get(path)
    if found is None:
        return None
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = None
    return found[1] if mtime == found[0] else None


def _read_sums(path: Path, mark: Path) -> tuple[pl.DataFrame | None, datetime | None]:
    """A slice's kept sums and the time they run to (None, None: not summed yet, or
    damaged: summed again)."""
    remembered = _recalled(_SUMS, mark)
    if remembered is not None:
        until, kept = remembered
        return kept, until
    try:
        until = datetime.fromisoformat(json.loads(mark.read_text())["until"])
        kept = pl.read_parquet(path)
    except (OSError, ValueError, KeyError, pl.exceptions.PolarsError):
        return None, None
    _remember(_SUMS, mark, (until, kept))
    return kept, until


KEEP_SUMS = 16  # slices' sums kept per signal (a day's current and previous slice of each SLO)


def _prune(folder: Path) -> None:
    """Keep the newest ``KEEP_SUMS`` slices' sums of a signal."""
    kept = sorted(folder.glob("sums-*.parquet"), key=lambda p: p.stat().st_mtime)
    for old in kept[:-KEEP_SUMS]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)


@dataclass(frozen=True)
class Reference:
    """The window a slice's CBPE is fitted on, less the spans left out of it."""

    start: datetime
    end: datetime
    excluded: Spans = ()


def _fit_path(data_dir: Path, signal: Signal, slo_name: str, sli, ref: Reference) -> Path:
    spans = [[lo.isoformat(), hi.isoformat()] for lo, hi in ref.excluded]
    said = f"{FIT_VERSION}|{ref.start.isoformat()}|{ref.end.isoformat()}|{sli!r}|{spans}"
    key = hashlib.sha1(said.encode()).hexdigest()[:16]
    return data_dir / "partials" / "cbpe" / f"signal={signal.name}" / f"{slo_name}-{key}.json"


def fitted(
    data_dir: Path,
    signal: Signal,
    slo_name: str,
    sli: QualitySLI | AucSLI,
    start: datetime,
    end: datetime,
    known_at: datetime,
    excluded: Spans = (),
) -> Fitted | Unavailable:
    """The CBPE fit of ``[start, end)`` without the ``excluded`` spans, kept under
    ``<data>/partials/cbpe/``: computed once per reference window and spans left out (a fit
    that cannot be made is not kept: labels may still land)."""
    path = _fit_path(data_dir, signal, slo_name, sli, Reference(start, end, tuple(excluded)))
    remembered = _recalled(_FITS, path)
    if remembered is not None:
        return remembered
    if path.exists():
        found = Fitted.from_json(json.loads(path.read_text()))
        _remember(_FITS, path, found)
        return found
    found = fit(data_dir, signal, sli, start, end, known_at, excluded)
    if isinstance(found, Fitted):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(found.to_json()))
        tmp.replace(path)
        _remember(_FITS, path, found)
    return found


def reference(slo, start: datetime, bad_slices: Callable[[datetime, datetime], Spans]) -> Reference:
    """The reference of the slice starting at ``start``: ``previous`` is the span before it
    without the slices its labels judged bad (``bad_slices``, so an incident's labels do not
    become the next days' normal); a span the team named as normal is taken whole."""
    named = slo.sli.estimate.reference
    if named.previous is not None:
        lo = start - named.previous
        return Reference(lo, start, bad_slices(lo, start))
    return Reference(named.start, named.end)


@dataclass(frozen=True)
class Calibration:
    """What ``calibrate`` did for one slice of a CBPE SLO: its reference and the fit
    (``Fitted``, or why none: ``Unavailable``); ``kept``: the fit was there already."""

    signal: str
    slo: str
    slice_start: datetime
    reference: Reference
    result: Fitted | Unavailable
    kept: bool
    seconds: float
    failed: bool = False  # an error, not a want of labels

    @property
    def reason(self) -> str | None:
        """Why there is no fit (None: there is one)."""
        return self.result.reason if isinstance(self.result, Unavailable) else None

    def to_json(self) -> dict:
        fitted_ = self.result if isinstance(self.result, Fitted) else None
        excluded = self.reference.excluded
        return {
            "signal": self.signal,
            "slo": self.slo,
            "slice_start": self.slice_start.isoformat(),
            "reference": {
                "start": self.reference.start.isoformat(),
                "end": self.reference.end.isoformat(),
                "excluded": [[lo.isoformat(), hi.isoformat()] for lo, hi in excluded],
            },
            "fitted": fitted_ is not None,
            "kept": self.kept,
            "labelled": fitted_.labelled if fitted_ else None,
            "calibrated": sum(not c.identity for c in fitted_.calibrators) if fitted_ else None,
            "calibrators": len(fitted_.calibrators) if fitted_ else None,
            "reason": self.reason,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
        }


def calibrate(
    data_dir: Path,
    signal: Signal,
    slo,
    start: datetime,
    at: datetime,
    bad_slices: Callable[[datetime, datetime], Spans] = lambda lo, hi: (),
) -> Calibration:
    """Fit (or find kept) the CBPE of the slice starting at ``start`` as known at ``at``: what
    the daily job does ahead of the cycles (``sigwatch calibrate``), so that a cycle only
    reads it."""
    started = time.perf_counter()
    ref, was_kept, failed = Reference(start, start), False, False
    try:  # the stored bad slices, the logs, the fit: one SLO's failure is its own
        ref = reference(slo, start, bad_slices)
        was_kept = _fit_path(data_dir, signal, slo.name, slo.sli, ref).exists()
        result = fitted(data_dir, signal, slo.name, slo.sli, ref.start, ref.end, at, ref.excluded)
    except Exception as exc:
        log.warning("calibrating %s/%s failed: %r", signal.name, slo.name, exc)
        result, failed = Unavailable(failure("the fit", exc)), True
    seconds = time.perf_counter() - started
    return Calibration(signal.name, slo.name, start, ref, result, was_kept, seconds, failed)


def failure(what: str, exc: Exception) -> str:
    """``what`` failed, the exception's type and the first line of its message."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{what} failed: {type(exc).__name__}: {first}"


def for_slice(
    data_dir: Path,
    signal: Signal,
    slo,
    start: datetime,
    end: datetime,
    at: datetime,
    group: dict[str, str] | None = None,
    bad_slices: Callable[[datetime, datetime], Spans] = lambda lo, hi: (),
) -> SliceEstimate | None:
    """The estimate the SLO's ``estimate:`` asks for, of the slice ``[start, end)`` as known at
    ``at`` (None when it asks for none): CBPE fitted on the reference window the SLO names
    (``previous``: the span before the slice, without the slices its labels judged bad:
    ``bad_slices(start, end)``, so an incident's labels do not become the next days' normal),
    or why there is no estimate."""
    if slo.sli.estimate is None:
        return None
    return guarded(
        signal, slo, lambda: _for_slice(data_dir, signal, slo, start, end, at, group, bad_slices)
    )


def guarded(signal: Signal, slo, make: Callable[[], SliceEstimate]) -> SliceEstimate:
    """``make()``, or the estimate's failure as its reason: an estimate that fails never fails
    the SLO, nor the others."""
    try:
        return make()
    except Exception as exc:
        log.warning("the estimate of %s/%s failed: %r", signal.name, slo.name, exc)
        log.debug("the estimate's failure", exc_info=True)
        return SliceEstimate(slo.sli.estimate.method, reason=failure("the estimate", exc))


def _for_slice(
    data_dir: Path,
    signal: Signal,
    slo,
    start: datetime,
    end: datetime,
    at: datetime,
    group: dict[str, str] | None,
    bad_slices: Callable[[datetime, datetime], Spans],
) -> SliceEstimate:
    if group is not None:
        return SliceEstimate("cbpe", reason="a group's estimate is not computed yet")
    ref = reference(slo, start, bad_slices)
    fit_ = fitted(data_dir, signal, slo.name, slo.sli, ref.start, ref.end, at, ref.excluded)
    if isinstance(fit_, Unavailable):
        return SliceEstimate("cbpe", reason=fit_.reason)
    sums = slice_sums(fit_, data_dir, signal, start, end, at)
    got = sums if isinstance(sums, Unavailable) else from_sums(fit_, signal, slo.sli, sums)
    if isinstance(got, Unavailable):
        return SliceEstimate("cbpe", reason=got.reason)
    return SliceEstimate("cbpe", got.value, got.lower, got.upper, got.n)
