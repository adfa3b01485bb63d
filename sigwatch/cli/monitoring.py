"""``sigwatch monitor``, ``status``, ``slices``, ``calibrate`` and ``prune``: evaluate the
signals now or over a span, read what they said, fit the estimates ahead of the cycles, keep
the store's size in check."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sigwatch.cli import (
    AtOption,
    DataOption,
    DefinitionsOption,
    _runtime,
    _time_option,
    _utc,
    app,
    err,
    out,
)
from sigwatch.model import group_label
from sigwatch.states import SloState
from sigwatch.store import codec

STATE_STYLE = {
    SloState.OK: "green",
    SloState.WARNING: "yellow",
    SloState.BREACH: "bold red",
    SloState.NO_DATA: "magenta",
    SloState.INSUFFICIENT_LABELS: "cyan",
    SloState.INSUFFICIENT_DATA: "cyan",
}


@app.command()
def monitor(
    at: Annotated[
        datetime | None, _time_option("Evaluate as of this time, UTC \\[default: now].")
    ] = None,
    backfill: Annotated[
        str | None,
        typer.Option(help="Also evaluate every 5 minutes of this span before --at, e.g. 7d."),
    ] = None,
    signal: Annotated[
        list[str] | None, typer.Option("--signal", "-s", help="Only these signals (repeatable).")
    ] = None,
    slice_step: Annotated[
        str,
        typer.Option(help="Backfill: evaluate timeslice SLOs (quality, drift, cost) this often."),
    ] = "1h",
    engine: Annotated[
        str | None,
        typer.Option(
            help="Where the partial tables are computed: polars (embedded) or spark "
            "(SIGWATCH_SPARK_MASTER) \\[default: SIGWATCH_ENGINE, else polars]."
        ),
    ] = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Evaluate every SLO of every signal (or --signal) and store the results.

    Idempotent: evaluating the same time again replaces its rows. A signal whose logs cannot be
    read is reported and recorded as a failed run; the others are evaluated. Exits 1 if any
    signal failed.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from monitors.runner import Monitor
    from monitors.sources import serving_source
    from sigwatch.units import parse_duration

    runtime = _signals_runtime(data, definitions, at, signal)
    reg = runtime.registry
    try:
        span = parse_duration(backfill) if backfill else None
        step = parse_duration(slice_step)
    except ValueError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(code=2) from None
    settings, clock = runtime.settings, runtime.clock
    when = clock.now()
    chosen = _engine(settings, engine)
    with runtime.open_store() as store:
        runner = Monitor(
            reg, runtime.data_dir, store, clock, source=serving_source(settings), engine=chosen
        )
        if span:
            columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=err, transient=True) as progress:
                task = progress.add_task(f"backfilling {backfill}", total=None)

                def report(name: str, done: int, total: int) -> None:
                    progress.update(
                        task,
                        description=f"backfilling {backfill}: {name}",
                        completed=done,
                        total=total,
                    )

                outcomes = runner.backfill(
                    when - span, when, signals=signal, slice_step=step, progress=report
                )
        else:
            outcomes = runner.run(when, signals=signal)
        delivered = _alert_after_monitor(store, reg, settings, clock, outcomes, span, when, signal)
    table = Table(title=f"SLO status at {outcomes[0].at:%Y-%m-%d %H:%M} UTC" if outcomes else "")
    for column in ("signal", "slo", "state", "value", "budget left"):
        table.add_column(column)
    failed = 0
    for outcome in outcomes:
        if not outcome.ok:
            failed += 1
            first_line = (outcome.error or "").splitlines()[0]
            table.add_row(outcome.signal, "-", "[bold red]run failed", first_line, "")
            continue
        for s in outcome.statuses:
            value = "" if s.value is None else f"{s.value:.4g}"
            table.add_row(s.signal, s.slo, _state_cell(s), value, _budget_cell(s))
    out.print(table)
    out.print(delivered)
    if failed:
        raise typer.Exit(code=1)


def _signals_runtime(data, definitions, at, signals: list[str] | None):
    """The runtime, the ``--signal`` names checked against its registry (exit 2 naming the
    known ones)."""
    runtime = _runtime(data, definitions, at)
    names = runtime.registry.names
    unknown = sorted(set(signals or ()) - set(names))
    if unknown:
        err.print(f"[red]unknown signal(s): {', '.join(unknown)}; known: {', '.join(names)}")
        raise typer.Exit(code=2)
    return runtime


def _engine(settings, choice: str | None):
    """The engine, its cluster reached before any work: an engine that cannot run fails the
    command (exit 2) with what to fix, and nothing is written."""
    from monitors.engine import make_engine

    try:
        chosen = make_engine(settings, choice)
        if hasattr(chosen, "connect"):
            err.print(f"computing the partial tables with {chosen.describe()}")
            chosen.connect()
    except Exception as exc:  # ValueError for the name, SparkUnavailable for the rest
        err.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(code=2) from None
    return chosen


def _say_spark(settings) -> None:
    """``serve`` with the Spark engine: where, and a warning (not a stop) when the master does
    not answer now: a scheduler waits for the cluster, each run failing until it is back."""
    from monitors.spark_engine import SparkUnavailable, reachable, shown

    out.print(f"partial tables: computed by Spark on {shown(settings.spark_master)}")
    try:
        reachable(settings.spark_master)
    except SparkUnavailable as exc:
        err.print(
            f"[yellow]{escape(str(exc))}; each signal's run fails (and is recorded) "
            "until it answers"
        )


def _alert_after_monitor(store, reg, settings, clock, outcomes, span, when, signals) -> str:
    """Alerts from what was just evaluated (a backfill is replayed in time order and only
    what is still open is announced); returns a one-line summary."""
    from alerts.service import Alerting

    alerting = Alerting.open(store, reg, settings, clock)
    if span:
        result = alerting.replay(when - span, when, signals, outcomes)
    else:
        result = alerting.after_runs(outcomes)
    opened = alerting.records.open_alerts()
    where = "sent to Slack" if alerting.delivery.notifier else "recorded in the outbox (no token)"
    line = (
        f"alerts: {len(opened)} open; notifications {where}: "
        f"{result.sent + result.recorded}, queued: {result.pending}"
    )
    if result.error:
        line += f"; delivery stopped: {result.error}"
    return line


@app.command()
def status(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (a stable interface).")
    ] = False,
    signal: Annotated[str | None, typer.Option("--signal", "-s", help="Only this signal.")] = None,
    at: Annotated[
        datetime | None,
        _time_option("The state as it was at this time, UTC \\[default: the latest]."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Data folder holding sigwatch.db \\[default: $SIGWATCH_DATA or ./var]."),
    ] = None,
    groups: Annotated[
        bool,
        typer.Option("--groups", help="Also list each group of the grouped SLOs, after its SLO."),
    ] = False,
) -> None:
    """The latest state of every SLO: value, interval, budget left and burn rates.

    The JSON form is a list with one object per (signal, SLO) — and with --groups one per
    group of a grouped SLO, whose ``group`` is set; its fields are documented in the README.
    """
    runtime = _runtime(data, at=at, registry=False)
    if not runtime.store_exists():
        err.print(
            f"no store at {runtime.store_url}: run `sigwatch simulate` then"
            " `sigwatch monitor` first"
        )
        raise typer.Exit(code=1)
    with runtime.open_store() as store:
        rows = store.latest_status(signal, as_of=_utc(at) if at else None)
        failing = {
            name: store.failing(name, as_of=_utc(at) if at else None)
            for name in dict.fromkeys(r.signal for r in rows)
        }
        if groups:
            rows = [
                shown
                for row in rows
                for shown in [row, *store.group_statuses(row.signal, row.slo, row.at)]
            ]
    if as_json:
        with runtime.open_store() as store:
            audits = _audits(runtime, store, rows, _utc(at) if at else None)
        shown = [
            {
                **_status_json(s),
                "audit": audits.get((s.signal, s.slo)) if s.group is None else None,
                "monitor": _monitor_json(failing[s.signal]),
            }
            for s in rows
        ]
        print(json.dumps(shown, indent=2))
        return
    for name, broken in failing.items():
        if broken is not None:  # above the table: its rows are stale, not the signal's state
            out.print(
                f"[bold red]{name}: the monitor is failing[/] since {broken.since:%Y-%m-%d %H:%M}"
                f" UTC ({broken.failures} runs in a row): "
                f"{escape(broken.error.splitlines()[0] if broken.error else '?')}; its rows below"
                f" are stale, from its last good run"
            )
    if not rows:
        if at:
            out.print(f"no evaluation at or before {_utc(at):%Y-%m-%d %H:%M} UTC")
            return
        out.print(
            "no evaluations yet: run `sigwatch monitor` (or `sigwatch monitor --backfill 7d`)"
        )
        return
    table = Table(title="SLO status")
    for column in (
        "signal",
        "slo",
        "sli",
        "state",
        "value",
        "95% CI",
        "n",
        "budget left",
        "worst burn",
        "at",
    ):
        table.add_column(column)
    for s in rows:
        ci = "" if s.ci_low is None else f"[{s.ci_low:.3f}, {s.ci_high:.3f}]"
        burns = [v for v in s.burn_rates.values() if v is not None]
        name = s.slo if s.group is None else f"  {escape(group_label(s.group))}"
        table.add_row(
            "" if s.group else s.signal,
            name,
            s.sli,
            _state_cell(s),
            _value_cell(s),
            ci,
            "" if s.samples is None else f"{s.samples:,}",
            _budget_cell(s),
            f"{max(burns):.2f}x" if burns else "",
            f"{s.at:%Y-%m-%d %H:%M}",
        )
    out.print(table)


def _value_cell(s) -> str:
    """The value; an estimate (the slice's labels are too few yet) says so and by what."""
    if s.value is None:
        return ""
    by = s.verdict_from
    return f"{s.value:.4g} (est. {by})" if by is not None and by.estimate else f"{s.value:.4g}"


def _state_cell(s) -> str:
    """The state; with a spent budget it says so beside it, as the console does (an "ok" over
    a spent budget is still a release freeze)."""
    style = STATE_STYLE.get(s.state)
    shown = f"[{style}]{s.state}[/]" if style else str(s.state)
    return f"{shown} · [bold red]budget spent" if s.budget_exhausted else shown


def _budget_cell(s) -> str:
    """The budget left; a spent one in red whatever the state (the release freeze)."""
    if s.budget_remaining is None:
        return ""
    shown = f"{s.budget_remaining:.0%}"
    return f"[bold red]{shown} spent" if s.budget_exhausted else shown


def _audits(runtime, store, rows, at: datetime | None) -> dict[tuple[str, str], dict]:
    """The audit of each estimated SLO's estimates over its window (``monitors.audit``), by
    (signal, SLO); none when the definitions cannot be read (the states still print)."""
    from monitors.audit import audit, slice_rows  # Polars: loaded by the command that needs it

    try:
        registry = runtime.registry
    except Exception:  # a broken definitions folder: `sigwatch validate` says why
        return {}
    found = {}
    for s in rows:
        if s.group is not None or s.signal not in registry.names:
            continue
        slo = next((x for x in registry.get(s.signal).slos if x.name == s.slo), None)
        if slo is None or getattr(slo.sli, "estimate", None) is None:
            continue
        found[(s.signal, s.slo)] = audit(slice_rows(store, slo, at or s.at)).to_json()
    return found


def _monitor_json(failing) -> dict:
    """A signal's monitor in ``status --json``: ``ok``, or ``failing`` since its first failed
    run of those in a row, with their count and the latest error."""
    if failing is None:
        return {"state": "ok", "since": None, "error": None, "failures": 0}
    return {
        "state": "failing",
        "since": failing.since.isoformat(),
        "error": failing.error.splitlines()[0] if failing.error else None,
        "failures": failing.failures,
    }


def _status_json(s) -> dict:
    grouped = {}
    if s.group is None and s.grouped is not None:  # a grouped SLO's own row
        grouped = codec.group_summary_json(s.grouped)
    return {
        "signal": s.signal,
        "slo": s.slo,
        "group": s.group,
        "sli": s.sli,
        "state": str(s.state),
        "value": s.value,
        "target": s.target,
        "objective": s.objective,
        "ci_low": s.ci_low,
        "ci_high": s.ci_high,
        "samples": s.samples,
        "budget_remaining": s.budget_remaining,
        "budget_exhausted": s.budget_exhausted,
        "burn_rates": s.burn_rates,
        "fired": [f.rule for f in s.fired],
        "window_end": s.window_end.isoformat(),
        "evaluated_at": s.evaluated_at.isoformat(),
        "verdict_from": s.verdict_from.value if s.verdict_from else None,
        "estimated": codec.estimate_json(s.estimated) if s.estimated else None,
        **grouped,
    }


@app.command()
def slices(
    signal: Annotated[str, typer.Option("--signal", "-s", help="The signal.")],
    slo: Annotated[str, typer.Option("--slo", help="A timeslice SLO of the signal.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (a stable interface).")
    ] = False,
    at: Annotated[
        datetime | None,
        _time_option("The window ending at this time, UTC \\[default: now]."),
    ] = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """One row per timeslice of the SLO's window: its labels' value and interval, its
    estimate and band (``estimate:``), its verdict and what gave it, and whether the band held
    the labels' value; then the audit of the estimates (docs/estimates.md).

    The JSON form is an object with ``slices`` (a list, oldest first) and ``audit``; its
    fields are documented in the README."""
    runtime = _runtime(data, definitions, at)
    registry = runtime.registry
    if signal not in registry.names:
        err.print(f"unknown signal {signal!r}; allowed: {', '.join(registry.names)}")
        raise typer.Exit(code=2)
    spec = registry.get(signal)
    names = [s.name for s in spec.slos if s.objective.timeslice is not None]
    if slo not in names:
        err.print(f"{signal} has no timeslice SLO {slo!r}; allowed: {', '.join(names)}")
        raise typer.Exit(code=2)
    if not runtime.store_exists():
        err.print(f"no store at {runtime.store_url}: run `sigwatch monitor` first")
        raise typer.Exit(code=1)
    from monitors.audit import audit, slice_rows  # Polars: loaded by the command that needs it

    when = _utc(at) if at else runtime.clock.now()
    with runtime.open_store() as store:
        rows = slice_rows(store, spec.slo(slo), when)
    checked = audit(rows)
    if as_json:
        print(
            json.dumps(
                {"slices": [r.to_json() for r in rows], "audit": checked.to_json()}, indent=2
            )
        )
        return
    if not rows:
        out.print(
            f"no slices of {signal}/{slo} measured in its window ending {when:%Y-%m-%d %H:%M} UTC"
        )
        return
    table = Table(title=f"{signal} / {slo}: slices")
    table.add_column("start", no_wrap=True)
    for column in ("labels", "realized (95% CI)", "estimated (band)", "verdict", "from"):
        table.add_column(column)
    table.add_column("band held", no_wrap=True)
    for r in rows:
        e = r.estimated
        table.add_row(
            f"{r.start:%Y-%m-%d %H:%M}",
            "" if r.labels is None else f"{r.labels:,}",
            ""
            if r.realized is None
            else _interval(r.realized.value, r.realized.lower, r.realized.upper),
            (escape(e.reason or "") if e is not None and e.value is None else "")
            if e is None or e.value is None
            else f"{_interval(e.value, e.lower, e.upper)} {e.method}",
            str(r.verdict).replace("_", " "),
            str(r.verdict_from or ""),
            {True: "yes", False: "[bold red]no", None: ""}[r.band_held],
        )
    out.print(table)
    if checked.audited:
        out.print(
            f"audit: the band held on {checked.held} of {checked.audited} slices "
            f"({checked.share:.0%}), mean absolute error {checked.mae:.3f}"
        )
    if checked.warning:
        out.print(f"[bold yellow]warning:[/] {checked.warning}")


@app.command()
def calibrate(
    at: Annotated[
        datetime | None,
        _time_option("Fit for the slices the cycles at this time estimate, UTC \\[default: now]."),
    ] = None,
    signal: Annotated[
        list[str] | None, typer.Option("--signal", "-s", help="Only these signals (repeatable).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (a stable interface).")
    ] = False,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Fit CBPE's calibrators for the slices the monitor estimates now (each CBPE SLO's
    current and previous slice), or show the fits already kept: `sigwatch serve` runs it
    daily after midnight and at start, so the 5-minute cycles only read them; run it from
    cron before `sigwatch monitor` otherwise (a cycle fits what is missing itself).

    A row per SLO and slice: the reference window and the slices left out of it, the labelled
    predictions fitted on, the classes isotonic calibration was kept for, or why there is no
    fit (too few labels: not an error). Exits 1 if a fit failed."""
    from monitors.runner import Monitor

    runtime = _signals_runtime(data, definitions, at, signal)
    reg = runtime.registry
    when = runtime.clock.now()
    with runtime.open_store() as store:
        done = Monitor(reg, runtime.data_dir, store, runtime.clock).calibrate(when, signal)
    failed = any(c.failed for c in done)
    if as_json:
        print(json.dumps([c.to_json() for c in done], indent=2))
    elif not done:
        out.print("no SLO asks for a CBPE estimate (estimate: {method: cbpe})")
    else:
        table = Table(title=f"CBPE calibrations for the slices at {when:%Y-%m-%d %H:%M} UTC")
        for column in ("signal", "slo", "slice", "reference", "labelled", "calibrated", "fit"):
            table.add_column(column)
        for c in done:
            row = c.to_json()
            ref = c.reference
            left_out = f", {len(ref.excluded)} bad left out" if ref.excluded else ""
            if row["fitted"]:
                fit = "kept" if c.kept else f"fitted in {c.seconds:.2f} s"
                counts = (f"{row['labelled']:,}", f"{row['calibrated']} of {row['calibrators']}")
            else:
                style = "bold red" if c.failed else "yellow"
                fit, counts = f"[{style}]{escape(row['reason'])}", ("", "")
            table.add_row(
                c.signal,
                c.slo,
                f"{c.slice_start:%Y-%m-%d %H:%M}",
                escape(f"[{_when(ref.start)}, {_when(ref.end)}){left_out}"),
                *counts,
                fit,
            )
        out.print(table)
    if failed:
        raise typer.Exit(code=1)


def _when(moment: datetime) -> str:
    """A day at midnight as its date, any other moment with its time."""
    return (
        f"{moment:%Y-%m-%d}" if moment.time() == datetime.min.time() else f"{moment:%Y-%m-%d %H:%M}"
    )


def _interval(value: float, lower: float | None, upper: float | None) -> str:
    if lower is None or upper is None:
        return f"{value:.3f}"
    return f"{value:.3f} [{lower:.3f}, {upper:.3f}]"


@app.command()
def prune(
    data: DataOption = None,
    definitions: DefinitionsOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")
    ] = False,
    at: AtOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Delete what is kept no longer: the store's rows dated more than SIGWATCH_RETENTION
    (default 400d) before now, and the partial tables' 5-minute buckets older than
    SIGWATCH_BUCKET_RETENTION (default 90d).

    Rows: statuses, measurements of ended slices, runs, resolved alerts and their events, sent
    notifications, ended silences and the judge's daily labels; open alerts, queued
    notifications and the judge's calibrations are kept whatever their age. Statuses older than
    SIGWATCH_STATUS_DETAIL (default 7d) are compacted: one an hour, and every one whose state or
    fired rules changed. Buckets: each old day of the serving tables is kept as one row (weekly
    and monthly compliance read it). `serve` runs this daily at 03:30 UTC.
    """
    from monitors.partials import prune_partials
    from sigwatch.units import format_duration

    runtime = _runtime(data, definitions, at)
    settings, clock = runtime.settings, runtime.clock
    if not runtime.store_exists():
        err.print(f"[red]no store at {runtime.store_url}: nothing to prune")
        raise typer.Exit(code=1)
    before = clock.now() - settings.retention
    detail = clock.now() - settings.status_detail
    with runtime.open_store() as store:
        counts = store.retention.prune(before, dry_run=dry_run)
        compacted = store.retention.compact(detail, dry_run=dry_run)
    buckets_before = (clock.now() - settings.bucket_retention).date()
    files = prune_partials(runtime.data_dir, runtime.registry, buckets_before, dry_run=dry_run)
    if as_json:
        report = {
            "before": before.isoformat(),
            "dry_run": dry_run,
            "rows": counts,
            "compacted_before": detail.isoformat(),
            "compacted": compacted,
            "buckets_before": buckets_before.isoformat(),
            "day_files": files,
        }
        print(json.dumps(report))
        return
    verb = "would delete" if dry_run else "deleted"
    total = sum(counts.values())
    out.print(
        f"{verb} {total:,} rows dated before {before:%Y-%m-%d %H:%M} UTC "
        f"(SIGWATCH_RETENTION {format_duration(settings.retention)})"
    )
    for table, n in counts.items():
        if n:
            out.print(f"  {table}: {n:,}")
    out.print(
        f"{verb} {sum(compacted.values()):,} statuses evaluated before "
        f"{detail:%Y-%m-%d %H:%M} UTC, keeping one an hour and every change "
        f"(SIGWATCH_STATUS_DETAIL {format_duration(settings.status_detail)})"
    )
    keep = format_duration(settings.bucket_retention)
    out.print(
        f"{verb} {sum(files.values()):,} day files of 5-minute buckets before "
        f"{buckets_before} (SIGWATCH_BUCKET_RETENTION {keep}; their day totals are kept)"
    )
