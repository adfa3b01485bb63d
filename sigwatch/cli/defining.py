"""``sigwatch validate``, ``schema`` and ``registry``: the SLO files, checked and listed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sigwatch.cli import (
    DefinitionsOption,
    _load,
    app,
    err,
    out,
)
from sigwatch.registry import to_spec_dict
from sigwatch.settings import Settings
from sigwatch.spec import json_schema
from sigwatch.validation import check_paths


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
        slos.add_row(slo.signal, slo.name, slo.sli.describe(), str(slo.objective))
    out.print(slos)
