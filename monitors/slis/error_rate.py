"""error_rate: good = neither ``error`` nor ``timeout``."""

from __future__ import annotations

import numpy as np
import polars as pl

from monitors.slis.base import OccurrenceCalculation
from sigwatch.kinds import ErrorRateSLI


class ErrorRate(OccurrenceCalculation):
    sli = ErrorRateSLI

    def good_total(self, sli, signal, table: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        total = table["total"].to_numpy()
        return total - table["error"].to_numpy() - table["timeout"].to_numpy(), total

    def bad_rows(self, sli, signal) -> tuple[pl.Expr, pl.Expr]:
        """An error or a timeout, of all rows."""
        return pl.col("status").is_in(["error", "timeout"]), pl.lit(True)
