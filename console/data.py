"""What the console's pages read from the store, as Polars frames and plain values.

Pure functions over a ``Store`` and the data folder's serving tables (the pages wrap them in
Streamlit's cache with a short TTL). Occurrence SLOs are counted from the serving tables
(``monitors.history``); slices and statuses come from the store, aggregated in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from monitors.audit import audit, slice_rows
from monitors.history import group_counts, occurrence_counts
from sigwatch.clock import floor_time
from sigwatch.model import Budgeting, Registry, group_label
from sigwatch.states import OutboxKind, SloState, Verdict
from sigwatch.store import Store, from_epoch, to_epoch

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATES = tuple(SloState)  # worst first, as the Overview orders them
STALE_AFTER = timedelta(minutes=15)  # three missed 5-minute evaluations


def last_evaluation(store: Store) -> datetime | None:
    return store.history.last_evaluation()


def data_time(store: Store) -> datetime | None:
    """The latest time evaluated (the end of the data seen)."""
    return store.history.data_time()


def failing_monitors(store: Store, registry: Registry, at: datetime | None = None) -> list[dict]:
    """The signals whose monitor fails now (its latest run, of those started by ``at``):
    since when, how many runs in a row, the latest error's first line."""
    found = []
    for signal in registry:
        failing = store.failing(signal.name, as_of=at)
        if failing is not None:
            error = failing.error.splitlines()[0] if failing.error else "unknown error"
            found.append(
                {
                    "signal": signal.name,
                    "since": failing.since,
                    "failures": failing.failures,
                    "error": error,
                }
            )
    return found


def overview(store: Store, registry: Registry, at: datetime | None = None) -> pl.DataFrame:
    """One row per (signal, SLO) with its latest state, budget, fastest burn and open alerts;
    alerting states first, then SLOs whose error budget is spent. A signal whose monitor
    fails has ``stale_since`` set on its rows: their state is its last good run's."""
    latest = {(s.signal, s.slo): s for s in store.latest_status()}
    failing = {f["signal"]: f["since"] for f in failing_monitors(store, registry, at)}
    open_alerts: dict[tuple[str, str], int] = {}
    for alert in store.alerts.open_alerts():
        open_alerts[(alert.signal, alert.slo)] = open_alerts.get((alert.signal, alert.slo), 0) + 1
    rows = []
    for signal in registry:
        stale = open_alerts.get((signal.name, "no-data"), 0)
        for slo in signal.slos:
            s = latest.get((signal.name, slo.name))
            burns = [v for v in (s.burn_rates.values() if s else []) if v is not None]
            rows.append(
                {
                    "signal": signal.name,
                    "owner": signal.owner,
                    "slo": slo.name,
                    "sli": slo.sli.kind,
                    "state": s.state if s else SloState.NO_DATA,
                    "value": s.value if s else None,
                    "objective": slo.objective.ratio,
                    "target": str(slo.objective.target) if slo.objective.target else None,
                    "budget_remaining": s.budget_remaining if s else None,
                    "budget_exhausted": s.budget_exhausted if s else False,
                    "fastest_burn": max(burns) if burns else None,
                    "open_alerts": open_alerts.get((signal.name, slo.name), 0) + stale,
                    "groups": group_states(s) if slo.grouping is not None else "",
                    "at": s.at if s else None,
                    "stale_since": failing.get(signal.name),
                    **estimate_columns(s),
                }
            )
    utc = pl.Datetime("us", "UTC")
    frame = pl.DataFrame(rows, schema_overrides={"at": utc, "stale_since": utc})
    if frame.is_empty():
        return frame
    order = {state: k for k, state in enumerate(STATES)}
    alerting = pl.col("state").is_in([SloState.BREACH, SloState.WARNING])
    return (
        frame.with_columns(
            pl.when(~alerting & pl.col("budget_exhausted"))
            .then(1.5)  # after the alerting states: the release freeze
            .otherwise(pl.col("state").replace_strict(order, default=len(STATES)))
            .alias("_rank")
        )
        .sort(
            [pl.col("stale_since").is_null(), "open_alerts", "_rank", "signal", "slo"],
            descending=[False, True, False, False, False],
        )
        .drop("_rank")
    )


