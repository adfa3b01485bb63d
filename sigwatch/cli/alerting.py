"""``sigwatch alerts``, ``ack``, ``silence`` and ``digest``: the on-call's terminal side of the
alert lifecycle. Heavy imports (slack_sdk) stay inside the commands."""

from __future__ import annotations

import getpass
import json
from contextlib import contextmanager
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
    app,
    err,
    out,
)
from sigwatch.states import AlertState
from sigwatch.store import codec

silence_app = typer.Typer(
    help="Silence alerts of a signal and/or SLO for a while.", no_args_is_help=True
)
app.add_typer(silence_app, name="silence")

ALERT_STYLE = {
    AlertState.FIRING: "bold red",
    AlertState.ACKNOWLEDGED: "yellow",
    AlertState.RESOLVED: "green",
}


@contextmanager
def _alerting(data: Path | None, definitions: Path | None, at):
    from alerts.service import Alerting

    runtime = _runtime(data, definitions, at)
    with runtime.open_store() as store:
        yield (
            Alerting.open(store, runtime.registry, runtime.settings, runtime.clock),
            runtime.registry,
            runtime.settings,
        )


def alert_json(a) -> dict:
    """One alert as ``sigwatch alerts --json`` prints it (a stable interface: see README)."""
    return {
        "key": a.key,
        "id": a.id,
        "signal": a.signal,
        "slo": a.slo,
        "severity": a.severity,
        "state": a.state,
        "started_at": a.started_at.isoformat(),
        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
        "last_value": a.last_value,
        "burn_rates": a.burn_rates,
        "fired": a.fired,
        "acknowledged_by": a.acknowledged_by,
        "resolution": a.resolution,
        "silenced": a.silenced,
        "slack_ts": a.slack_ts,
        "channel": a.channel,
        "suspects": [codec.suspect_json(x) for x in a.suspects],
        "groups": None if a.groups is None else [codec.listed_group_json(g) for g in a.groups],
    }


