"""The ``sigwatch`` command: the composition root, the one package that wires every other.

This module holds the app, the options the commands share and how a command builds its
``Runtime``; the commands live in a module per group: ``defining`` (validate, schema,
registry), ``simulating`` (simulate, train), ``monitoring`` (monitor, status, prune),
``serving`` (serve), ``alerting`` (alerts, ack, silence, digest, report), ``demo`` (console, demo),
``judging`` (judge, distill) and ``storing`` (store). Each command builds what it needs
from ``Settings.from_env()`` and the registry; nothing is wired at import time, so ``sigwatch
--help`` stays fast.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from sigwatch import __version__
from sigwatch.clock import Clock, clock_at
from sigwatch.registry import DefinitionError, load_registry
from sigwatch.runtime import Runtime
from sigwatch.settings import ENV_VARS, Settings

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


def _utc(when: datetime) -> datetime:
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _runtime(
    data: Path | None,
    definitions: Path | None = None,
    at: datetime | None = None,
    *,
    registry: bool = True,
) -> Runtime:
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


# the command groups register their commands on ``app``, in the order ``--help`` lists them
# (the order of the work: definitions, traffic, monitors, serve, alerts, the judge, the store)
from sigwatch.cli import defining, simulating, monitoring, serving  # noqa: E402, F401, I001
from sigwatch.cli import alerting, demo, judging, storing  # noqa: E402, F401


def run() -> None:
    """The ``sigwatch`` command: the app, with a store that cannot be reached said in one line
    (the URL without its password) instead of a traceback."""
    try:
        app()
    except ConnectionError as exc:
        err.print(f"[red]{escape(str(exc))}")
        raise SystemExit(1) from None
