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
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from monitors.logs import scan_labels, scan_logs
from sigwatch import cbpe
from sigwatch.kinds import SCORED, AucSLI, QualitySLI
from sigwatch.model import Signal
from sigwatch.states import SliceEstimate

MIN_REFERENCE_LABELS = 100  # labelled predictions a calibration needs


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

    def to_json(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "labelled": self.labelled,
            "calibrators": [{"x": list(c.x), "y": list(c.y)} for c in self.calibrators],
            "components": [[c.std, c.fraction] for c in self.components],
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


def _rows(data_dir: Path, signal: Signal, start: datetime, end: datetime) -> pl.DataFrame | None:
    """Served predictions of ``[start, end)`` with what CBPE reads of them."""
    column = SCORED[signal.task]
    prediction = {"multiclass": "label", "score": "score"}.get(signal.task, "labels")
    columns = list(dict.fromkeys(["item_id", "status", prediction, column]))
    logs = scan_logs(data_dir, signal, start, end, columns)
    if logs is None:
        return None
    return logs.filter(pl.col("status") == "ok").collect()


def _columns(signal: Signal, classes: pl.Series) -> np.ndarray:
    """Each row's class as its column in ``scores`` (-1: not one of the signal's classes)."""
    index = {c: k for k, c in enumerate(signal.classes)}
    return np.array([index.get(c, -1) for c in classes])


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
    matrix = np.array(vectors.to_list(), dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != len(signal.classes):
        return Unavailable(f"'scores' must hold {len(signal.classes)} probabilities a row")
    return matrix


def fit(
    data_dir: Path,
    signal: Signal,
    sli: QualitySLI | AucSLI,
    start: datetime,
    end: datetime,
    known_at: datetime,
) -> Fitted | Unavailable:
    """CBPE fitted on the served predictions of ``[start, end)`` labelled by ``known_at``."""
    if signal.task in ("multilabel", "entities") and _metric(sli) != "precision":
        return Unavailable(
            f"{_metric(sli)} of a {signal.task} signal is not estimable without labels: its "
            "logs score only the labels it predicted, not those it missed"
        )
    rows = _rows(data_dir, signal, start, end)
    labels = scan_labels(data_dir, signal, known_at)
    if rows is None or labels is None:
        return Unavailable("no logs or no labels in the reference window")
    truth_column = "labels" if signal.task in ("multilabel", "entities") else "label"
    joined = rows.join(
        labels.select("item_id", pl.col(truth_column).alias("truth")).collect(), on="item_id"
    )
    if len(joined) < MIN_REFERENCE_LABELS:
        return Unavailable(
            f"the reference window has {len(joined):,} labelled predictions; CBPE needs "
            f"{MIN_REFERENCE_LABELS:,} to calibrate on"
        )
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
        per_label = _label_rows(joined)
        if isinstance(per_label, Unavailable):
            return per_label
        confidence, right = per_label
        calibrators = (cbpe.fit_calibrator(right, confidence),)
        components = (cbpe.error_component("precision", right, np.ones(len(right), bool)),)
    return Fitted(start, end, len(joined), calibrators, components)


def _label_rows(rows: pl.DataFrame) -> tuple[np.ndarray, np.ndarray] | Unavailable:
    """One row per predicted label: its logged confidence and, with ``truth``, whether the
    true set has it."""
    if rows["label_scores"].null_count():
        return Unavailable(
            "served predictions without 'label_scores' (the confidence of each predicted "
            "label); CBPE needs them on every row"
        )
    exploded = rows.select(
        pl.col("labels"),
        pl.col("label_scores"),
        *([pl.col("truth")] if "truth" in rows.columns else []),
    ).explode(["labels", "label_scores"])
    exploded = exploded.drop_nulls("labels")
    confidence = exploded["label_scores"].to_numpy().astype(float)
    if "truth" not in exploded.columns:
        return confidence, np.zeros(len(confidence), bool)
    right = exploded.select(
        pl.col("truth").list.contains(pl.col("labels")).fill_null(False)
    ).to_series()
    return confidence, right.to_numpy()


def estimate(
    fitted: Fitted,
    data_dir: Path,
    signal: Signal,
    sli: QualitySLI | AucSLI,
    start: datetime,
    end: datetime,
) -> Estimated | Unavailable:
    """The SLI of the served predictions of ``[start, end)`` as CBPE expects it."""
    rows = _rows(data_dir, signal, start, end)
    if rows is None or rows.is_empty():
        return Unavailable("no served predictions in the slice")
    metric = _metric(sli)
    if signal.task == "multiclass":
        matrix = _matrix(rows, signal)
        if isinstance(matrix, Unavailable):
            return matrix
        calibrated = cbpe.calibrate(fitted.calibrators, matrix)
        predicted = _columns(signal, rows["label"])
        values = [
            cbpe.estimate(metric, predicted == k, calibrated[:, k]) for k in _counted(signal, sli)
        ]
        value = float(np.mean(values))
        if sli.cls is None:
            error = cbpe.macro_error(list(fitted.components), len(rows))
        else:
            error = fitted.components[0].error(len(rows))
    elif signal.task == "score":
        raw = rows["score"].to_numpy().astype(float)
        value = cbpe.estimate_auc(fitted.calibrators[0](raw), raw)
        error = fitted.components[0].error(len(rows))
    else:
        per_label = _label_rows(rows)
        if isinstance(per_label, Unavailable):
            return per_label
        confidence, _ = per_label
        if not len(confidence):
            return Unavailable("no predicted labels in the slice")
        value = float(np.mean(fitted.calibrators[0](confidence)))
        error = fitted.components[0].error(len(confidence))
    if math.isnan(value):
        return Unavailable("the estimate is undefined on this slice")
    lower, upper = cbpe.band(value, error)
    return Estimated("cbpe", value, lower, upper, len(rows))


def fitted(
    data_dir: Path,
    signal: Signal,
    slo_name: str,
    sli: QualitySLI | AucSLI,
    start: datetime,
    end: datetime,
    known_at: datetime,
) -> Fitted | Unavailable:
    """The CBPE fit of ``[start, end)``, kept under ``<data>/partials/cbpe/``: computed once
    per reference window (a fit that cannot be made is not kept: labels may still land)."""
    key = hashlib.sha1(f"{start.isoformat()}|{end.isoformat()}|{sli!r}".encode()).hexdigest()[:16]
    path = data_dir / "partials" / "cbpe" / f"signal={signal.name}" / f"{slo_name}-{key}.json"
    if path.exists():
        return Fitted.from_json(json.loads(path.read_text()))
    found = fit(data_dir, signal, sli, start, end, known_at)
    if isinstance(found, Fitted):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(found.to_json()))
        tmp.replace(path)
    return found


def for_slice(
    data_dir: Path,
    signal: Signal,
    slo,
    start: datetime,
    end: datetime,
    at: datetime,
    group: dict[str, str] | None = None,
) -> SliceEstimate | None:
    """The estimate the SLO's ``estimate:`` asks for, of the slice ``[start, end)`` as known at
    ``at`` (None when it asks for none): CBPE fitted on the reference window the SLO names
    (``previous``: the span before the slice), or why there is no estimate."""
    wanted = slo.sli.estimate
    if wanted is None:
        return None
    if wanted.method != "cbpe":
        return SliceEstimate(wanted.method, reason="the judge's estimate is not computed yet")
    if group is not None:
        return SliceEstimate("cbpe", reason="a group's estimate is not computed yet")
    reference = wanted.reference
    if reference.previous is not None:
        ref_start, ref_end = start - reference.previous, start
    else:
        ref_start, ref_end = reference.start, reference.end
    fit_ = fitted(data_dir, signal, slo.name, slo.sli, ref_start, ref_end, at)
    if isinstance(fit_, Unavailable):
        return SliceEstimate("cbpe", reason=fit_.reason)
    got = estimate(fit_, data_dir, signal, slo.sli, start, min(end, at))
    if isinstance(got, Unavailable):
        return SliceEstimate("cbpe", reason=got.reason)
    return SliceEstimate("cbpe", got.value, got.lower, got.upper, got.n)
