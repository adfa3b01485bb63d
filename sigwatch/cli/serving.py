"""``sigwatch serve``: the monitors, alerts, digest and reviews on schedule, ``/metrics`` and
Slack's buttons, until stopped."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated

import typer

from sigwatch.cli import (
    DataOption,
    DefinitionsOption,
    _runtime,
    app,
    err,
    out,
    processes,
)
from sigwatch.cli.monitoring import _say_spark
from sigwatch.runtime import Runtime


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
    09:00 UTC); what is older than SIGWATCH_RETENTION is pruned at 03:30 UTC. CBPE's calibrators
    are fitted at start and after midnight (`sigwatch calibrate`), so the cycles only read them.
    Ctrl-C stops cleanly.

    With SIGWATCH_SLACK_SIGNING_SECRET, alert messages carry Acknowledge and Silence 1h buttons
    and serve answers their clicks on --actions-port at /slack/actions (the Slack app's
    interactivity URL, behind your HTTPS proxy); only people on call in SIGWATCH_ROLES act.

    On the SQLite store (the default), one `serve` runs per data folder (a second is refused)
    and its jobs live in <data>/scheduler.db, so a restart resumes them. On PostgreSQL
    (SIGWATCH_STORE_URL), run `serve` on two hosts for when one is down: each evaluation,
    alert and Slack post happens once, by whichever scheduler gets to it first.
    """
    from alerts.jobs import digest_job, flush_job, weekly_job
    from monitors.scheduler import ExtraJob, calibrate_job, prune_job
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
        # after midnight (a new day's slices) and at start: the cycles then only read the fits
        ExtraJob(
            "estimates:calibrate",
            calibrate_job,
            "cron",
            {"hour": 0, "minute": 0, "second": 5, "next_run_time": runtime.clock.now()},
        ),
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
        reg,
        runtime.data_dir,
        runtime.definitions,
        clock,
        job=monitor_and_alert_job,
        extra=extra,
        persist=not shared,
    )
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
                err.print(
                    f"[red]cannot serve Slack's actions on {host}:{actions_port}: "
                    f"{exc.strerror}; use --actions-port"
                )
                raise typer.Exit(code=1) from None
        scheduler.start()
        slack = (
            "posting alerts to Slack"
            if settings.slack_token or settings.slack_webhook_url
            else "alerts to the outbox only (no SIGWATCH_SLACK_TOKEN)"
        )
        out.print(
            f"serving: {len(reg)} signals on schedule; metrics at http://{host}:{port}/metrics;"
            f" {slack}; digest daily {settings.digest_at[0]:02d}:"
            f"{settings.digest_at[1]:02d} UTC to {settings.digest_channel}; weekly review "
            f"{settings.weekly_at[0]} {settings.weekly_at[1]:02d}:{settings.weekly_at[2]:02d}"
            " UTC; CBPE calibrated at start and 00:00 UTC"
            + ("; judge daily 02:00 UTC" if judging else "")
        )
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
