"""sigwatch's CBPE equals NannyML 0.13's on seeded binary and multiclass data, slice by slice:
estimates and sampling errors to 1e-6, and the decision to calibrate. The golden file is
NannyML's own output (``make peer`` regenerates it in ``.venv-peer``; peer/nannyml_cbpe.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from peer import cbpe_data
from sigwatch import cbpe
from tests.conftest import ROOT

GOLDEN = json.loads((ROOT / "tests" / "fixtures" / "peer" / "cbpe.json").read_text())


def _slices(rows: int, start: int) -> list[slice]:
    return [slice(s, s + cbpe_data.CHUNK) for s in range(start, rows, cbpe_data.CHUNK)]


def _compare(got: dict, expected: dict) -> None:
    assert got["value"] == pytest.approx(expected["value"], abs=1e-6)
    assert got["sampling_error"] == pytest.approx(expected["sampling_error"], abs=1e-6)
    assert got["lower"] == pytest.approx(expected["lower"], abs=1e-6)
    assert got["upper"] == pytest.approx(expected["upper"], abs=1e-6)


def test_binary_estimates_equal_nannymls():
    data = cbpe_data.binary()
    n = int(data["reference_rows"])
    score, truth, predicted = data["score"], data["truth"], data["predicted"]
    calibrator = cbpe.fit_calibrator(truth[:n], score[:n])
    assert (not calibrator.identity) is GOLDEN["binary"]["calibrated"]
    components = {m: cbpe.error_component(m, truth[:n], predicted[:n]) for m in cbpe.METRICS}
    components["roc_auc"] = cbpe.auc_component(truth[:n], score[:n])
    chunks = _slices(len(score), n)
    assert len(chunks) == len(GOLDEN["binary"]["chunks"]) == 5
    for part, expected in zip(chunks, GOLDEN["binary"]["chunks"], strict=True):
        raw, rows = score[part], part.stop - part.start
        proba = calibrator(raw)
        values = {m: cbpe.estimate(m, predicted[part] == 1, proba) for m in cbpe.METRICS}
        values["roc_auc"] = cbpe.estimate_auc(proba, raw)
        for metric, value in values.items():
            error = components[metric].error(rows)
            lower, upper = cbpe.band(value, error)
            got = {"value": value, "sampling_error": error, "lower": lower, "upper": upper}
            _compare(got, expected[metric])


def test_multiclass_macro_estimates_equal_nannymls():
    data = cbpe_data.multiclass()
    n = int(data["reference_rows"])
    proba, truth, predicted = data["proba"], data["truth"], data["predicted"]
    calibrators = cbpe.fit_calibrators(truth[:n], proba[:n])
    decided = {c: not k.identity for c, k in zip(cbpe_data.CLASSES, calibrators, strict=True)}
    assert decided == GOLDEN["multiclass"]["calibrated"]
    assert set(decided.values()) == {True, False}  # the data tries both decisions
    classes = range(len(cbpe_data.CLASSES))
    components = {
        m: [
            cbpe.error_component(m, truth[:n] == k, predicted[:n] == k, of_macro=True)
            for k in classes
        ]
        for m in cbpe.METRICS
    }
    chunks = _slices(len(truth), n)
    for part, expected in zip(chunks, GOLDEN["multiclass"]["chunks"], strict=True):
        calibrated = cbpe.calibrate(calibrators, proba[part])
        rows = part.stop - part.start
        for metric in cbpe.METRICS:
            value = float(
                np.mean(
                    [cbpe.estimate(metric, predicted[part] == k, calibrated[:, k]) for k in classes]
                )
            )
            error = cbpe.macro_error(components[metric], rows)
            lower, upper = cbpe.band(value, error)
            got = {"value": value, "sampling_error": error, "lower": lower, "upper": upper}
            _compare(got, expected[metric])
