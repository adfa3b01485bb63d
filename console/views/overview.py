"""Overview, on-call's home: every signal x SLO with its state, budget, fastest burn and a
sparkline; open alerts first; filters by owner, state and SLI kind."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from console import common
from sigwatch.states import SloState

st.title("Overview")
at = common.require_data()
common.freshness(at)
grid = common.get("overview")
spark = common.get("sparklines", at, timedelta(hours=24))

counts = grid.group_by("state").len()
columns = st.columns(5)
for column, state in zip(columns, SloState, strict=True):
    n = counts.filter(pl.col("state") == state)["len"].sum()
    column.metric(common.STATE_ICON[state], int(n))

open_alerts = common.get("alerts_frame", False)
if open_alerts.is_empty():
    st.success("No open alerts.")
else:
    st.subheader(f"Open alerts ({len(open_alerts)})")
    st.dataframe(
        open_alerts.select(
            pl.col("state").replace_strict(common.ALERT_ICON, default=pl.col("state")),
            "key", "severity", "started_at", "last_value", "fastest_burn", "silenced",
        ),
        hide_index=True, width="stretch",
    )  # fmt: skip

left, middle, right = st.columns(3)
owners = left.multiselect("Owner", sorted(grid["owner"].unique()))
states = middle.multiselect("State", list(common.STATE_ICON), format_func=common.STATE_ICON.get)
kinds = right.multiselect("SLI kind", sorted(grid["sli"].unique()))
shown = grid
if owners:
    shown = shown.filter(pl.col("owner").is_in(owners))
if states:
    shown = shown.filter(pl.col("state").is_in(states))
if kinds:
    shown = shown.filter(pl.col("sli").is_in(kinds))

lines = spark.group_by("signal", "slo", maintain_order=True).agg(pl.col("value").alias("trend"))
table = (
    shown.join(lines, on=["signal", "slo"], how="left")
    .with_columns(
        pl.col("state").replace_strict(common.STATE_ICON, default=pl.col("state")),
        ("/signal?signal=" + pl.col("signal")).alias("page"),
        pl.when(pl.col("target").is_not_null()).then(pl.col("target"))
        .otherwise(pl.format("≥ {}", pl.col("objective"))).alias("target / objective"),
    )
    .select("page", "slo", "state", "value", "target / objective", "budget_remaining",
            "fastest_burn", "trend", "open_alerts", "sli", "owner")
)  # fmt: skip
st.subheader(f"SLOs ({len(table)} of {len(grid)})")
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        "page": st.column_config.LinkColumn("signal", display_text=r"/signal\?signal=(.*)"),
        "value": st.column_config.NumberColumn(format="%.4f"),
        "budget_remaining": st.column_config.ProgressColumn(
            "budget left", min_value=0.0, max_value=1.0, format="percent"
        ),
        "fastest_burn": st.column_config.NumberColumn("fastest burn", format="%.1fx"),
        "trend": st.column_config.LineChartColumn("last 24 h"),
        "open_alerts": st.column_config.NumberColumn("alerts"),
    },
)
