"""The ``sigwatch`` command: the composition root, the one module that wires every package.

Each command builds what it needs from ``Settings.from_env()`` and the registry; nothing is
wired at import time, so ``sigwatch --help`` stays fast.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sigwatch import __version__
from sigwatch.cli import processes
from sigwatch.clock import Clock, clock_at
from sigwatch.model import DriftSLI, LatencySLI, QualitySLI, group_label
from sigwatch.registry import DefinitionError, load_registry, to_spec_dict
from sigwatch.runtime import Runtime
from sigwatch.settings import ENV_VARS, Settings
from sigwatch.spec import json_schema
from sigwatch.states import SloState
from sigwatch.validation import check_paths

_ENV_HELP = "\n\n".join(f"[bold]{name}[/bold]: {what}" for name, what in ENV_VARS.items())

app = typer.Typer(
    name="sigwatch",
    help=(
        "The SLO console for machine-learning signals: SLO definitions, monitors, alerts.\n\n"
        f"Environment:\n\n{_ENV_HELP}"
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,  # locals may hold secrets
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

DefinitionsOption = Annotated[
    Path | None,
    typer.Option(
        "--definitions",
        "-d",
        help="Folder of SLO files \\[default: $SIGWATCH_DEFINITIONS or ./slo_definitions].",
        show_default=False,
    ),
]


DataOption = Annotated[
    Path | None,
    typer.Option(help="Data folder (logs, labels, store) \\[default: $SIGWATCH_DATA or ./var]."),
]


def _time_option(help_text: str):
    """An ISO time option (``2026-11-26T06:00:00+0000``, ``2026-11-26T06:00Z`` or a date)."""
    return typer.Option(
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d"],
        help=help_text,
        show_default=False,
    )


AtOption = Annotated[
    datetime | None,
    _time_option(
        "Take this time (UTC) as now, for a replay or a look at the past "
        "\\[default: the wall clock]."
    ),
]


def _clock(at: datetime | None) -> Clock:
    """The command's clock: fixed at ``--at`` when given, else the wall clock.

    The CLI is the composition root: this is where a command decides what "now" is, and every
    library function it calls gets that clock (or a time) passed in.
    """
    return clock_at(_utc(at) if at else None)


def _version(value: bool) -> None:
    if value:
        out.print(f"sigwatch {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """sigwatch: SLOs for ML signals."""


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="SLO files or folders \\[default: $SIGWATCH_DEFINITIONS or ./slo_definitions].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check SLO files and report every problem as file:line: signal/slo: field: message.

    Exits 1 when there is any problem, 0 when all files are valid.
    """
    targets = paths or [Settings.from_env().definitions_dir]
    missing = [p for p in targets if not p.exists()]
    for path in missing:
        print(f"{path}:1: ?: no such file or folder; allowed: an SLO file or a folder of them")
    checks = check_paths([p for p in targets if p.exists()])
    problems = [p for c in checks for p in c.problems]
    for problem in problems:
        print(problem)
    bad_files = sum(1 for c in checks if not c.ok) + len(missing)
    if problems or missing or not checks:
        if not checks and not missing:
            print(f"no SLO files (*.yaml, *.yml) under {', '.join(map(str, targets))}")
        count = len(problems) + len(missing)
        err.print(
            f"[red]✗ {count} problem(s) in {bad_files} of {len(checks) + len(missing)} file(s)"
        )
        raise typer.Exit(code=1)
    slos = sum(len(c.document.slos) for c in checks if c.document)
    err.print(f"[green]✓ {len(checks)} file(s), {len(checks)} signal(s), {slos} SLOs: all valid")


@app.command()
def schema() -> None:
    """Print the JSON Schema of SLO files (point your editor's YAML language server at it)."""
    print(json.dumps(json_schema(), indent=2))


