"""error_rate: good = neither ``error`` nor ``timeout``."""

from __future__ import annotations

import numpy as np
import polars as pl

KINDS = ("error_rate",)


def good_total(sli, signal, table: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    total = table["total"].to_numpy()
    return total - table["error"].to_numpy() - table["timeout"].to_numpy(), total


def bad_rows(sli, signal) -> tuple[pl.Expr, pl.Expr]:
    """An error or a timeout, of all rows (``monitors.suspects``)."""
    return pl.col("status").is_in(["error", "timeout"]), pl.lit(True)
