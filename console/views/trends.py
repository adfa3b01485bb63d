"""SLO trends, for leadership: compliance per signal per week and month, error-budget
burn-down, incidents and time to resolve, cost per 1k and monthly spend; CSV download; the
weekly SLO review (the one ``serve`` posts on Mondays) as Markdown and PNG."""

from __future__ import annotations

import polars as pl
import streamlit as st

from alerts.weekly import WEEK, build_review, last_full_week, week_name
from console import charts, common, data

st.title("SLO trends")
at = common.require_data()
common.freshness(at)
registry = common.registry()

period_label = st.radio("Period", ["week", "month"], horizontal=True)
period = {"week": "1w", "month": "1mo"}[period_label]
table = common.get(data.compliance, at, period)
st.header(f"Compliance per signal per {period_label}")
if table.is_empty():
    st.info("No measurements yet.")
else:
    per_signal = (
        table.group_by("signal", "period")
        .agg(pl.col("met").mean().alias("slos_met"), pl.len().alias("slos"))
        .sort("signal", "period")
    )
    common.draw(lambda: charts.lines(per_signal, "period", "slos_met", "signal", fmt=".0%"))
    shown = table.with_columns(pl.col("period").dt.strftime("%Y-%m-%d"))
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={"compliance": st.column_config.NumberColumn(format="%.4f")},
    )
    st.download_button(
        "Download CSV",
        shown.write_csv(),
        file_name=f"sigwatch-compliance-{period_label}.csv",
        mime="text/csv",
    )

st.header("Error budget burn-down")
pairs = [f"{s.name} / {o.name}" for s in registry for o in s.slos]
picked = st.selectbox("SLO", pairs)
signal_name, slo_name = picked.split(" / ")
slo = registry.get(signal_name).slo(slo_name)
burn = common.get(data.budget_burndown, signal_name, slo_name, at - slo.objective.window, at)
if burn.is_empty():
    st.info("No evaluations of this SLO yet.")
else:
    picked_burn = burn.with_columns(pl.lit(picked).alias("slo"))
    common.draw(lambda: charts.lines(picked_burn, "t", "budget_remaining", "slo", fmt=".0%"))

st.header("Incidents")
incidents = common.get(data.incidents)
if incidents.is_empty():
    st.success("No incidents recorded.")
else:
    weekly = (
        incidents.with_columns(pl.col("started_at").dt.truncate("1w").alias("week"))
        .group_by("week", "signal")
        .agg(
            pl.len().alias("incidents"),
            pl.col("minutes_to_resolve").median().alias("median_minutes_to_resolve"),
        )
        .sort("week", "signal")
    )
    st.dataframe(weekly, hide_index=True, width="stretch")

st.header("Cost")
costs = common.get(data.daily_cost)
if costs.is_empty():
    st.info("No cost slices yet.")
else:
    common.draw(lambda: charts.lines(costs, "day", "cost_per_1k", "signal"))
    monthly = (
        costs.with_columns(pl.col("day").dt.truncate("1mo").alias("month"))
        .group_by("month", "signal")
        .agg(
            pl.col("spend_usd").sum().alias("spend_usd"),
            pl.col("external_share").mean().alias("external_share"),
        )
        .sort("month", "signal")
    )
    st.dataframe(
        monthly,
        hide_index=True,
        width="stretch",
        column_config={
            "spend_usd": st.column_config.NumberColumn(format="$%.2f"),
            "external_share": st.column_config.NumberColumn(format="percent"),
        },
    )

st.header("Weekly SLO review")
st.caption(
    "The review `serve` posts to the digest channel every week (SIGWATCH_WEEKLY_AT): compliance "
    "against objective, error budget left, incidents with time to detect and resolve, cost, "
    "and the worst three SLOs."
)
weeks = [last_full_week(at) - k * WEEK for k in range(8)]
picked_week = st.selectbox("Week", weeks, format_func=week_name)
if st.button("Prepare the review", icon=":material/summarize:"):
    with common.store() as store:
        review = build_review(store, registry, common.runtime().data_dir, picked_week)
    st.session_state["weekly_review"] = (review.markdown(), review.png(), review.name)
if "weekly_review" in st.session_state:
    markdown, png, name = st.session_state["weekly_review"]
    left, right = st.columns(2)
    left.download_button(
        "Download Markdown", markdown, file_name=f"sigwatch-weekly-{name}.md", mime="text/markdown"
    )
    right.download_button(
        "Download PNG", png, file_name=f"sigwatch-weekly-{name}.png", mime="image/png"
    )
    with st.expander(f"Review {name}", expanded=True):
        st.markdown(markdown)
        st.image(png)
