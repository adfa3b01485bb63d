"""coverage: good = served (``monitors.engine.served``: status ``ok`` and score >= the serving
threshold); all eligible items count."""

from __future__ import annotations

import numpy as np
import polars as pl

from monitors.engine import served
from monitors.slis.base import OccurrenceCalculation
from sigwatch.kinds import CoverageSLI


class Coverage(OccurrenceCalculation):
    sli = CoverageSLI

    def good_total(self, sli, signal, table: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return table["served"].to_numpy(), table["total"].to_numpy()

    def bad_rows(self, sli, signal) -> tuple[pl.Expr, pl.Expr]:
        """A row not served, of all rows."""
        return ~served(signal).fill_null(False), pl.lit(True)
