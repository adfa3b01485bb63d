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

from ppi_py import ppi_mean_ci, ppi_mean_pointestimate

from peer import ppi_data


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
    golden = {"ppi-python": version("ppi-python"), "cases": cases}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
