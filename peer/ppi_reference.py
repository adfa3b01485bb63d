"""ppi-python's ``ppi_mean_ci`` and point estimates (PPI: λ = 1; PPI++: λ tuned) on the seeded
cases of ``peer/ppi_data.py``, written as the golden file ``tests/test_ppi_peer.py`` compares
``sigwatch.ppi`` with. Runs in ``.venv-peer`` (``make peer``)."""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ppi_py import ppboot, ppi_mean_ci, ppi_mean_pointestimate
from ppi_py.utils import form_discrete_distribution

from peer import ppi_data


def _label_shift(y: np.ndarray, yhat: np.ndarray, unlabeled: np.ndarray) -> float:
    """The point estimate of ``ppi_distribution_label_shift_ci`` at K = 2 (the function
    returns only its bounds): the share of class 1, nu·inv(A)·q, A the judge's confusion matrix
    normalised per true class on the gold items, q the judge's distribution on the rest."""
    counts = np.array([[np.sum((yhat == j) & (y == k)) for k in (0, 1)] for j in (0, 1)])
    ahat = counts / counts.sum(axis=0)
    return float(np.array([0, 1]) @ np.linalg.inv(ahat) @ form_discrete_distribution(unlabeled))


def _recall(pairs: np.ndarray) -> float:
    return pairs[:, 0].sum() / pairs[:, 1].sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="the golden JSON to write")
    args = parser.parse_args()
    cases = []
    for spec in ppi_data.CASES:
        y, yhat, unlabeled = ppi_data.case(*spec)
        row = {"case": list(spec)}
        for name, lam in (("ppi", 1), ("ppi++", None)):
            for alpha in (0.05, 0.1):
                low, high = ppi_mean_ci(y, yhat, unlabeled, alpha=alpha, lam=lam)
                row[f"{name}@{alpha}"] = [float(np.squeeze(low)), float(np.squeeze(high))]
            row[f"{name}@value"] = float(
                np.squeeze(ppi_mean_pointestimate(y, yhat, unlabeled, lam=lam))
            )
        cases.append(row)
    weighted = []
    for spec in ppi_data.WEIGHTED_CASES:
        y, yhat, unlabeled, w, w_unlabeled = ppi_data.weighted_case(*spec)
        row = {"case": list(spec)}
        for name, lam in (("ppi", 1), ("ppi++", None)):
            low, high = ppi_mean_ci(
                y, yhat, unlabeled, alpha=0.05, lam=lam, w=w, w_unlabeled=w_unlabeled
            )
            row[name] = [float(np.squeeze(low)), float(np.squeeze(high))]
            row[f"{name}@value"] = float(
                np.squeeze(
                    ppi_mean_pointestimate(
                        y, yhat, unlabeled, lam=lam, w=w, w_unlabeled=w_unlabeled
                    )
                )
            )
        weighted.append(row)
    ratios = []
    for spec in ppi_data.RATIO_CASES:
        y, yhat, unlabeled = ppi_data.recall_case(*spec)
        row = {"case": list(spec)}
        for name, lam in (("ppboot", 1), ("ppboot++", None)):
            np.random.seed(20261207)  # ppboot draws from NumPy's global generator
            low, high = ppboot(
                _recall,
                y,
                yhat,
                unlabeled,
                lam=lam,
                alpha=0.05,
                n_resamples=10000,
                n_resamples_lam=1000,
            )
            row[name] = [float(low), float(high)]
        ratios.append(row)
    shifts = []
    for spec in ppi_data.CASES:
        y, yhat, unlabeled = (a.astype(int) for a in ppi_data.case(*spec))
        shifts.append({"case": list(spec), "share": _label_shift(y, yhat, unlabeled)})
    golden = {
        "ppi-python": version("ppi-python"),
        "cases": cases,
        "weighted": weighted,
        "ratios": ratios,
        "label_shift": shifts,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
