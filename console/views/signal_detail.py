"""Signal detail (``?signal=NAME``, the page alerts link to): per SLO, what on-call asks
("still burning?"): occurrence SLOs over short windows with their burn rates against the alert
rules' thresholds, timeslice SLOs slice by slice with intervals, sample counts and the slices
that could not be judged, each with its alerts from start to end; quality per class; drift
per column with the latest Evidently report; latency quantiles; cost; recent runs; the signal's
YAML and owner."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

import polars as pl
import streamlit as st

from console import charts, common, data
from monitors.slis import calculation
from monitors.slis import drift as drift_sli
from monitors.windows import RULES
from sigwatch.kinds import DriftSLI, LatencySLI
from sigwatch.model import Budgeting, group_label
from sigwatch.units import format_duration

JUDGE_BASED = (
    ":material/smart_toy: judge-based: the LLM judge's daily sample, corrected for its error "
    "on the gold set (Rogan-Gladen); the interval includes that error"
)

# what an estimate's band is, by its method (sigwatch.cbpe, monitors/slis/judge_estimates.py)
BAND = {
    "cbpe": "±3 sampling errors",
    "judge": "PPI++: ±3 standard errors; Rogan-Gladen: the widest corner of its 95% intervals",
}


def reference_note(span: list[str], left_out: list[list[str]]) -> str:
    """Which days a drift slice was compared with: the span, less the slices left out."""
    start, end = (datetime.fromisoformat(t) for t in span)
    note = f"Reference: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    if left_out:
        days = ", ".join(f"{datetime.fromisoformat(lo):%m-%d}" for lo, _ in left_out)
        note += f", less {days} (judged drifted: a reference does not learn from an incident)"
    return note


def grouped(slo, status, mine: pl.DataFrame, occurrences: bool) -> None:
    """A grouped SLO: its groups by state, the gap between its best and worst group (quality),
    a table of the groups and a heatmap of the SLI by group over the range."""
    st.caption(f"grouped by {', '.join(slo.grouping.by)} · groups: {data.group_states(status)}")
    if status is None:
        return
    summary = status.grouped
    worst = summary.worst if summary else None
    if worst:
        st.caption(
            f"Its state and value are its worst group's: {common.plain(group_label(worst))}."
        )
    gap = summary.gap if summary else None
    if gap:
        best, low = gap.best, gap.worst
        interval = (
            f" (95% CI {gap.ci_low:.3f} to {gap.ci_high:.3f}, Newcombe)"
            if gap.ci_low is not None and gap.ci_high is not None
            else ""
        )
        st.markdown(
            f"**Gap between groups: {gap.difference:.3f}**{interval} — best "
            f"{common.plain(group_label(best.group))} {best.value:.3f} "
            f"[{best.ci_low:.3f}, {best.ci_high:.3f}], n={best.samples}; worst "
            f"{common.plain(group_label(low.group))} {low.value:.3f} "
            f"[{low.ci_low:.3f}, {low.ci_high:.3f}], n={low.samples}."
        )
    table = common.get(data.group_table, chosen, slo.name, status.at)
    if table.is_empty():
        st.caption("No group evaluated yet.")
        return
    if occurrences:
        table = table.drop("ci_low", "ci_high")
        value_format = "%.2f%%"
        table = table.with_columns(pl.col("value") * 100)
    else:
        table = table.with_columns(
            pl.format("[{}, {}]", pl.col("ci_low").round(3), pl.col("ci_high").round(3)).alias(
                "95% CI"
            )
        ).select("group", "state", "value", "95% CI", "samples", "budget_remaining")
        if table["95% CI"].null_count() == len(table):  # a kind without intervals (cost)
            table = table.drop("95% CI")
        value_format = "%.3f"
    st.dataframe(
        common.styled(table, "state"),
        hide_index=True,
        width="stretch",
        column_config={
            "value": st.column_config.NumberColumn(format=value_format),
            "samples": st.column_config.NumberColumn(calculation(slo.sli).volume_unit),
            "budget_remaining": st.column_config.NumberColumn("budget left", format="percent"),
            "fastest_burn": st.column_config.NumberColumn("fastest burn", format="%.1fx"),
        },
    )
    every = step if occurrences else slo.objective.timeslice
    heat = common.get(data.group_heatmap, chosen, slo.name, at, start, every)
    if heat.is_empty():
        st.caption("No group has data in this range.")
        return
    order = [g for g in table["group"] if g in set(heat["group"])]
    order += sorted(set(heat["group"]) - set(order))
    if occurrences:
        middle = slo.objective.ratio
        build = partial(charts.group_heatmap, heat, order, mine, start, at, every, ".2%", middle)
    else:  # a slice's colour is its verdict: a target may be a floor or a ceiling
        build = partial(charts.group_heatmap, heat, order, mine, start, at, every, ".3f")
    common.draw(
        build, "heatmap", chosen, slo.name, start, at, every, tuple(order), common.fingerprint(mine)
    )
    unit = "per hour" if every == timedelta(hours=1) else f"per {format_duration(every)}"
    if occurrences:
        shown = f"The SLI of each group {unit} (red under the objective, green above)"
    else:
        shown = (
            f"Each slice of each group ({unit}): green judged good against the target "
            f"{slo.objective.target}, red bad (with an interval: all of it beyond the target), "
            "grey not judged; "
            "the value is in the tooltip"
        )
    st.caption(f"{shown}; shaded: the SLO's alerts.")


st.title("Signal detail")
registry = common.registry()
names = list(registry.names)
asked = st.query_params.get("signal")
if asked and asked not in names:
    # the query string is anyone's: shown as written, never as Markdown (a link, a format)
    st.error(f"Unknown signal {common.plain(repr(asked))}. Known signals: {', '.join(names)}.")
chosen = st.selectbox("Signal", names, index=names.index(asked) if asked in names else 0)
st.query_params["signal"] = chosen
signal = registry.get(chosen)
at = common.require_data()
common.freshness(at)
for broken in common.get(data.failing_monitors, common.settings().console_at):
    if broken["signal"] == chosen:  # what follows is its last good run's
        st.error(
            f"**The monitor is failing** since {broken['since']:%Y-%m-%d %H:%M} UTC "
            f"({broken['failures']} runs in a row): {common.plain(broken['error'])}. What this "
            "page shows is from its last good run; the runs are at the bottom.",
            icon=":material/error:",
        )

st.markdown(
    f"**{signal.description}**  \nOwner **{signal.owner}** · on-call **{signal.oncall}** · "
    f"task **{signal.task}** · model **{signal.model.id}** {signal.model.version} · "
    f"consumers: {', '.join(signal.consumers)}"
)
span_label = st.radio("Range", ["24h", "7d", "28d", "90d"], index=1, horizontal=True)
span = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "28d": timedelta(days=28),
    "90d": timedelta(days=90),
}[span_label]
step = timedelta(minutes=5) if span <= timedelta(hours=24) else timedelta(hours=1)
start = at - span
latest = common.get(data.latest_statuses, chosen)
alerts = common.get(data.alerts_frame, True, chosen)

st.header("SLOs")
st.caption(
    charts.ALERTS_NOTE + " Occurrence SLOs: the SLI over short windows, then the burn "
    "rates against the thresholds of the rules that page or open a ticket. Timeslice "
    "SLOs: each slice with its 95% interval and sample count; a grey triangle marks a "
    "slice that could not be judged, and why."
)
for slo in signal.slos:
    status = latest.get(slo.name)
    state = common.STATE_MD[status.state] if status else ":gray[never evaluated]"
    if status is not None and status.budget_exhausted:
        state += " " + common.BUDGET_SPENT_MD
    occurrences = slo.objective.budgeting is Budgeting.OCCURRENCES
    with st.container(border=True):
        head, value, budget = st.columns([2.3, 1.7, 1])
        head.subheader(f"{slo.name} · {state}")
        head.caption(f"{slo.sli.kind} · {slo.objective}")
        if getattr(slo.sli, "labels", "human") == "judge":
            head.caption(JUDGE_BASED)
        if status is not None and status.value is not None:
            shown = f"{status.value:.2%}" if occurrences else f"{status.value:.3f}"
            if status.ci_low is not None:
                shown += f" [{status.ci_low:.3f}, {status.ci_high:.3f}]"
            label = "value (worst group)" if slo.grouping is not None else "value"
            helped = f"{status.samples} samples"
            by = status.verdict_from
            if by is not None and by.estimate:  # the slice's labels are too few yet
                label = f"value (estimated, {by})"
                helped = (
                    f"The {by} estimate of the slice starting {status.slice:%Y-%m-%d %H:%M} UTC "
                    f"from {status.samples:,} predictions, with its band "
                    f"({BAND.get(by, 'its band')}): its labels are fewer than min_labels yet."
                )
                how = status.estimated.how if status.estimated is not None else None
                if how:  # the judge's: PPI++ or Rogan-Gladen, and from what
                    helped += f" Made by {how}."
            value.metric(label, shown, help=helped)
        elif status is not None:  # nothing measured: a dash and why, never "None"
            why = status.state.words
            reason = status.estimated.reason if status.estimated is not None else None
            if reason:
                why += f"; no estimate: {reason}"
            value.metric("value", "—", help=why)
        if status is not None and status.budget_remaining is not None:
            budget.metric(
                "budget left",
                f"{status.budget_remaining:.0%}",
                help="Spent: the error-budget policy freezes this signal's releases until the "
                "window's budget recovers."
                if status.budget_exhausted
                else None,
            )
        mine = alerts.filter(pl.col("slo") == slo.name) if not alerts.is_empty() else alerts
        if slo.grouping is not None:
            grouped(slo, status, mine, occurrences)
            continue
        history = common.get(
            data.sli_history,
            chosen,
            slo.name,
            start,
            at,
            step if occurrences else slo.objective.timeslice,
        )
        if history.is_empty():
            st.caption("No measurements in this range.")
            continue
        if occurrences:
            burns = common.get(data.burn_history, chosen, slo.name, start, at, step)
            rules = [
                (
                    f"{r.severity} {r.name}: {r.factor(slo.objective.window):.3g}x",
                    r.factor(slo.objective.window),
                )
                for r in RULES
            ]
            every = "5 min" if step == timedelta(minutes=5) else "hour"
            build = partial(
                charts.occurrence,
                history,
                burns,
                mine,
                slo.objective.ratio,
                rules,
                start,
                at,
                every,
            )
        else:
            target = slo.objective.target
            counted = "labels" if slo.sli.labelled else "rows"
            build = partial(
                charts.slices,
                history,
                mine,
                target.value if target else None,
                start,
                at,
                slo.objective.timeslice,
                slo.sli.kind,
                counted,
            )
        common.draw(build, "slo", chosen, slo.name, start, at, step, common.fingerprint(mine))
        if getattr(slo.sli, "estimate", None) is not None:
            checked = common.get(data.estimate_audit, chosen, slo.name, at)
            said = (
                f"Blue: the {slo.sli.estimate.method} estimate of each slice with its band "
                f"({BAND.get(slo.sli.estimate.method, 'its band')}), beside its labels' value."
            )
            if checked.audited:
                said += (
                    f" Over the window the band held the labels' value on {checked.held} of "
                    f"{checked.audited} slices ({checked.share:.0%}), on {checked.recent_held} "
                    f"of the latest {checked.recent}; mean absolute error {checked.mae:.3f}."
                )
            st.caption(said)
            if checked.warning:
                st.warning(f"**Estimates not to be trusted now:** {checked.warning}")
        if status is not None and status.burn_rates:
            burns = {k: v for k, v in status.burn_rates.items() if v is not None}
            st.caption("burn rates: " + ", ".join(f"{k} {v:.1f}x" for k, v in burns.items()))

st.header("Quality per class")
sliced, report = common.get(data.latest_quality, chosen)
if report.get("classes"):
    st.caption(
        f"Human labels of the slice starting {sliced:%Y-%m-%d %H:%M} UTC "
        f"({report['labelled']} labelled items); 95% Wilson intervals."
    )
    per_class = pl.DataFrame(report["classes"])
    common.draw(partial(charts.class_bars, per_class), "classes", chosen, sliced)
    st.dataframe(per_class, hide_index=True, width="stretch")
    if report.get("confusion"):
        matrix = pl.DataFrame(
            report["confusion"],
            orient="row",
            schema={"predicted": pl.Utf8, "truth": pl.Utf8, "n": pl.Int64},
        )
        st.subheader("Confusion matrix")
        common.draw(partial(charts.confusion, matrix), "confusion", chosen, sliced)
elif report.get("pairs"):
    st.caption(
        f"A score signal: its quality SLO is AUC ({report['pairs']} labelled pairs "
        "in the latest slice); per-class precision/recall does not apply."
    )
else:
    st.info("No human labels yet for this signal's recent slices.")

if signal.judge is not None:
    st.header("LLM judge")
    judge = common.get(data.judge_summary, chosen, start, at)
    cal = judge["calibration"]
    if cal is None:
        st.info(
            f"The judge has not been calibrated for {chosen}: its labels are not used until "
            f"`sigwatch judge calibrate -s {chosen}` measures it on the gold set."
        )
    else:
        kappa = "n/a" if cal["kappa"] is None else f"{cal['kappa']:.3f}"
        left, mid, right = st.columns(3)
        left.metric(
            "agreement with humans (Cohen's kappa)",
            kappa,
            help=f"{cal['n']} gold posts, {cal['errors']} judge errors",
        )
        mid.metric(f"judge calls ({span_label})", f"{judge['calls']:,}")
        right.metric(
            f"judge cost ({span_label})",
            f"${judge['cost_usd']:.4f}",
            help="kept apart from serving cost",
        )
        st.caption(
            f"Judge `{cal['model']}`, prompt {cal['prompt_version']}, calibrated "
            f"{cal['at']:%Y-%m-%d %H:%M} UTC. Per class: how often the judge agrees with "
            "humans on the gold set."
        )
        st.dataframe(pl.DataFrame(judge["per_class"]), hide_index=True, width="stretch")
    if judge["daily"]:
        st.subheader("Judged traffic per day")
        st.dataframe(pl.DataFrame(judge["daily"]), hide_index=True, width="stretch")
    else:
        st.caption(f"No judged traffic in the last {span_label} (`sigwatch judge run`).")

st.header("Drift")
for slo in signal.slos:
    if not isinstance(slo.sli, DriftSLI):  # the view of a drift result (its columns' tests)
        continue
    # a grouped drift SLO shows its worst group's slice (the others are in the group table)
    summary = latest[slo.name].grouped if slo.name in latest else None
    shown = summary.worst if summary else None
    shown = shown if slo.grouping is not None else None
    measured = common.get(data.latest_measurement, chosen, slo.name, shown)
    name = slo.name + (f" ({common.plain(group_label(shown))}, its worst group)" if shown else "")
    if measured is None or not measured.details.get("columns"):
        reason = measured.details.get("reason") if measured else "not measured yet"
        st.info(f"{name}: no drift result ({reason}).")
        continue
    d = measured.details
    rows_note = f"{d.get('current_rows')} vs {d.get('reference_rows')} reference rows, sampled"
    st.caption(f"{name}: slice from {measured.start:%Y-%m-%d %H:%M} UTC, {rows_note}")
    if d.get("reference"):
        st.caption(reference_note(d["reference"], d.get("reference_left_out", [])))
    drift = pl.DataFrame(
        [{"column": c, **v} for c, v in measured.details["columns"].items()]
    ).select("column", "score", "method", "threshold", "drifted")
    st.dataframe(
        drift,
        hide_index=True,
        width="stretch",
        # a p-value may be 1e-300: in fixed notation, a row of zeros
        column_config={"score": st.column_config.NumberColumn(format="%.3g")},
    )
    reports = common.settings().data_dir / "reports"
    kept = drift_sli.report_folder(reports, chosen, slo.name, shown)
    if (kept / "current.parquet").exists():
        with st.expander("Latest Evidently report"):
            # drawn from the latest slice's kept samples; the first takes a few seconds
            if st.toggle("Draw the report", key=f"drift-report-{chosen}-{slo.name}"):
                with st.spinner("Evidently is drawing the report ..."):
                    drawn = drift_sli.report_html(kept)
                if drawn is not None:
                    st.iframe(common.sandboxed(drawn.read_text("utf-8"), 880), height=900)

st.header("Latency and cost")
left, right = st.columns(2)
# latency quantiles: what an occurrence kind shows beside its SLO (``display``)
shows_quantiles = [
    s for s in signal.slos if s.name in latest and "p50_ms" in latest[s.name].details
]
if not shows_quantiles:
    grouped_latency = [s.name for s in signal.slos if isinstance(s.sli, LatencySLI) and s.grouping]
    left.info(
        f"Latency is measured per group: see {', '.join(grouped_latency)} above."
        if grouped_latency
        else "No latency SLO on this signal."
    )
for slo in shows_quantiles:
    d = latest[slo.name].details
    quantiles = "  ·  ".join(
        f"p{q} {d[f'p{q}_ms']:.0f} ms" for q in (50, 95, 99) if d.get(f"p{q}_ms") is not None
    )
    left.metric(f"latency over the last {d.get('quantiles_over', '1h')}", quantiles or "no data")
costs = common.get(data.daily_cost, chosen)
cost_slos = [s for s in signal.slos if s.sli.spend]
if costs.is_empty() and not cost_slos:
    right.info("No cost_per_1k SLO on this signal.")
elif costs.is_empty() and all(s.grouping is not None for s in cost_slos):
    names = ", ".join(s.name for s in cost_slos)
    right.info(f"Cost is measured per group: see {names} above.")
elif costs.is_empty():
    right.info("No daily cost slices yet (a cost_per_1k SLO with 1d slices).")
else:
    last = costs.sort("day").row(-1, named=True)
    right.metric(
        "cost per 1k (latest day)",
        f"${last['cost_per_1k']:.3f}",
        help=f"spend ${last['spend_usd'] or 0:,.2f}",
    )
    if last["external_share"] is not None:
        right.metric("served by the external API", f"{last['external_share']:.1%}")
    common.draw(partial(charts.lines, costs, "day", "cost_per_1k", "signal"), "cost", chosen, at)

st.header("Recent runs")
runs = common.get(data.runs_frame, chosen)
failed = runs.filter(pl.col("status") != "ok")
if not failed.is_empty():
    st.error(
        f"{len(failed)} of the last {len(runs)} runs failed; latest error: {failed['error'][0]}"
    )
st.dataframe(runs, hide_index=True, width="stretch")

st.header("Definition")
if signal.source is not None and signal.source.exists():
    st.code(signal.source.read_text(encoding="utf-8"), language="yaml")