@app.command()
def registry(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    definitions: DefinitionsOption = None,
) -> None:
    """List the signals registry: owners, on-call channels, models, consumers and SLOs."""
    reg = _load(definitions)
    if as_json:
        signals = [{**to_spec_dict(s), "file": str(s.source)} for s in reg]
        print(json.dumps(signals, indent=2, default=str))
        return
    signals = Table(title=f"signals registry: {len(reg)} signals, {len(reg.slos)} SLOs")
    for column in ("signal", "task", "owner", "on-call", "model", "consumers"):
        signals.add_column(column, overflow="fold")
    for sig in reg:
        task = f"{sig.task} ({len(sig.classes)} classes)" if sig.classes else sig.task
        model = f"{sig.model.id}@{sig.model.version}"
        signals.add_row(sig.name, task, sig.owner, sig.oncall, model, ", ".join(sig.consumers))
    out.print(signals)
    slos = Table(title="SLOs")
    for column in ("signal", "slo", "sli", "objective"):
        slos.add_column(column, overflow="fold")
    for slo in reg.slos:
        slos.add_row(slo.signal, slo.name, _sli_text(slo.sli), str(slo.objective))
    out.print(slos)


def _sli_text(sli) -> str:
    match sli:
        case LatencySLI():
            return f"latency < {sli.threshold_ms:g} ms"
        case QualitySLI():
            return f"{sli.metric} ({sli.cls or 'macro'})"
        case DriftSLI():
            return f"drift ({', '.join(sli.columns)})"
    return sli.kind


