"""Overview, on-call's home: every signal x SLO with its state, budget, fastest burn and a
sparkline; open alerts first, then SLOs whose error budget is spent (counted on their own);
filters by owner, state and SLI kind."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from console import common, data
from sigwatch.states import SloState

st.title("Overview")
at = common.require_data()
common.freshness(at)
# the runs as of the console's fixed time (--at), else all: a wall-clock "now" in the key
# would miss the cache at every rerun
as_of = common.settings().console_at
# a monitor that fails comes before every SLO state: those are its last good run's
for broken in common.get(data.failing_monitors, as_of):
    st.error(
        f"**{broken['signal']}: the monitor is failing** since "
        f"{broken['since']:%Y-%m-%d %H:%M} UTC ({broken['failures']} runs in a row): "
        f"{common.plain(broken['error'])}. Its SLO states below are stale, from its last good "
        "run.",
        icon=":material/error:",
    )
grid = common.get(data.overview, as_of)
spark = common.get(data.sparklines, at, timedelta(hours=24))

# a failing monitor's rows are counted as stale, not by the state of its last good run
fresh = grid.filter(pl.col("stale_since").is_null())
counts = fresh.group_by("state").len()
stale = len(grid) - len(fresh)
columns = st.columns(len(SloState) + 1 + (stale > 0))
for column, state in zip(columns, SloState, strict=False):
    n = counts.filter(pl.col("state") == state)["len"].sum()
    column.metric(common.STATE_MD[state], int(n))
if stale:
    why = "SLOs of a signal whose monitor is failing: their states are from its last good run."
    columns[len(SloState)].metric("Stale", stale, help=why + " Counted here, under no state.")
columns[-1].metric(
    common.BUDGET_SPENT_LABEL,
    int(grid["budget_exhausted"].sum()),
    help="SLOs whose error budget over their window is spent, whatever their state now: "
    "the error-budget policy freezes their releases until the budget recovers.",
)

open_alerts = common.get(data.alerts_frame, False)
if open_alerts.is_empty():
    st.success("No open alerts.")
else:
    st.subheader(f"Open alerts ({len(open_alerts)})")
    st.dataframe(
        common.styled(
            open_alerts.select(
                "state",
                "key",
                "severity",
                "started_at",
                "last_value",
                "fastest_burn",
                "suspects",
                "part_of",
                "silenced",
            ),
            "state",
        ),
        hide_index=True,
        width="stretch",
        column_config=common.SUSPECTS_COLUMN,
    )

left, middle, right = st.columns(3)
owners = left.multiselect("Owner", sorted(grid["owner"].unique()))
states = middle.multiselect("State", list(SloState), format_func=lambda s: s.words)
kinds = right.multiselect("SLI kind", sorted(grid["sli"].unique()))
shown = grid
if owners:
    shown = shown.filter(pl.col("owner").is_in(owners))
if states:
    shown = shown.filter(pl.col("state").is_in(states))
if kinds:
    shown = shown.filter(pl.col("sli").is_in(kinds))

words = pl.col("state").replace_strict({s.value: s.words for s in SloState})
shown_value = pl.col("value").map_elements(lambda v: f"{v:.4f}", return_dtype=pl.Utf8)
lines = spark.group_by("signal", "slo", maintain_order=True).agg(pl.col("value").alias("trend"))
table = (
    shown.join(lines, on=["signal", "slo"], how="left")
    .with_columns(
        pl.when(pl.col("stale_since").is_not_null())
        .then(pl.lit(common.STALE + " ") + pl.col("stale_since").dt.strftime("%m-%d %H:%M"))
        .when(pl.col("budget_exhausted"))
        .then(words + " · " + common.BUDGET_SPENT)
        .otherwise(words)
        .alias("state"),
        ("/signal?signal=" + pl.col("signal")).alias("page"),
        # an estimate says so; nothing measured reads as a dash and why, never "None"
        pl.when(pl.col("value").is_not_null() & pl.col("estimated").is_not_null())
        .then(pl.format("{} (estimated, {})", shown_value, pl.col("estimated")))
        .when(pl.col("value").is_not_null())
        .then(shown_value)
        .when(pl.col("no_estimate").is_not_null())
        .then(pl.format("— {}; no estimate: {}", words, pl.col("no_estimate")))
        .otherwise(pl.lit("— ") + words)
        .alias("value"),
        pl.when(pl.col("target").is_not_null())
        .then(pl.col("target"))
        .otherwise(pl.format("≥ {}", pl.col("objective")))
        .alias("target / objective"),
    )
    .select(
        "page",
        "slo",
        "state",
        "groups",
        "value",
        "target / objective",
        "budget_remaining",
        "fastest_burn",
        "trend",
        "open_alerts",
        "sli",
        "owner",
    )
    # the state as a coloured label (a one-item list), not a styled cell: a pandas Styler
    # formats every cell of the grid at every run
    .with_columns(pl.concat_list("state").alias("state"))
)
st.subheader(f"SLOs ({len(table)} of {len(grid)})")
labels = [s.words for s in SloState] + [f"{s.words} · {common.BUDGET_SPENT}" for s in SloState]
labels += sorted(set(table["state"].list.first()) - set(labels))  # "stale since 11-26 00:05"
colors = [common.label_color(label) or "#e6e6e6" for label in labels]
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        "state": st.column_config.MultiselectColumn("state", options=labels, color=colors),
        "page": st.column_config.LinkColumn("signal", display_text=r"/signal\?signal=(.*)"),
        "value": st.column_config.TextColumn(
            "value",
            width=160,
            help="The latest value; an estimate while a quality slice has too few labels "
            "(estimated, with its method); a dash and why when there is none.",
        ),
        # green over half the budget left, red under: a full budget does not read as an alarm
        "budget_remaining": st.column_config.ProgressColumn(
            "budget left", min_value=0.0, max_value=1.0, format="percent", color="auto"
        ),
        "fastest_burn": st.column_config.NumberColumn("fastest burn", format="%.1fx"),
        "trend": st.column_config.LineChartColumn("last 24 h"),
        "open_alerts": st.column_config.NumberColumn("alerts"),
        "groups": st.column_config.TextColumn(
            "groups",
            help="A grouped SLO (group_by): its groups per state; its own state and "
            "value are its worst group's.",
        ),
    },
)
