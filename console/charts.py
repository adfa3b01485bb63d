"""Altair charts for the pages (Polars frames go straight in)."""

from __future__ import annotations

import altair as alt
import polars as pl

STATE_COLORS = alt.Scale(domain=["warning", "breach"], range=["#f5a623", "#d0021b"])


def sli_over_time(history: pl.DataFrame, bands: pl.DataFrame, alerts: pl.DataFrame,
                  line: float | None, title: str, percent: bool) -> alt.LayerChart:  # fmt: skip
    """The SLI with its target or objective line, bands where the SLO was warning or breach,
    and a rule where each alert opened."""
    fmt = ".2%" if percent else ".3f"
    base = alt.Chart(history).encode(x=alt.X("t:T", title=None))
    layers = []
    if not bands.is_empty():
        layers.append(
            alt.Chart(bands).mark_tick(thickness=3, size=400, opacity=0.25)
            .encode(x="t:T", color=alt.Color("state:N", scale=STATE_COLORS, title="state"))
        )  # fmt: skip
    if history.get_column("ci_low").drop_nulls().len():
        layers.append(base.mark_area(opacity=0.2).encode(y="ci_low:Q", y2="ci_high:Q"))
    layers.append(
        base.mark_line(point=len(history) < 60).encode(
            y=alt.Y("value:Q", title=title, axis=alt.Axis(format=fmt), scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("t:T"), alt.Tooltip("value:Q", format=fmt), "samples:Q"],
        )
    )
    if line is not None:
        layers.append(alt.Chart(pl.DataFrame({"y": [line]})).mark_rule(strokeDash=[6, 4],
                      color="#555").encode(y="y:Q"))  # fmt: skip
    if not alerts.is_empty():
        layers.append(
            alt.Chart(alerts).mark_rule(color="#d0021b")
            .encode(x="started_at:T", tooltip=["key:N", "started_at:T", "state:N"])
        )  # fmt: skip
    return alt.layer(*layers).properties(height=220)


def class_bars(frame: pl.DataFrame) -> alt.Chart:
    """Precision and recall per class with their 95% intervals."""
    base = alt.Chart(frame).encode(
        y=alt.Y("class:N", title=None), yOffset="metric:N", color=alt.Color("metric:N")
    )
    tips = ["class", "metric", "value", "ci_low", "ci_high", "n"]
    bars = base.mark_bar().encode(x=alt.X("value:Q", scale=alt.Scale(domain=[0, 1])), tooltip=tips)
    errors = base.mark_errorbar().encode(x="ci_low:Q", x2="ci_high:Q")
    return (bars + errors).properties(height=max(120, 28 * frame["class"].n_unique()))


def confusion(frame: pl.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame).mark_rect()
        .encode(x=alt.X("truth:N", title="labelled"), y=alt.Y("predicted:N", title="predicted"),
                color=alt.Color("n:Q", scale=alt.Scale(scheme="blues")),
                tooltip=["predicted", "truth", "n"])
        .properties(height=260)
    )  # fmt: skip


def bars(frame: pl.DataFrame, x: str, y: str, color: str | None = None) -> alt.Chart:
    enc = {"x": alt.X(f"{x}:Q"), "y": alt.Y(f"{y}:N", title=None)}
    if color:
        enc["color"] = alt.Color(f"{color}:N")
    return alt.Chart(frame).mark_bar().encode(**enc, tooltip=list(frame.columns))


def lines(frame: pl.DataFrame, x: str, y: str, color: str, fmt: str = ".3f") -> alt.Chart:
    return (
        alt.Chart(frame).mark_line(point=True)
        .encode(x=alt.X(f"{x}:T", title=None), y=alt.Y(f"{y}:Q", axis=alt.Axis(format=fmt)),
                color=f"{color}:N", tooltip=list(frame.columns))
        .properties(height=240)
    )  # fmt: skip