@app.command()
def simulate(
    data: Annotated[
        Path | None,
        typer.Option(help="Data folder to write \\[default: $SIGWATCH_DATA or ./var]."),
    ] = None,
    days: Annotated[int, typer.Option(min=1, help="Days of history to simulate.")] = 14,
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same data.")] = 1,
    rate: Annotated[
        float, typer.Option(min=1, help="Eligible items per day, per signal (diurnal mean).")
    ] = 20_000,
    scenario: Annotated[
        str,
        typer.Option(help="Incident scenario: 'default', 'none' or a YAML file."),
    ] = "default",
    end: Annotated[
        datetime | None,
        _time_option("End of the simulated span, UTC \\[default: now, floored to 5 minutes]."),
    ] = None,
    label_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Share of labellable items that get a human label.")
    ] = 0.05,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="After the history (written only if the folder has none), keep appending logs "
            "in near real time and serve /metrics until Ctrl-C.",
        ),
    ] = False,
    interval: Annotated[float, typer.Option(min=0.5, help="Live: seconds between appends.")] = 10,
    host: Annotated[
        str, typer.Option(help="Live: address of the /metrics endpoint.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Live: port of the /metrics endpoint.")] = 9464,
    definitions: DefinitionsOption = None,
) -> None:
    """Write production-like prediction logs, late labels, Prometheus history and incidents.

    Outputs (docs/data-contracts.md) under the data folder: predictions/ (Parquet,
    hive-partitioned by signal and date), labels/, metrics/sigwatch.om (OpenMetrics for
    `promtool tsdb create-blocks-from openmetrics`) and incidents.json. The first run also
    scores a corpus of about 6,400 texts with the real models (a minute or two).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from simulator.run import SimulationError
    from simulator.run import simulate as run_simulation
    from simulator.scenario import ScenarioError

    reg = _load(definitions)
    settings = Settings.from_env()
    folder = data or settings.data_dir
    if live and (folder / "predictions").exists():
        _simulate_live(reg, folder, seed=seed, rate=rate, label_rate=label_rate,
                       interval=interval, host=host, port=port)  # fmt: skip
        return
    when = _clock(end).now()
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("simulating", total=None)

        def report(message: str, done: int, total: int) -> None:
            progress.update(task, description=message, completed=done, total=total or None)

        try:
            result = run_simulation(
                reg, folder, days=days, seed=seed, end=when, rate=rate, scenario=scenario,
                label_rate=label_rate, progress=report,
            )  # fmt: skip
        except ScenarioError as exc:
            for problem in exc.problems:
                print(problem)
            raise typer.Exit(code=1) from None
        except SimulationError as exc:
            err.print(f"[red]{exc}")
            raise typer.Exit(code=1) from None
    rows = sum(result.rows.values())
    out.print(
        f"simulated {result.start:%Y-%m-%d %H:%M} .. {result.end:%Y-%m-%d %H:%M} UTC into "
        f"{result.data_dir}: {rows:,} log rows, {sum(result.labels.values()):,} labels, "
        f"{result.metric_samples:,} metric samples, {len(result.incidents)} incidents"
    )
    for incident in result.incidents:
        out.print(
            f"  {incident['start'][:16]} .. {incident['end'][:16]}  {incident['signal']:<18} "
            f"{incident['kind']:<19} breaks: {', '.join(incident['slos'])}"
        )
    if live:
        _simulate_live(reg, folder, seed=seed, rate=rate, label_rate=label_rate,
                       interval=interval, host=host, port=port)  # fmt: skip


def _simulate_live(reg, folder: Path, *, seed, rate, label_rate, interval, host, port) -> None:
    import threading

    from prometheus_client import start_http_server

    from sigwatch.clock import floor_time
    from simulator.corpus import load_corpus
    from simulator.live import LiveSimulator, run_live
    from simulator.traffic import STEP

    clock = _clock(None)  # live traffic follows the wall clock
    start = LiveSimulator.resume_point(folder, default=floor_time(clock.now(), STEP))
    corpus = load_corpus(reg, folder / "cache")
    sim = LiveSimulator(
        reg, folder, corpus, seed=seed, rate=rate, start=start, label_rate=label_rate
    )
    try:
        server, _ = start_http_server(port, addr=host, registry=sim.metrics)
    except OSError as exc:
        err.print(f"[red]cannot serve /metrics on {host}:{port}: {exc.strerror}; use --port")
        raise typer.Exit(code=1) from None
    out.print(
        f"live: appending to {folder} every {interval:g}s; metrics at http://{host}:{port}/metrics"
    )
    out.print("Ctrl-C stops.")
    stop = threading.Event()
    try:
        with processes.signals_set(stop):  # Ctrl-C or SIGTERM: finish the append, then stop
            run_live(sim, clock, interval, stop)
    finally:
        server.shutdown()
        server.server_close()
        out.print(f"live: stopped after {sim.rows:,} rows")


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

    runtime = _runtime(data, definitions, at)
    reg = runtime.registry
    unknown = sorted(set(signal or ()) - set(reg.names))
    if unknown:
        err.print(f"[red]unknown signal(s): {', '.join(unknown)}; known: {', '.join(reg.names)}")
        raise typer.Exit(code=2)
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
                    progress.update(task, description=f"backfilling {backfill}: {name}",
                                    completed=done, total=total)  # fmt: skip

                outcomes = runner.backfill(when - span, when, signals=signal, slice_step=step,
                                           progress=report)  # fmt: skip
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
        err.print(f"[yellow]{escape(str(exc))}; each signal's run fails (and is recorded) "
                  "until it answers")  # fmt: skip


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
    line = (f"alerts: {len(opened)} open; notifications {where}: "
            f"{result.sent + result.recorded}, queued: {result.pending}")  # fmt: skip
    if result.error:
        line += f"; delivery stopped: {result.error}"
    return line


@app.command()
def serve(
    data: DataOption = None,
    host: Annotated[str, typer.Option(help="Address of the /metrics endpoint.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the /metrics endpoint.")] = 9465,
    actions_port: Annotated[
        int,
        typer.Option(
            help="Port of Slack's interactivity endpoint (POST /slack/actions, on --host), "
            "served when SIGWATCH_SLACK_SIGNING_SECRET is set."
        ),
    ] = 9466,
    definitions: DefinitionsOption = None,
) -> None:
    """Run the monitors and alerts on schedule and serve SLO metrics on /metrics.

    Every signal is evaluated at start, then at its `schedule` (default 5m), and its alerts
    updated and sent (Slack with SIGWATCH_SLACK_TOKEN or a webhook, else the outbox). The
    outbox is retried every minute; the daily digest goes out at SIGWATCH_DIGEST_AT (default
    09:00 UTC), the weekly SLO review of the week before at SIGWATCH_WEEKLY_AT (default Monday
    09:00 UTC); what is older than SIGWATCH_RETENTION is pruned at 03:30 UTC. Ctrl-C stops
    cleanly.

    With SIGWATCH_SLACK_SIGNING_SECRET, alert messages carry Acknowledge and Silence 1h buttons
    and serve answers their clicks on --actions-port at /slack/actions (the Slack app's
    interactivity URL, behind your HTTPS proxy); only people on call in SIGWATCH_ROLES act.

    On the SQLite store (the default), one `serve` runs per data folder (a second is refused)
    and its jobs live in <data>/scheduler.db, so a restart resumes them. On PostgreSQL
    (SIGWATCH_STORE_URL), run `serve` on two hosts for when one is down: each evaluation,
    alert and Slack post happens once, by whichever scheduler gets to it first.
    """
    from alerts.jobs import digest_job, flush_job, weekly_job
    from monitors.scheduler import ExtraJob, prune_job
    from sigwatch.store.connection import POSTGRES

    runtime = _runtime(data, definitions)
    settings, folder = runtime.settings, runtime.data_dir
    digest = dict(zip(("hour", "minute"), settings.digest_at, strict=True))
    weekly = dict(zip(("day_of_week", "hour", "minute"), settings.weekly_at, strict=True))
    extra = (
        ExtraJob("alerts:flush", flush_job, "interval", {"seconds": 60}),
        ExtraJob("alerts:digest", digest_job, "cron", digest),
        ExtraJob("report:weekly", weekly_job, "cron", weekly),
        ExtraJob("store:prune", prune_job, "cron", {"hour": 3, "minute": 30}),
    )
    from evaluation.local import available

    judging = bool(settings.judge_url) or available()
    if judging:
        from evaluation.jobs import judge_job

        extra += (ExtraJob("judge:daily", judge_job, "cron", {"hour": 2, "minute": 0}),)
    folder.mkdir(parents=True, exist_ok=True)
    if runtime.store_url.dialect == POSTGRES:  # shared: other schedulers are welcome
        _serve(runtime, extra, judging, (host, port, actions_port), shared=True)
        return
    try:
        lock = processes.acquire(folder / "serve.lock", "sigwatch serve", runtime.clock.now())
    except processes.Taken as holder:
        err.print(
            f"[red]another scheduler already runs on {folder}: {holder}. The SQLite store "
            "takes one `sigwatch serve` per data folder; stop that one first, or give this one "
            "another --data (two schedulers share a PostgreSQL store: SIGWATCH_STORE_URL)."
        )
        raise typer.Exit(code=1) from None
    with lock:
        _serve(runtime, extra, judging, (host, port, actions_port), shared=False)


def _serve(runtime: Runtime, extra, judging: bool, addresses, *, shared: bool) -> None:
    """``serve`` once it may run: the scheduler, /metrics (and Slack's buttons), until
    stopped. ``addresses``: host, metrics port, actions port. ``shared``: the store is PostgreSQL,
    which other schedulers may share (its jobs are kept in memory: each scheduler builds them
    from the definitions when it starts)."""
    import threading

    from prometheus_client import CollectorRegistry, start_http_server

    from alerts.jobs import monitor_and_alert_job
    from monitors.exporter import StatusCollector
    from monitors.scheduler import build_scheduler

    host, port, actions_port = addresses
    reg, settings, clock = runtime.registry, runtime.settings, runtime.clock
    actions = _slack_actions(runtime)
    scheduler = build_scheduler(
        reg, runtime.data_dir, runtime.definitions, clock, job=monitor_and_alert_job,
        extra=extra, persist=not shared,
    )  # fmt: skip
    metrics = CollectorRegistry()
    metrics.register(StatusCollector(runtime.store_url, clock))
    stop = threading.Event()
    # Ctrl-C or SIGTERM from here on stops cleanly, even one that comes while starting
    with processes.signals_set(stop):
        try:
            server, thread = start_http_server(port, addr=host, registry=metrics)
        except OSError as exc:
            err.print(f"[red]cannot serve /metrics on {host}:{port}: {exc.strerror}; use --port")
            raise typer.Exit(code=1) from None
        buttons = None
        if actions is not None:
            from alerts.actions import PATH, serve_actions

            try:
                buttons = serve_actions(actions, host, actions_port)
            except OSError as exc:
                server.shutdown()
                err.print(f"[red]cannot serve Slack's actions on {host}:{actions_port}: "
                          f"{exc.strerror}; use --actions-port")  # fmt: skip
                raise typer.Exit(code=1) from None
        scheduler.start()
        slack = (
            "posting alerts to Slack" if settings.slack_token or settings.slack_webhook_url
            else "alerts to the outbox only (no SIGWATCH_SLACK_TOKEN)"
        )  # fmt: skip
        out.print(f"serving: {len(reg)} signals on schedule; metrics at http://{host}:{port}/metrics;"
                  f" {slack}; digest daily {settings.digest_at[0]:02d}:"
                  f"{settings.digest_at[1]:02d} UTC to {settings.digest_channel}; weekly review "
                  f"{settings.weekly_at[0]} {settings.weekly_at[1]:02d}:{settings.weekly_at[2]:02d}"
                  " UTC"
                  + ("; judge daily 02:00 UTC" if judging else ""))  # fmt: skip
        where = "shared with any other scheduler on it" if shared else "this scheduler's alone"
        if buttons is not None:
            people = sum(1 for p in actions.roles.people.values() if p.slack)
            source = actions.roles.source
            out.print(
                f"Slack's buttons: http://{host}:{actions_port}{PATH} (signed requests only; "
                f"{people} people with a Slack user id in {source})"
            )
        if settings.engine == "spark":
            _say_spark(settings)
        out.print(f"store: {runtime.store_url} ({where}). Ctrl-C stops.")
        try:
            while not stop.wait(1.0):  # short waits: the handler runs between them
                pass
        finally:
            scheduler.shutdown(wait=True)
            if buttons is not None:
                buttons[0].shutdown()
                buttons[0].server_close()
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
            out.print("stopped")


def _slack_actions(runtime: Runtime):
    """What answers Slack's buttons, when SIGWATCH_SLACK_SIGNING_SECRET is set; bad roles
    stop serve before it starts."""
    settings = runtime.settings
    if settings.slack_signing_secret is None:
        return None
    from alerts.actions import SlackActions
    from alerts.service import Alerting
    from sigwatch.access import LiveRoles, RolesError

    try:
        roles = LiveRoles()  # read again when the file changes, as the console does
    except RolesError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(code=2) from None

    @contextmanager
    def alerting():
        with runtime.open_store() as store:
            yield Alerting.open(store, runtime.registry, settings, runtime.clock)

    return SlackActions(settings.slack_signing_secret, roles, alerting, runtime.clock)


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
        err.print(f"no store at {runtime.store_url}: run `sigwatch simulate` then"
                  " `sigwatch monitor` first")  # fmt: skip
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
        shown = [{**_status_json(s), "monitor": _monitor_json(failing[s.signal])} for s in rows]
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
            "" if s.group else s.signal, name, s.sli, _state_cell(s),
            "" if s.value is None else f"{s.value:.4g}", ci,
            "" if s.samples is None else f"{s.samples:,}",
            _budget_cell(s), f"{max(burns):.2f}x" if burns else "", f"{s.at:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    out.print(table)


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
    if s.group is None and "group_by" in s.details:  # a grouped SLO's own row
        grouped = {
            "groups": s.details.get("groups", {}),
            "worst_group": s.details.get("worst"),
            "alerting_groups": s.details.get("alerting", []),
        }
        if "gap" in s.details:
            grouped["gap"] = s.details["gap"]
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
        **grouped,
    }


def _utc(when: datetime) -> datetime:
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


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
    out.print(f"{verb} {total:,} rows dated before {before:%Y-%m-%d %H:%M} UTC "
              f"(SIGWATCH_RETENTION {format_duration(settings.retention)})")  # fmt: skip
    for table, n in counts.items():
        if n:
            out.print(f"  {table}: {n:,}")
    out.print(f"{verb} {sum(compacted.values()):,} statuses evaluated before "
              f"{detail:%Y-%m-%d %H:%M} UTC, keeping one an hour and every change "
              f"(SIGWATCH_STATUS_DETAIL {format_duration(settings.status_detail)})")  # fmt: skip
    keep = format_duration(settings.bucket_retention)
    out.print(
        f"{verb} {sum(files.values()):,} day files of 5-minute buckets before "
        f"{buckets_before} (SIGWATCH_BUCKET_RETENTION {keep}; their day totals are kept)"
    )


@app.command()
def train(
    models: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Only these model ids (repeatable) \\[default: all]."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Data folder for the embedding cache \\[default: $SIGWATCH_DATA or ./var]."
        ),
    ] = None,
) -> None:
    """Rebuild the model heads from packaged data and rewrite the model cards.

    Deterministic (fixed seed and splits): the heads under inference/artifacts/ come out the
    same. The first run embeds about 40,000 texts (a few minutes on 2 cores); embeddings are
    cached in the data folder, so later runs take seconds.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from inference.embeddings import EmbeddingCache
    from inference.training import HEADS, evaluate_entities, train_head

    known = [spec.model_id for spec in HEADS] + ["product-entities"]
    chosen = models or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        err.print(f"[red]unknown model id(s): {', '.join(unknown)}; known: {', '.join(known)}")
        raise typer.Exit(code=2)
    folder = data or Settings.from_env().data_dir
    cache = EmbeddingCache(folder / "cache" / "embeddings.npz")
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        for spec in HEADS:
            if spec.model_id not in chosen:
                continue
            data_size = None
            task = progress.add_task(f"embedding for {spec.model_id}", total=data_size)
            result = train_head(spec, cache, progress=lambda n, t=task: progress.advance(t, n))
            progress.remove_task(task)
            out.print(f"{result.model_id}: {result.headline} -> {result.artifact}, {result.card}")
        if "product-entities" in chosen:
            result = evaluate_entities()
            out.print(f"{result.model_id}: {result.headline} -> {result.card}")


def _runtime(
    data: Path | None, definitions: Path | None = None, at: datetime | None = None,
    *, registry: bool = True,
) -> Runtime:  # fmt: skip
    """The command's runtime (the composition root): the settings, ``--data``,
    ``--definitions`` and its clock (``--at``, else the wall clock); with ``registry`` the
    definitions are loaded now, their problems listed and the command stopped if any."""
    runtime = Runtime.from_env(data=data, definitions=definitions, clock=_clock(at))
    if registry:
        _listing_problems(lambda: runtime.registry, runtime.definitions)
    return runtime


def _load(definitions: Path | None):
    folder = definitions or Settings.from_env().definitions_dir
    return _listing_problems(lambda: load_registry(folder), folder)


def _listing_problems(load, folder: Path):
    """``load()``'s registry; a broken definitions folder has its problems listed and stops
    the command."""
    try:
        return load()
    except DefinitionError as exc:
        for problem in exc.problems:
            print(problem)
        err.print(f"[red]✗ the registry at {folder} has {len(exc.problems)} problem(s)")
        err.print("  run [bold]sigwatch validate[/bold] for details")
        raise typer.Exit(code=1) from None


from sigwatch.cli import alerting as _alerting  # noqa: E402, F401  (registers its commands)
from sigwatch.cli import demo as _demo  # noqa: E402, F401
from sigwatch.cli import judging as _judging  # noqa: E402, F401
from sigwatch.cli import storing as _storing  # noqa: E402, F401


def run() -> None:
    """The ``sigwatch`` command: the app, with a store that cannot be reached said in one line
    (the URL without its password) instead of a traceback."""
    try:
        app()
    except ConnectionError as exc:
        err.print(f"[red]{escape(str(exc))}")
        raise SystemExit(1) from None