def estimate_columns(status) -> dict:
    """What the Overview says of a quality SLO's estimate: ``estimated``, the method whose
    estimate the value is (the slice has too few labels), and ``no_estimate``, why an SLO
    that asks for one has none."""
    estimated = status.estimated if status is not None else None
    by = status.verdict_from if status is not None else None
    return {
        "estimated": by.value if by is not None and by.estimate else None,
        "no_estimate": estimated.reason if estimated is not None else None,
    }


def group_states(status) -> str:
    """A grouped SLO's groups per state, worst first: ``1 breach · 19 ok``."""
    counts = status.grouped.counts if status is not None and status.grouped else {}
    shown = [f"{counts[s]} {s.words}" for s in SloState if counts.get(s)]
    return " · ".join(shown) or "no groups yet"


def sparklines(
    store: Store, registry: Registry, data_dir: Path, end: datetime, span=timedelta(hours=24)
):
    """Hourly SLI values over the last ``span`` for every occurrence SLO, and the slice values
    of timeslice SLOs: a long frame (signal, slo, t, value). An occurrence SLO's hours come
    from its statuses (the 1-hour burn rate its monitor stored at each whole hour); only a
    signal with none of those (a schedule that never lands on the hour) is read from its
    serving tables."""
    out = []
    seen = set()
    for signal, slo, t, value in store.history.hourly_sli(end - span, end):
        out.append({"signal": signal, "slo": slo, "t": t, "value": value})
        seen.add(signal)
    for signal in registry:
        if signal.name in seen:
            continue
        counts = occurrence_counts(data_dir, signal, _occurrences(signal), end - span, end, HOUR)
        out += [
            {"signal": signal.name, "slo": slo, "t": t, "value": good / total}
            for slo, t, good, total in counts.iter_rows()
        ]
        for slo in signal.slos:
            if slo.objective.budgeting is Budgeting.OCCURRENCES:
                continue
            out += [
                {
                    "signal": signal.name,
                    "slo": slo.name,
                    "t": b.t,
                    "value": (b.good / b.total)
                    if b.total
                    else (None if b.good is not None else b.value),
                }
                for b in store.history.slices(signal.name, slo.name, end - span, end, 3600)
            ]
    return pl.DataFrame(
        out,
        schema={
            "signal": pl.Utf8,
            "slo": pl.Utf8,
            "t": pl.Datetime("us", "UTC"),
            "value": pl.Float64,
        },
    )


def _occurrences(signal) -> list:
    return [s for s in signal.slos if s.objective.budgeting is Budgeting.OCCURRENCES]


def sli_history(
    store: Store,
    registry: Registry,
    data_dir: Path,
    signal: str,
    slo: str,
    start: datetime,
    end: datetime,
    step: timedelta,
) -> pl.DataFrame:
    """The SLI per ``step`` (good/total summed from the serving tables for occurrence SLOs; the
    value of each slice for timeslice SLOs), with the interval where one exists."""
    spec = registry.get(signal)
    definition = spec.slo(slo)
    if definition.objective.budgeting is Budgeting.OCCURRENCES:
        counts = occurrence_counts(data_dir, spec, [definition], start, end, step)
        return counts.select(
            "t",
            (pl.col("good") / pl.col("total")).alias("value"),
            pl.lit(None, pl.Float64).alias("ci_low"),
            pl.lit(None, pl.Float64).alias("ci_high"),
            pl.col("total").cast(pl.Int64).alias("samples"),
            pl.lit(None, pl.Utf8).alias("verdict"),
            *[pl.lit(None, dtype).alias(name) for name, dtype in ESTIMATE_COLUMNS.items()],
        )
    out = []
    for b in store.history.slices(signal, slo, start, end, int(step.total_seconds())):
        e = b.estimated if b.estimated is not None and b.estimated.value is not None else None
        out.append(
            {
                "t": b.t,
                "value": (b.good / b.total) if b.total else b.value,
                "ci_low": b.ci_low,
                "ci_high": b.ci_high,
                "samples": b.samples,
                "verdict": b.verdict,
                "est_value": e.value if e else None,
                "est_lower": e.lower if e else None,
                "est_upper": e.upper if e else None,
                "est_method": e.method if e else None,
                "est_verdict": e.verdict if e else None,
            }
        )
    return pl.DataFrame(
        out,
        schema={
            "t": pl.Datetime("us", "UTC"),
            "value": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "samples": pl.Int64,
            "verdict": pl.Utf8,
            **ESTIMATE_COLUMNS,
        },
    )


