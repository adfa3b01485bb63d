"""Altair charts for the pages (Polars frames go straight in)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import altair as alt
import polars as pl
from altair.utils.schemapi import debug_mode

from sigwatch.states import Severity

T = TypeVar("T")

SEVERITY_COLOR = {Severity.PAGE: "#d0021b", Severity.TICKET: "#f5a623"}
ALERTS_NOTE = (
    "Shaded: the SLO's alerts, red a page, amber a ticket; a solid line where one opened, a "
    "dashed one where it resolved."
)
VERDICT = alt.Scale(domain=["good", "bad"], range=["#2e7d32", "#d0021b"])
BLUES = alt.Scale(domain=["1h", "6h", "1d"], range=["#08306b", "#2171b5", "#9ecae1"])
Y_AXIS = alt.Axis(minExtent=48)  # charts on one time axis start their plots at one place
NOT_JUDGED = {"insufficient_labels": "not enough labels", "no_data": "no data"}


def unchecked(build: Callable[..., T]) -> Callable[..., T]:
    """Build a chart without Altair's validation of every object as it is made (its debug
    mode: half the time of a chart). The specs are validated whole by the tests
    (tests/console/test_charts.py)."""

    @functools.wraps(build)
    def built(*args, **kwargs) -> T:
        with debug_mode(False):
            return build(*args, **kwargs)

    return built


def _when(t: datetime) -> alt.DateTime:
    """A time for a scale's domain (Vega-Lite's own form: numbers are not read as times once
    Streamlit has passed the chart on)."""
    t = t.astimezone(UTC)
    return alt.DateTime(
        year=t.year, month=t.month, date=t.day, hours=t.hour, minutes=t.minute, utc=True
    )


def _time(start: datetime, end: datetime) -> alt.Scale:
    return alt.Scale(domain=[_when(start), _when(end)])


def _time_axis(start: datetime, end: datetime) -> alt.Axis:
    """Hours over a day or two, days beyond."""
    if end - start <= timedelta(days=2):
        return alt.Axis(format="%H:%M")
    step = max(1, (end - start).days // 10)  # about ten dates, each once
    return alt.Axis(format="%b %d", tickCount={"interval": "day", "step": step})


def _alert_layers(alerts: pl.DataFrame, start: datetime, end: datetime) -> list:
    """Each alert of the SLO within ``[start, end]`` as a shaded span from its start to its
    resolution (to ``end`` while open), with a solid rule where it opened and a dashed one where
    it resolved (a span begun before ``start`` is drawn from there, without its rule)."""
    if not alerts.is_empty():
        alerts = alerts.filter(
            (pl.col("started_at") <= end)
            & (pl.col("resolved_at").is_null() | (pl.col("resolved_at") >= start))
        )
    if alerts.is_empty():
        return []
    spans = alerts.with_columns(
        pl.when(pl.col("started_at") >= start).then(pl.col("started_at")).alias("opened"),
        pl.max_horizontal(pl.col("started_at"), pl.lit(start)).alias("from"),
    ).select(
        "key",
        "severity",
        "state",
        "started_at",
        "resolved_at",
        "opened",
        "from",
        pl.col("resolved_at").fill_null(end).alias("until"),
    )
    tips = [
        "key:N",
        "state:N",
        alt.Tooltip("started_at:T", format="%m-%d %H:%M"),
        alt.Tooltip("resolved_at:T", format="%m-%d %H:%M"),
    ]
    layers = []
    for severity, color in SEVERITY_COLOR.items():  # fixed colours: the chart's one legend
        mine = spans.filter(pl.col("severity") == severity)  # stays the data's
        if mine.is_empty():
            continue
        layers += [
            alt.Chart(mine)
            .mark_rect(opacity=0.12, color=color)
            .encode(x="from:T", x2="until:T", tooltip=tips),
            alt.Chart(mine.filter(pl.col("opened").is_not_null()))
            .mark_rule(strokeWidth=2, color=color)
            .encode(x="opened:T", tooltip=tips),
            alt.Chart(mine.filter(pl.col("resolved_at").is_not_null()))
            .mark_rule(strokeDash=[4, 3], strokeWidth=2, color=color)
            .encode(x="resolved_at:T", tooltip=tips),
        ]
    return layers


@unchecked
def occurrence(
    sli: pl.DataFrame,
    burns: pl.DataFrame,
    alerts: pl.DataFrame,
    objective: float,
    thresholds: list[tuple[str, float]],
    start: datetime,
    end: datetime,
    every: str,
) -> tuple[alt.LayerChart, alt.LayerChart]:
    """On-call's "still burning?": the SLI over short windows (``every``) against the objective,
    and the burn rates against the thresholds of the rules that page or open a ticket, both
    with the SLO's alerts from start to end: two charts on one time axis."""
    x = alt.X("t:T", title=None, scale=_time(start, end), axis=_time_axis(start, end))
    sli_layers = [
        *_alert_layers(alerts, start, end),
        alt.Chart(sli)
        .mark_line(point=len(sli) < 60)
        .encode(
            x=x,
            y=alt.Y(
                "value:Q",
                title=f"SLI per {every}",
                axis=alt.Axis(format=".1%", minExtent=48),
                scale=alt.Scale(zero=False),
            ),
            tooltip=[
                alt.Tooltip("t:T", format="%m-%d %H:%M"),
                alt.Tooltip("value:Q", format=".3%"),
                alt.Tooltip("samples:Q", title="events"),
            ],
        ),
        alt.Chart(pl.DataFrame({"y": [objective], "what": ["objective"]}))
        .mark_rule(strokeDash=[6, 4], color="#555")
        .encode(y="y:Q", tooltip=["what:N", "y:Q"]),
    ]
    rules = pl.DataFrame({"rule": [r for r, _ in thresholds], "factor": [f for _, f in thresholds]})
    # A linear scale up to a little above the highest threshold (or the highest burn, up to
    # three times that threshold): an outage's 100x would flatten the rest; it shows at the
    # top edge, its value in the tooltip.
    highest = max((f for _, f in thresholds), default=1.0)
    peak = float(burns["burn"].max() or 0.0) if not burns.is_empty() else 0.0
    top = min(max(highest * 1.25, peak * 1.1), highest * 3)
    burn_y = alt.Scale(domain=[0, top], nice=False, clamp=True)
    shown = burns
    latest = (
        burns.sort("t")
        .group_by("window")
        .last()
        .with_columns(pl.format("{} burn", "window").alias("label"))
    )
    burn_layers = [
        *_alert_layers(alerts, start, end),
        alt.Chart(shown)
        .mark_line(strokeWidth=1.5)
        .encode(
            x=x,
            y=alt.Y("burn:Q", title="burn rate (x budget)", scale=burn_y, axis=Y_AXIS),
            color=alt.Color(
                "window:N",
                sort=["1h", "6h", "1d"],
                scale=BLUES,
                legend=None,  # each line is named at its latest point
            ),
            tooltip=[
                alt.Tooltip("t:T", format="%m-%d %H:%M"),
                "window:N",
                alt.Tooltip("burn:Q", format=".2f"),
            ],
        ),
        alt.Chart(latest)
        .mark_text(align="right", dx=-2, dy=-7, fontSize=10, fontWeight="bold")
        .encode(
            x=x,
            y=alt.Y("burn:Q", scale=burn_y),
            text="label:N",
            color=alt.Color("window:N", sort=["1h", "6h", "1d"], scale=BLUES, legend=None),
        ),
        alt.Chart(rules)
        .mark_rule(strokeDash=[3, 3], color="#888")
        .encode(y=alt.Y("factor:Q", scale=burn_y), tooltip=["rule:N", "factor:Q"]),
        alt.Chart(rules)
        .mark_text(align="left", dx=4, dy=-6, fontSize=10, color="#666")
        .encode(y=alt.Y("factor:Q", scale=burn_y), x=alt.value(0), text="rule:N"),
    ]
    return (
        alt.layer(*sli_layers).properties(height=170),
        alt.layer(*burn_layers).properties(height=170),
    )


