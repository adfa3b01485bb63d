"""The signal page's charts as Vega-Lite specs: what each layer draws, from hand-built frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from console import charts

T0 = datetime(2026, 11, 20, tzinfo=UTC)
END = T0 + timedelta(days=7)
TIME = pl.Datetime("us", "UTC")


def _alerts(*spans: tuple[datetime, datetime | None, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "key": [f"s/x/{sev}" for _, _, sev in spans],
            "severity": [sev for _, _, sev in spans],
            "state": ["firing" if end is None else "resolved" for _, end, _ in spans],
            "started_at": [start for start, _, _ in spans],
            "resolved_at": [end for _, end, _ in spans],
        },
        schema_overrides={"started_at": TIME, "resolved_at": TIME},
    )


def _data(layer: dict, spec: dict) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


def _layers(chart) -> tuple[list[dict], dict]:
    spec = chart.to_dict()
    return spec["layer"], spec


def test_alert_spans_run_from_start_to_resolution_and_to_the_end_while_open():
    alerts = _alerts(
        (T0 - timedelta(days=1), T0 + timedelta(hours=2), "page"),  # began before the range
        (T0 + timedelta(days=3), T0 + timedelta(days=3, hours=5), "ticket"),
        (T0 + timedelta(days=6), None, "page"),  # still open
        (T0 - timedelta(days=3), T0 - timedelta(days=2), "ticket"),  # over before the range
    )
    layers = charts._alert_layers(alerts, T0, END)
    specs = [layer.to_dict() for layer in layers]
    rects = [s for s in specs if s["mark"]["type"] == "rect"]
    spans = sorted(
        (row["from"][:16], row["until"][:16], s["mark"]["color"])
        for s in rects
        for row in _data(s, s)
    )
    assert spans == [
        ("2026-11-20T00:00", "2026-11-20T02:00", charts.SEVERITY_COLOR["page"]),
        ("2026-11-23T00:00", "2026-11-23T05:00", charts.SEVERITY_COLOR["ticket"]),
        ("2026-11-26T00:00", "2026-11-27T00:00", charts.SEVERITY_COLOR["page"]),
    ]
    opened = sorted(
        row["opened"][:16]
        for s in specs
        if s["mark"]["type"] == "rule" and s["encoding"]["x"]["field"] == "opened"
        for row in _data(s, s)
    )
    assert opened == ["2026-11-23T00:00", "2026-11-26T00:00"]  # none drawn before the range
    resolved = sorted(
        row["resolved_at"][:16] for s in specs if s["mark"].get("strokeDash") for row in _data(s, s)
    )
    assert resolved == ["2026-11-20T02:00", "2026-11-23T05:00"]


def test_a_quality_chart_shows_intervals_counts_target_and_the_slices_not_judged():
    days = [T0 + timedelta(days=k) for k in range(4)]
    history = pl.DataFrame(
        {
            "t": days,
            "value": [0.91, 0.67, None, None],
            "ci_low": [0.85, 0.57, None, None],
            "ci_high": [0.95, 0.76, None, None],
            "samples": [101, 91, 39, 0],
            "verdict": ["good", "bad", "insufficient_labels", "insufficient_labels"],
        },
        schema_overrides={"t": TIME},
    )
    chart = charts.slices(
        history, _alerts(), 0.85, T0, END, timedelta(days=1), "precision", "labels"
    )
    layers, spec = _layers(chart)
    marks = [
        layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
        for layer in layers
    ]
    assert marks.count("errorbar") == 1 and "rule" in marks
    target = next(layer for layer in layers if marks[layers.index(layer)] == "rule")
    assert _data(target, spec)[0]["value"] == 0.85
    domain = layers[-1]["encoding"]["y"]["scale"]["domain"]
    assert domain[0] < 0.57 and domain[1] > 0.95  # every interval fits, with the target
    not_judged = [
        row
        for layer in layers
        if layer["mark"].get("shape") == "triangle-up"
        for row in _data(layer, spec)
    ]
    assert [(r["reason"], r["samples"], r["value"]) for r in not_judged] == [
        ("not enough labels", 39, domain[0]),
        ("not enough labels", 0, domain[0]),
    ]
    counts = next(
        layer
        for layer in layers
        if layer["mark"]["type"] == "text" and layer["encoding"]["text"]["field"] == "samples"
    )
    assert [r["samples"] for r in _data(counts, spec)] == [101, 91]


def test_nothing_judged_still_gives_a_scale_that_places_the_target():
    history = pl.DataFrame(
        {
            "t": [T0],
            "value": [None],
            "ci_low": [None],
            "ci_high": [None],
            "samples": [3],
            "verdict": ["insufficient_labels"],
        },
        schema_overrides={
            "t": TIME,
            "value": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
        },
    )
    layers, _ = _layers(
        charts.slices(history, _alerts(), 0.85, T0, END, timedelta(days=1), "precision", "labels")
    )
    domain = layers[-1]["encoding"]["y"]["scale"]["domain"]
    assert domain[0] < 0.1 and domain[1] > 1.0


def test_the_burn_chart_draws_every_rule_threshold_and_keeps_an_outage_on_scale():
    hours = [T0 + timedelta(hours=k) for k in range(48)]
    burns = pl.DataFrame(
        {
            "t": hours * 2,
            "window": ["1h"] * 48 + ["6h"] * 48,
            "burn": [0.5] * 40 + [120.0] * 8 + [0.4] * 48,
        },
        schema_overrides={"t": TIME},
    )
    sli = pl.DataFrame(
        {
            "t": hours,
            "value": [0.99] * 48,
            "ci_low": [None] * 48,
            "ci_high": [None] * 48,
            "samples": [1000] * 48,
            "verdict": [None] * 48,
        },
        schema_overrides={
            "t": TIME,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "verdict": pl.Utf8,
        },
    )
    rules = [("page 1h/5m", 13.44), ("page 6h/30m", 5.6), ("ticket 1d/2h", 2.8)]
    top, bottom = charts.occurrence(sli, burns, _alerts(), 0.99, rules, T0, END, "hour")
    layers, spec = _layers(bottom)
    drawn = [
        row["factor"]
        for layer in layers
        if layer["mark"]["type"] == "rule"
        for row in _data(layer, spec)
    ]
    assert drawn == [13.44, 5.6, 2.8]
    line = next(layer for layer in layers if layer["mark"]["type"] == "line")
    assert line["encoding"]["y"]["scale"]["domain"] == [0, 13.44 * 3]  # 120x at the top edge
    assert line["encoding"]["y"]["scale"]["clamp"] is True
    names = next(
        layer
        for layer in layers
        if layer["mark"]["type"] == "text" and layer["encoding"]["text"]["field"] == "label"
    )
    assert sorted(r["label"] for r in _data(names, spec)) == ["1h burn", "6h burn"]
    objective = top.to_dict()
    assert any(row.get("y") == 0.99 for rows in objective["datasets"].values() for row in rows)


def test_the_group_heatmap_colours_a_slice_by_its_verdict_and_an_occurrence_cell_by_value():
    """A cost target is a ceiling: the costly group's slices are bad though their value is
    the highest. Occurrence cells are red under the objective, green above it."""
    cells = pl.DataFrame(
        {
            "group": ["community=cheap", "community=costly", "community=quiet"],
            "t": [T0, T0, T0],
            "value": [0.1, 0.5, None],
            "samples": [900, 800, 12],
            "verdict": ["good", "bad", "no_data"],
        },
        schema_overrides={"t": TIME},
    )
    order = list(cells["group"])
    by_verdict = charts.group_heatmap(
        cells, order, _alerts(), T0, END, timedelta(hours=1), ".3f"
    ).to_dict()
    color = by_verdict["layer"][0]["encoding"]["color"]
    assert color["field"] == "verdict"
    colours = dict(zip(color["scale"]["domain"], color["scale"]["range"], strict=True))
    assert colours["bad"] == "#d0021b" and colours["good"] == "#2e7d32"
    assert colours["no_data"] not in (colours["bad"], colours["good"])
    values = cells.with_columns(pl.Series("value", [0.99, 0.90, 0.97]))
    hourly = timedelta(hours=1)
    by_value = charts.group_heatmap(values, order, _alerts(), T0, END, hourly, ".2%", middle=0.97)
    by_value = by_value.to_dict()
    color = by_value["layer"][0]["encoding"]["color"]
    assert color["field"] == "value"
    assert color["scale"]["domain"][1] == 0.97 and color["scale"]["domain"][0] <= 0.90
    assert color["scale"]["range"] == ["#d0021b", "#f7f7f7", "#2e7d32"]


def test_every_chart_the_pages_draw_is_valid_vega_lite():
    """The pages draw without Altair's validation at each run (``common.draw``): it is done
    here, for the charts the tests above do not build."""
    per_class = pl.DataFrame(
        {
            "class": ["review", "review"],
            "metric": ["precision", "recall"],
            "value": [0.9, 0.8],
            "ci_low": [0.85, 0.7],
            "ci_high": [0.94, 0.87],
            "n": [120, 90],
        }
    )
    matrix = pl.DataFrame({"predicted": ["a", "b"], "truth": ["a", "a"], "n": [10, 2]})
    daily = pl.DataFrame(
        {"day": [T0, END], "cost_per_1k": [0.04, 0.05], "signal": ["s", "s"]},
        schema_overrides={"day": TIME},
    )
    for chart in (
        charts.class_bars(per_class),
        charts.confusion(matrix),
        charts.lines(daily, "day", "cost_per_1k", "signal", fmt=".0%"),
    ):
        spec = chart.to_dict(validate=True)  # raises on a spec Vega-Lite would refuse
        assert spec["datasets"] and spec["$schema"].startswith("https://vega.github.io/schema")