# a quality slice's estimate beside its labels' value (``estimate:``), null without one
ESTIMATE_COLUMNS = {
    "est_value": pl.Float64,
    "est_lower": pl.Float64,
    "est_upper": pl.Float64,
    "est_method": pl.Utf8,
    "est_verdict": pl.Utf8,
}


def estimate_audit(store: Store, registry: Registry, signal: str, slo: str, at: datetime):
    """The audit of an SLO's estimates over its window ending ``at`` (``monitors.audit``)."""
    return audit(slice_rows(store, registry.get(signal).slo(slo), at))


GROUPS_SCHEMA = {
    "group": pl.Utf8,
    "state": pl.Utf8,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "samples": pl.Int64,
    "budget_remaining": pl.Float64,
    "fastest_burn": pl.Float64,
}
HEATMAP_SCHEMA = {
    "group": pl.Utf8,
    "t": pl.Datetime("us", "UTC"),
    "value": pl.Float64,
    "samples": pl.Int64,
    "verdict": pl.Utf8,
}


def group_table(store: Store, signal: str, slo: str, at: datetime) -> pl.DataFrame:
    """The groups of a grouped SLO at ``at`` (its latest evaluation): one row each, largest
    first and a pooled ``(other)`` last, with state, value, interval, volume, budget and the
    fastest burn rate."""
    rows = []
    for g in store.group_statuses(signal, slo, at):
        burns = [v for v in g.burn_rates.values() if v is not None]
        rows.append(
            {
                "group": group_label(g.group),
                "state": g.state.words,
                "value": g.value,
                "ci_low": g.ci_low,
                "ci_high": g.ci_high,
                "samples": g.samples,
                "budget_remaining": g.budget_remaining,
                "fastest_burn": max(burns, default=None),
            }
        )
    return pl.DataFrame(rows, schema=GROUPS_SCHEMA)


def group_heatmap(
    store: Store,
    registry: Registry,
    data_dir: Path,
    signal: str,
    slo: str,
    at: datetime,
    start: datetime,
    step: timedelta,
) -> pl.DataFrame:
    """The SLI of each group over ``[start, at)``: per ``step`` from the serving-by-group table
    for occurrence SLOs (the groups of the latest evaluation, the rest pooled), per slice from
    the groups' measurements for quality SLOs (with each slice's verdict)."""
    spec = registry.get(signal)
    definition = spec.slo(slo)
    if definition.objective.budgeting is Budgeting.OCCURRENCES:
        shown = [g.group for g in store.group_statuses(signal, slo, at) if g.group]
        counts = group_counts(data_dir, spec, definition, shown, start, at, step)
        return counts.select(
            "group",
            "t",
            (pl.col("good") / pl.col("total")).alias("value"),
            pl.col("total").cast(pl.Int64).alias("samples"),
            pl.lit(None, pl.Utf8).alias("verdict"),
        ).cast(HEATMAP_SCHEMA)
    rows = [
        {
            "group": group_label(m.group),
            "t": m.start,
            "value": m.value,
            "samples": m.samples,
            "verdict": m.verdict,
        }
        for m in store.group_measurements(signal, slo, start, at)
    ]
    return pl.DataFrame(rows, schema=HEATMAP_SCHEMA)