ESTIMATE_COLOR = "#1f6fb4"  # an estimate (CBPE, the judge) beside the labels' points


@unchecked
def slices(
    history: pl.DataFrame,
    alerts: pl.DataFrame,
    target: float | None,
    start: datetime,
    end: datetime,
    timeslice: timedelta,
    title: str,
    samples: str,
) -> alt.LayerChart:
    """A timeslice SLO: each slice's value (green good, red bad) with its 95% interval and
    sample count, the target line, and the slices that could not be judged marked at the
    bottom with the reason ("not enough labels", "no data"); the SLO's alerts from start to end."""
    frame = history.with_columns(
        (pl.col("t") + timeslice / 2).alias("mid"),
        pl.col("verdict").replace(NOT_JUDGED).alias("reason"),
    )
    judged = frame.filter(pl.col("value").is_not_null()).with_columns(
        pl.coalesce("ci_high", "value").alias("top")  # the sample count sits above the bar
    )
    estimated = (
        frame.filter(pl.col("est_value").is_not_null()).with_columns(
            (pl.col("t") + timeslice * 0.72).alias("beside")  # right of the labels' point
        )
        if "est_value" in frame.columns
        else frame.clear()
    )
    bands = [*estimated["est_lower"], *estimated["est_upper"]] if len(estimated) else []
    lows = [
        v
        for v in [*judged["value"], *judged["ci_low"].drop_nulls(), *bands, target]
        if v is not None
    ]
    highs = [
        v
        for v in [*judged["value"], *judged["ci_high"].drop_nulls(), *bands, target]
        if v is not None
    ]
    lo, hi = (min(lows), max(highs)) if lows else (0.0, 1.0)
    if judged.is_empty():  # nothing judged in the range: a scale that shows the target's place
        lo, hi = min(lo, 0.0), max(hi, 1.0)
    pad = max((hi - lo) * 0.15, 0.01)
    floor = max(lo - pad, 0.0) if lo >= 0 else lo - pad
    domain = [floor, hi + pad]
    x = alt.X("mid:T", title=None, scale=_time(start, end), axis=_time_axis(start, end))
    y = alt.Y("value:Q", title=title, scale=alt.Scale(domain=domain, nice=False), axis=Y_AXIS)
    tips = [
        alt.Tooltip("t:T", title="slice", format="%Y-%m-%d %H:%M"),
        alt.Tooltip("value:Q", format=".3f"),
        alt.Tooltip("ci_low:Q", format=".3f"),
        alt.Tooltip("ci_high:Q", format=".3f"),
        alt.Tooltip("samples:Q", title=samples),
        "verdict:N",
    ]
    layers = [*_alert_layers(alerts, start, end)]
    if target is not None:
        layers.append(
            alt.Chart(pl.DataFrame({"value": [target], "what": ["target"]}))
            .mark_rule(strokeDash=[6, 4], color="#555")
            .encode(y=y, tooltip=["what:N", "value:Q"])
        )
    if not judged.is_empty():
        base = alt.Chart(judged).encode(x=x)
        if judged["ci_low"].drop_nulls().len():
            layers.append(
                base.mark_errorbar(ticks=True).encode(
                    y=alt.Y("ci_low:Q", scale=alt.Scale(domain=domain, nice=False), title=title),
                    y2="ci_high:Q",
                    tooltip=tips,
                )
            )
        layers.append(
            base.mark_point(filled=True, size=60).encode(
                y=y,
                color=alt.Color("verdict:N", scale=VERDICT, legend=None),
                tooltip=tips,
            )
        )
        if len(judged) <= 31:
            layers.append(
                base.mark_text(dy=-7, fontSize=9, color="#666").encode(
                    y=alt.Y("top:Q", scale=alt.Scale(domain=domain, nice=False)),
                    text=alt.Text("samples:Q"),
                )
            )
    if not estimated.is_empty():
        # the estimate's band (±3 sampling errors) and value beside each slice's labels' value
        beside = alt.X("beside:T", title=None, scale=_time(start, end), axis=_time_axis(start, end))
        scale = alt.Scale(domain=domain, nice=False)
        est_tips = [
            alt.Tooltip("t:T", title="slice", format="%Y-%m-%d %H:%M"),
            alt.Tooltip("est_method:N", title="estimated by"),
            alt.Tooltip("est_value:Q", title="estimate", format=".3f"),
            alt.Tooltip("est_lower:Q", title="band low", format=".3f"),
            alt.Tooltip("est_upper:Q", title="band high", format=".3f"),
            alt.Tooltip("est_verdict:N", title="its verdict"),
        ]
        chart = alt.Chart(estimated).encode(x=beside, tooltip=est_tips)
        layers.append(
            chart.mark_rule(strokeWidth=7, opacity=0.35, color=ESTIMATE_COLOR).encode(
                y=alt.Y("est_lower:Q", scale=scale, title=title), y2="est_upper:Q"
            )
        )
        layers.append(
            chart.mark_point(shape="diamond", size=45, color=ESTIMATE_COLOR).encode(
                y=alt.Y("est_value:Q", scale=scale, title=title)
            )
        )
    unjudged = frame.filter(pl.col("value").is_null()).with_columns(pl.lit(floor).alias("value"))
    if not unjudged.is_empty():
        layers.append(
            alt.Chart(unjudged)
            .mark_point(shape="triangle-up", size=70, color="#888", filled=True)
            .encode(
                x=x,
                y=y,
                tooltip=[
                    alt.Tooltip("t:T", title="slice", format="%Y-%m-%d"),
                    "reason:N",
                    alt.Tooltip("samples:Q", title=samples),
                ],
            )
        )
        layers.append(  # the reason, spelled out at the latest such slice (a tooltip at all)
            alt.Chart(unjudged.tail(1))
            .mark_text(dy=-10, fontSize=9, color="#888")
            .encode(x=x, y=y, text="reason:N")
        )
    return alt.layer(*layers).properties(height=220)


