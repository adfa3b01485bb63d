"""NannyML's CBPE on the seeded data of ``peer/cbpe_data.py``: the estimates, sampling errors
and calibration decisions per slice, written as the golden file ``tests/test_cbpe_peer.py``
compares sigwatch's ``sigwatch.cbpe`` with. Runs in ``.venv-peer`` (``make peer``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nannyml
import pandas as pd
from nannyml.calibration import NoopCalibrator

from peer import cbpe_data


def _chunks(result, metrics: list[str]) -> list[dict]:
    frame = result.filter(period="analysis").to_df()
    out = []
    for _, row in frame.iterrows():
        chunk = {}
        for metric in metrics:
            chunk[metric] = {
                "value": float(row[(metric, "value")]),
                "sampling_error": float(row[(metric, "sampling_error")]),
                "lower": float(row[(metric, "lower_confidence_boundary")]),
                "upper": float(row[(metric, "upper_confidence_boundary")]),
            }
        out.append(chunk)
    return out


def binary() -> dict:
    data = cbpe_data.binary()
    n = int(data["reference_rows"])
    frame = pd.DataFrame({k: data[k] for k in ("score", "truth", "predicted")})
    metrics = ["roc_auc", "precision", "recall", "f1"]
    estimator = nannyml.CBPE(
        y_pred_proba="score",
        y_pred="predicted",
        y_true="truth",
        problem_type="classification_binary",
        metrics=metrics,
        chunk_size=cbpe_data.CHUNK,
    )
    estimator.fit(frame.iloc[:n].reset_index(drop=True))
    result = estimator.estimate(frame.iloc[n:].drop(columns="truth").reset_index(drop=True))
    return {"calibrated": bool(estimator.needs_calibration), "chunks": _chunks(result, metrics)}


def multiclass() -> dict:
    data = cbpe_data.multiclass()
    n = int(data["reference_rows"])
    classes = cbpe_data.CLASSES
    frame = pd.DataFrame({f"p_{c}": data["proba"][:, k] for k, c in enumerate(classes)})
    frame["truth"] = [classes[k] for k in data["truth"]]
    frame["predicted"] = [classes[k] for k in data["predicted"]]
    metrics = ["precision", "recall", "f1"]
    estimator = nannyml.CBPE(
        y_pred_proba={c: f"p_{c}" for c in classes},
        y_pred="predicted",
        y_true="truth",
        problem_type="classification_multiclass",
        metrics=metrics,
        chunk_size=cbpe_data.CHUNK,
    )
    estimator.fit(frame.iloc[:n].reset_index(drop=True))
    result = estimator.estimate(frame.iloc[n:].drop(columns="truth").reset_index(drop=True))
    calibrated = {c: not isinstance(estimator._calibrators[c], NoopCalibrator) for c in classes}
    return {"calibrated": calibrated, "chunks": _chunks(result, metrics)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="the golden JSON to write")
    args = parser.parse_args()
    golden = {
        "nannyml": nannyml.__version__,
        "binary": binary(),
        "multiclass": multiclass(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