BURN_WINDOWS = ("1h", "6h", "1d")  # the long windows of the page rules and the fast ticket


def burn_history(
    store: Store, signal: str, slo: str, start: datetime, end: datetime, step: timedelta
) -> pl.DataFrame:
    """An occurrence SLO's burn rates over the ``BURN_WINDOWS`` (``t``, ``window``, ``burn``),
    the highest of each ``step`` (a burst inside an hour must not be averaged away)."""
    width = int(step.total_seconds())
    out: dict[tuple[int, str], float] = {}
    for at, rates in store.history.burn_rates(signal, slo, start, end):
        t = to_epoch(at) // width * width
        for window, burn in rates.items():
            if window in BURN_WINDOWS and burn is not None:
                out[(t, window)] = max(burn, out.get((t, window), 0.0))
    return pl.DataFrame(
        [{"t": from_epoch(t), "window": w, "burn": b} for (t, w), b in out.items()],
        schema={"t": pl.Datetime("us", "UTC"), "window": pl.Utf8, "burn": pl.Float64},
    )


def alerts_frame(store: Store, include_resolved: bool = True, signal: str | None = None):
    rows = []
    for a in store.alerts.alerts(include_resolved=include_resolved, limit=2000):
        if signal and a.signal != signal:
            continue
        rows.append(
            {
                "key": a.key,
                "id": a.id,
                "signal": a.signal,
                "slo": a.slo,
                "severity": a.severity,
                "state": a.state,
                "started_at": a.started_at,
                "resolved_at": a.resolved_at,
                "last_value": a.last_value,
                "fastest_burn": a.fastest_burn,
                "fired": a.fired,
                "acknowledged_by": a.acknowledged_by,
                "resolution": a.resolution,
                "silenced": a.silenced,
                "posted": bool(a.slack_ts),
                "channel": a.channel,
                "suspects": "; ".join(s.sentence() for s in a.suspects) or None,
                "part_of": a.inhibited_by,
                "incident": a.incident,
            }
        )
    return pl.DataFrame(
        rows,
        schema_overrides={
            "started_at": pl.Datetime("us", "UTC"),
            "resolved_at": pl.Datetime("us", "UTC"),
            "suspects": pl.Utf8,
            "part_of": pl.Utf8,
        },
    )


def outbox_frame(store: Store, limit: int = 300) -> pl.DataFrame:
    records = store.alerts
    keys = {a.id: a.key for a in records.alerts(include_resolved=True, limit=5000)}
    rows = [
        {
            "id": i.id,
            "alert": keys.get(
                i.alert_id, OutboxKind.DIGEST.value if i.kind == OutboxKind.DIGEST else ""
            ),
            "kind": i.kind,
            "channel": i.channel,
            "status": i.status,
            "text": i.text,
            "created_at": i.created_at,
            "attempts": i.attempts,
            "last_error": i.last_error,
        }
        for i in reversed(records.outbox(limit=limit))
    ]
    return pl.DataFrame(rows, schema_overrides={"created_at": pl.Datetime("us", "UTC")})