@unchecked
def class_bars(frame: pl.DataFrame) -> alt.Chart:
    """Precision and recall per class with their 95% intervals."""
    base = alt.Chart(frame).encode(
        y=alt.Y("class:N", title=None), yOffset="metric:N", color=alt.Color("metric:N")
    )
    tips = ["class", "metric", "value", "ci_low", "ci_high", "n"]
    bars = base.mark_bar().encode(x=alt.X("value:Q", scale=alt.Scale(domain=[0, 1])), tooltip=tips)
    errors = base.mark_errorbar().encode(x="ci_low:Q", x2="ci_high:Q")
    return (bars + errors).properties(height=max(120, 28 * frame["class"].n_unique()))


@unchecked
def confusion(frame: pl.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("truth:N", title="labelled"),
            y=alt.Y("predicted:N", title="predicted"),
            color=alt.Color("n:Q", scale=alt.Scale(scheme="blues")),
            tooltip=["predicted", "truth", "n"],
        )
        .properties(height=260)
    )


@unchecked
def bars(frame: pl.DataFrame, x: str, y: str, color: str | None = None) -> alt.Chart:
    enc = {"x": alt.X(f"{x}:Q"), "y": alt.Y(f"{y}:N", title=None)}
    if color:
        enc["color"] = alt.Color(f"{color}:N")
    return alt.Chart(frame).mark_bar().encode(**enc, tooltip=list(frame.columns))