@app.command()
def alerts(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Resolved alerts too.")] = False,
    at: AtOption = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """List open alerts (or --all), newest first."""
    with _alerting(data, definitions, at) as (alerting, _, _):
        rows = alerting.records.alerts(include_resolved=show_all)
    if as_json:
        print(json.dumps([alert_json(a) for a in rows], indent=2))
        return
    if not rows:
        out.print("no open alerts" if not show_all else "no alerts yet")
        return
    table = Table()
    for column in ("key", "state", "started", "resolved", "value", "fastest burn", "slack"):
        table.add_column(column)
    for a in rows:
        state = a.state + (" (silenced)" if a.silenced else "")
        table.add_row(
            a.key,
            f"[{ALERT_STYLE.get(a.state, '')}]{state}",
            f"{a.started_at:%m-%d %H:%M}",
            f"{a.resolved_at:%m-%d %H:%M}" if a.resolved_at else "",
            "" if a.last_value is None else f"{a.last_value:.4g}",
            f"{a.fastest_burn:.1f}x",
            "posted" if a.slack_ts else ("outbox" if a.notified else "-"),
        )
    out.print(table)


@app.command()
def ack(
    key: Annotated[str, typer.Argument(help="Alert key (signal/slo/severity) or id.")],
    by: Annotated[str | None, typer.Option(help="Who acknowledges \\[default: $USER].")] = None,
    at: AtOption = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Acknowledge a firing alert: its Slack message is updated and the thread told who.

    The CLI acts with the store's credentials, outside the roles of the console and of
    Slack's buttons (SIGWATCH_ROLES): whoever can open the store can acknowledge, and --by is
    recorded as given (shown as written in Slack, never as a mention)."""
    from alerts.lifecycle import AlertError

    with _alerting(data, definitions, at) as (alerting, _, _):
        try:
            alert = alerting.lifecycle.acknowledge(key, by or getpass.getuser())
        except AlertError as exc:
            err.print(f"[red]{exc}")
            raise typer.Exit(code=1) from None
        result = alerting.delivery.flush()
    out.print(f"{alert.key} acknowledged by {escape(alert.acknowledged_by or '')}")
    if result.error:
        err.print(f"[yellow]queued, not yet delivered: {result.error}")


@silence_app.command("add")
def silence_add(
    reason: Annotated[str, typer.Option(help="Why (shown to whoever looks).")],
    duration: Annotated[str, typer.Option("--for", help="How long, e.g. 2h, 1d.")],
    signal: Annotated[str | None, typer.Option("--signal", "-s")] = None,
    slo: Annotated[str | None, typer.Option("--slo")] = None,
    author: Annotated[str | None, typer.Option(help="Who \\[default: $USER].")] = None,
    at: AtOption = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Silence a signal and/or an SLO: its alerts are recorded but not posted until it ends.

    Like ack, this acts with the store's credentials, outside SIGWATCH_ROLES; --author is
    recorded as given."""
    from alerts.lifecycle import AlertError
    from sigwatch.units import parse_duration

    try:
        span = parse_duration(duration)
    except ValueError as exc:
        err.print(f"[red]--for: {exc}")
        raise typer.Exit(code=2) from None
    with _alerting(data, definitions, at) as (alerting, _, _):
        try:
            made = alerting.lifecycle.silence(
                signal=signal,
                slo=slo,
                author=author or getpass.getuser(),
                reason=reason,
                duration=span,
            )
        except AlertError as exc:
            err.print(f"[red]{exc}")
            raise typer.Exit(code=2) from None
    out.print(
        f"silence {made.id}: {made.signal or '*'}/{made.slo or '*'} until "
        f"{made.expires_at:%Y-%m-%d %H:%M} UTC"
    )


@silence_app.command("list")
def silence_list(
    show_all: Annotated[bool, typer.Option("--all", help="Ended ones too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    at: AtOption = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """List active silences (or --all)."""
    with _alerting(data, definitions, at) as (alerting, _, _):
        now = alerting.records.store.now()
        rows = alerting.records.silences(None if show_all else now)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "signal": s.signal,
                        "slo": s.slo,
                        "author": s.author,
                        "reason": s.reason,
                        "created_at": s.created_at.isoformat(),
                        "expires_at": s.expires_at.isoformat(),
                        "active": s.active(now),
                    }
                    for s in rows
                ],
                indent=2,
            )
        )
        return
    if not rows:
        out.print("no active silences")
        return
    table = Table()
    for column in ("id", "signal", "slo", "author", "reason", "until", "active"):
        table.add_column(column)
    for s in rows:
        active = "yes" if s.active(now) else "no"
        until = f"{s.expires_at:%Y-%m-%d %H:%M}"
        # names and reasons are typed by people: shown as written, not as Rich markup
        shown = [escape(v) for v in (s.signal or "*", s.slo or "*", s.author, s.reason)]
        table.add_row(str(s.id), *shown, until, active)
    out.print(table)


@silence_app.command("end")
def silence_end(
    silence_id: Annotated[int, typer.Argument(help="Silence id (see `silence list`).")],
    at: AtOption = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """End a silence now; what its alerts did meanwhile is announced."""
    from alerts.lifecycle import AlertError

    with _alerting(data, definitions, at) as (alerting, _, _):
        try:
            alerting.lifecycle.unsilence(silence_id)
        except AlertError as exc:
            err.print(f"[red]{exc}")
            raise typer.Exit(code=1) from None
        alerting.delivery.flush()
    out.print(f"silence {silence_id} ended")


@app.command()
def digest(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print it; post nothing.")] = False,
    at: AtOption = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Post the daily digest (SLOs met, budgets, spend, incidents) to the digest channel."""
    from alerts.digest import build_digest, post_digest

    with _alerting(data, definitions, at) as (alerting, reg, settings):
        now = alerting.records.store.now()
        if dry_run:
            text, blocks = build_digest(alerting.records, reg, now)
            out.print(text)
            for block in blocks[1:]:
                out.print(block["text"]["text"], markup=False)
            return
        post_digest(alerting.records, reg, settings.digest_channel, now)
        result = alerting.delivery.flush()
    out.print(
        f"digest queued for {settings.digest_channel}"
        + (f"; not yet delivered: {result.error}" if result.error else "")
    )


report_app = typer.Typer(help="Reports for leadership.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("weekly")
def report_weekly(
    week: Annotated[
        str | None,
        typer.Option(help="ISO week, e.g. 2026-W47 \\[default: the last full week before now]."),
    ] = None,
    post: Annotated[
        bool,
        typer.Option("--post", help="Share it in SIGWATCH_DIGEST_CHANNEL (needs a bot token)."),
    ] = False,
    at: AtOption = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """The weekly SLO review: compliance per SLO against its objective, error budget burned,
    incidents with time to detect and resolve, cost and spend, the worst three SLOs. Written as
    Markdown, a PNG and SVGs into <data>/reports/weekly and printed; with --post, shared in the
    digest channel (serve does that every SIGWATCH_WEEKLY_AT, default Monday 09:00 UTC)."""
    from alerts.notifiers import Permanent, Retryable
    from alerts.weekly import WeekError, build_review, last_full_week, parse_week, publish

    runtime = _runtime(data, definitions, at)
    now = runtime.clock.now()
    try:
        start = parse_week(week) if week else last_full_week(now)
    except WeekError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(code=2) from None
    with runtime.open_store() as store:
        if store.history.data_time() is None:
            err.print("[red]no evaluations yet: run `sigwatch monitor` (or `make demo`) first")
            raise typer.Exit(code=1)
        review = build_review(store, runtime.registry, runtime.data_dir, start)
        if not any(s.compliance is not None for s in review.slos):
            err.print(
                f"[red]nothing was measured in {review.name} ({review.start:%Y-%m-%d} to "
                f"{review.end:%Y-%m-%d}); pick another --week"
            )
            raise typer.Exit(code=1)
        try:
            done = publish(
                store, runtime.registry, runtime.settings, runtime.data_dir, start, now, post=post
            )
        except (Permanent, Retryable) as exc:
            err.print(f"[red]the review was written but not posted: {exc}")
            raise typer.Exit(code=1) from None
    print(review.markdown())
    out.print(f"{done.said}: " + ", ".join(p.name for p in done.files))
    if post and not done.posted:
        raise typer.Exit(code=1)