def compliance(
    store: Store, registry: Registry, data_dir: Path, end: datetime, period: str
) -> pl.DataFrame:
    """Per signal, SLO and calendar week (``period="1w"``) or month (``"1mo"``): the share of
    good events (occurrences) or good slices (timeslices), and whether it met the objective."""
    rows = []
    for signal in registry:
        # occurrences: 5-minute buckets of the serving tables summed per day, one read a signal
        days = occurrence_counts(data_dir, signal, _occurrences(signal), EPOCH, end, DAY)
        for slo, day, good, total in days.iter_rows():
            objective = signal.slo(slo).objective.ratio
            rows.append((signal.name, slo, to_epoch(day), good, total, objective))
        for slo in signal.slos:
            if slo.objective.budgeting is Budgeting.OCCURRENCES:
                continue
            for start, verdict in store.history.verdicts(signal.name, slo.name, end):
                if verdict.judged:
                    good = float(verdict is Verdict.GOOD)
                    rows.append(
                        (signal.name, slo.name, to_epoch(start), good, 1.0, slo.objective.ratio)
                    )
    frame = pl.DataFrame(
        rows,
        orient="row",
        schema={
            "signal": pl.Utf8,
            "slo": pl.Utf8,
            "start": pl.Int64,
            "good": pl.Float64,
            "total": pl.Float64,
            "objective": pl.Float64,
        },
    )
    if frame.is_empty():
        return frame.select("signal", "slo", "objective").with_columns(
            pl.lit(None, pl.Datetime("us", "UTC")).alias("period"),
            pl.lit(None, pl.Float64).alias("compliance"),
            pl.lit(None, pl.Boolean).alias("met"),
        )
    return (
        frame.with_columns(
            pl.from_epoch("start", time_unit="s")
            .dt.replace_time_zone("UTC")
            .dt.truncate(period)
            .alias("period")
        )
        .group_by("signal", "slo", "period")
        .agg(pl.col("good").sum(), pl.col("total").sum(), pl.col("objective").first())
        .with_columns((pl.col("good") / pl.col("total")).alias("compliance"))
        .with_columns((pl.col("compliance") >= pl.col("objective")).alias("met"))
        .select("signal", "slo", "period", "compliance", "objective", "met", "total")
        .sort("signal", "slo", "period")
    )


def budget_burndown(store: Store, signal: str, slo: str, start: datetime, end: datetime):
    rows = store.history.lowest_budget(signal, slo, start, end, 3600)
    return pl.DataFrame(
        [{"t": t, "budget_remaining": b} for t, b in rows],
        schema={"t": pl.Datetime("us", "UTC"), "budget_remaining": pl.Float64},
    )


def daily_cost(store: Store, registry: Registry, only: str | None = None) -> pl.DataFrame:
    """Per signal (or ``only`` that one) and day: cost per 1k, spend and the external-API share
    (cost SLO slices)."""
    rows = []
    for signal in registry:
        if only is not None and signal.name != only:
            continue
        for slo in signal.slos:  # the first SLO that measures spend (its slices carry it)
            if not slo.sli.spend:
                continue
            days = [
                m
                for m in store.measurements(signal.name, slo.name)
                if m.end - m.start == timedelta(days=1) and m.cost is not None and m.cost.items
            ]
            rows += [
                {
                    "signal": signal.name,
                    "day": m.start,
                    "cost_per_1k": m.cost.per_1k,
                    "spend_usd": m.cost.cost_usd,
                    "external_share": m.cost.external_share,
                }
                for m in days
                if m.cost is not None
            ]
            if days:
                break
    return pl.DataFrame(
        rows,
        schema={
            "signal": pl.Utf8,
            "day": pl.Datetime("us", "UTC"),
            "cost_per_1k": pl.Float64,
            "spend_usd": pl.Float64,
            "external_share": pl.Float64,
        },
    )


def incidents(store: Store) -> pl.DataFrame:
    """Alerts that were incidents (``Alert.incident``, as the weekly review counts them: not a
    ticket a page superseded, not a group's alert held under its signal-level one), with their
    time to resolve."""
    frame = alerts_frame(store)
    if frame.is_empty():
        return frame
    return frame.filter(pl.col("incident")).with_columns(
        ((pl.col("resolved_at") - pl.col("started_at")).dt.total_minutes()).alias(
            "minutes_to_resolve"
        )
    )