@unchecked
def lines(frame: pl.DataFrame, x: str, y: str, color: str, fmt: str = ".3f") -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:T", title=None),
            y=alt.Y(f"{y}:Q", axis=alt.Axis(format=fmt)),
            color=f"{color}:N",
            tooltip=list(frame.columns),
        )
        .properties(height=240)
    )


@unchecked
def group_heatmap(
    frame: pl.DataFrame,
    order: list[str],
    alerts: pl.DataFrame,
    start: datetime,
    end: datetime,
    step: timedelta,
    fmt: str,
    middle: float | None = None,
) -> alt.LayerChart:
    """A grouped SLO's SLI by group (rows, in ``order``) over time (a cell per ``step`` or
    slice), the SLO's alerts shaded over every row. With ``middle`` (an occurrence SLO's
    objective) a cell is red under it, green above, white at it; without, a slice is coloured
    by its verdict (a target may be a floor or a ceiling: only the verdict says which side is
    bad). A cell's tooltip gives its value, volume and verdict."""
    if middle is not None:
        lowest = frame["value"].min() if not frame.is_empty() else None
        floor = min(middle - 1e-9, lowest if lowest is not None else middle - 0.1)
        scale = alt.Scale(domain=[floor, middle, 1.0], range=["#d0021b", "#f7f7f7", "#2e7d32"])
        color = alt.Color("value:Q", scale=scale, legend=alt.Legend(format=fmt, title=None))
    else:
        verdicts = ["good", "bad", "insufficient_labels", "no_data"]
        scale = alt.Scale(domain=verdicts, range=["#2e7d32", "#d0021b", "#bdbdbd", "#e6e6e6"])
        color = alt.Color("verdict:N", scale=scale, legend=alt.Legend(title=None))
    cells = frame.with_columns((pl.col("t") + step).alias("until"))
    heat = (
        alt.Chart(cells)
        .mark_rect()
        .encode(
            x=alt.X("t:T", title=None, scale=_time(start, end), axis=_time_axis(start, end)),
            x2="until:T",
            y=alt.Y(
                "group:N",
                title=None,
                sort=order,
                axis=alt.Axis(minExtent=48, labelLimit=220, labelOverlap=False),
            ),
            color=color,
            tooltip=[
                "group:N",
                alt.Tooltip("t:T", format="%m-%d %H:%M", title="from"),
                alt.Tooltip("value:Q", format=fmt),
                alt.Tooltip("samples:Q", format=","),
                "verdict:N",
            ],
        )
    )
    # a band per group (Vega-Lite sizes a discrete axis by its step)
    return alt.layer(heat, *_alert_layers(alerts, start, end)).properties(height=alt.Step(28))