def runs_frame(store: Store, signal: str, limit: int = 30) -> pl.DataFrame:
    rows = [
        {
            "at": r.at,
            "started": r.started,
            "duration_ms": r.duration_ms,
            "status": r.status,
            "error": r.error,
        }
        for r in store.runs(signal, limit=limit)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "at": pl.Datetime("us", "UTC"),
            "started": pl.Datetime("us", "UTC"),
            "duration_ms": pl.Float64,
            "status": pl.Utf8,
            "error": pl.Utf8,
        },
    )


def latest_statuses(store: Store, signal: str) -> dict:
    return {s.slo: s for s in store.latest_status(signal)}


def latest_quality(store: Store, registry: Registry, signal: str) -> tuple[datetime | None, dict]:
    """The class report (``monitors.slis.quality.class_report``) its monitor kept with the
    latest of the last three slices that holds human labels, and that slice's start; read from
    the store, never recomputed from the partial tables."""
    chosen = registry.get(signal)
    human = [s for s in chosen.slos if s.sli.reads_human_labels and s.grouping is None]
    latest = store.latest_status(signal)
    if not latest or not human:
        return None, {}
    at = max(s.at for s in latest)
    length = chosen.label_timeslice or timedelta(days=1)
    since = floor_time(at, length) - 2 * length
    found: dict[datetime, dict] = {}
    for slo in human:
        for m in store.measurements(signal, slo.name, since, at + length):
            report = m.details.get("report")
            if report and report.get("labelled") and m.start not in found:
                found[m.start] = report
    if not found:
        return None, {}
    start = max(found)
    return start, found[start]


def latest_measurement(store: Store, signal: str, slo: str, group: dict | None = None):
    """The latest slice's measurement of an SLO, or of one group of a grouped SLO."""
    return store.latest_measurement(signal, slo, group)


def recent_predictions(data_dir, signal, at: datetime, n: int = 25, seed: int = 0):
    """A seeded sample of a signal's predictions served in the day before ``at``, with the
    human label where there is one."""
    from monitors.logs import scan_labels, scan_logs

    column = {"entities": "labels", "multilabel": "labels"}.get(signal.task, "label")
    logs = scan_logs(
        data_dir,
        signal,
        at - timedelta(days=1),
        at,
        ["item_id", "status", "score", "latency_ms", column],
    )
    if logs is None:
        return pl.DataFrame()
    frame = logs.filter(pl.col("status") == "ok").collect()
    if frame.is_empty():
        return frame
    frame = frame.sample(n=min(n, len(frame)), seed=seed).sort("event_time", descending=True)
    labels = scan_labels(data_dir, signal, at)
    if labels is not None:
        truth = labels.collect().rename({"label": "human_label", "labels": "human_labels"})
        frame = frame.join(truth, on="item_id", how="left")
    return frame


def judge_summary(store: Store, signal: str, start: datetime, end: datetime) -> dict:
    """The LLM judge for the signal page: latest calibration and judged traffic per day."""
    from evaluation.report import days
    from sigwatch.calibration import latest_calibration

    cal = latest_calibration(store, signal)
    rows = days(store, signal, start, end)
    calibration_rows = (
        []
        if cal is None
        else [
            {"class": c, "judge TPR": r.tpr, "judge TNR": r.tnr, "gold positives": r.tp + r.fn}
            for c, r in cal.rates.items()
        ]
    )
    daily = [
        {
            "day": d.day,
            "calls": d.calls,
            "judge errors": d.errors,
            "cost $": round(d.cost_usd, 4),
            "latency ms": round(d.latency_ms),
            "self-consistency": (d.repeats_agreeing / d.repeats) if d.repeats else None,
        }
        for d in rows
    ]
    return {
        "calibration": None
        if cal is None
        else {
            "model": cal.model,
            "prompt_version": cal.prompt_version,
            "at": cal.at,
            "n": cal.n,
            "kappa": cal.kappa,
            "errors": cal.errors,
        },
        "per_class": calibration_rows,
        "daily": daily,
        "cost_usd": sum(d.cost_usd for d in rows),
        "calls": sum(d.calls for d in rows),
    }
