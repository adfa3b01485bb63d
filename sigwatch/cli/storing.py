"""``sigwatch store``: where the store is, what it holds, and moving it (SQLite to PostgreSQL)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from sigwatch.cli import DataOption, _runtime, app, err, out

store_app = typer.Typer(
    help="The store: where it is and what it holds; copy it into PostgreSQL.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")


@store_app.command("info")
def info(
    data: DataOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Where the store is (SIGWATCH_STORE_URL, else <data>/sigwatch.db; a password never
    shows), its schema version and the rows of each table."""
    from sigwatch.store.copy import row_counts

    runtime = _runtime(data, registry=False)
    if not runtime.store_exists():
        err.print(f"[red]no store at {runtime.store_url}")
        raise typer.Exit(code=1)
    store = _open(runtime.store_url, runtime.clock)
    with store:
        doc = {
            "store": str(store.url),
            "dialect": store.dialect,
            "schema_version": store.schema_version,
            "rows": row_counts(store),
        }
    if as_json:
        print(json.dumps(doc))
        return
    out.print(f"{doc['store']} ({doc['dialect']}, schema version {doc['schema_version']})")
    table = Table("table", "rows")
    for name, n in doc["rows"].items():
        table.add_row(name, f"{n:,}")
    out.print(table)


@store_app.command("copy")
def copy(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="The store to copy into (empty): postgresql://user@host:port/database, the "
            "password from PGPASSWORD; or sqlite:///path.",
        ),
    ],
    data: DataOption = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="The store to copy from \\[default: SIGWATCH_STORE_URL or <data>/sigwatch.db].",
        ),
    ] = None,
) -> None:
    """Copy every row of the store into another, empty one (migrated first), in one
    transaction; then compare the rows per table of both and exit 1 if any differ.

    After the copy, point every host at the new store with SIGWATCH_STORE_URL. The partial
    tables (Parquet files under <data>/partials) are not in the store: they stay where they
    are, and every host needs them (a shared volume or object storage path).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    from sigwatch.store.connection import StoreURL, StoreURLError
    from sigwatch.store.copy import CopyError, copy_store, row_counts

    runtime = _runtime(data, registry=False)
    try:
        origin = StoreURL.parse(source) if source else runtime.store_url
        target = StoreURL.parse(to)
    except StoreURLError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(code=2) from None
    if origin.path is not None and not origin.path.exists():
        err.print(f"[red]no store at {origin}: nothing to copy")
        raise typer.Exit(code=1)
    if str(origin) == str(target):
        err.print(f"[red]{origin} is both the source and the target")
        raise typer.Exit(code=2)
    with _open(origin, runtime.clock) as src, _open(target, runtime.clock) as dst:
        columns = ("{task.description}", BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("copying", total=None)

            def report(table: str, done: int, total: int) -> None:
                bar.update(task, description=f"copying {table}", completed=done, total=total)

            try:
                copy_store(src, dst, report)
            except CopyError as exc:
                err.print(f"[red]{exc}")
                raise typer.Exit(code=1) from None
        before, after = row_counts(src), row_counts(dst)
    table = Table("table", f"rows in {origin.dialect}", f"rows in {target.dialect}", "")
    differ = 0
    for name in sorted(set(before) | set(after)):
        same = before.get(name) == after.get(name)
        differ += not same
        table.add_row(
            name,
            f"{before.get(name, 0):,}",
            f"{after.get(name, 0):,}",
            "" if same else "[red]differs",
        )
    out.print(table)
    if differ:
        err.print(f"[red]{differ} table(s) differ between {origin} and {target}")
        raise typer.Exit(code=1)
    out.print(
        f"copied {sum(before.values()):,} rows from {origin} to {target}; every table's "
        "count matches. Set SIGWATCH_STORE_URL to use it."
    )


def _open(url, clock):
    """The store at ``url`` (migrated), or the command stopped with why it cannot be opened."""
    from sigwatch.store import Store

    try:
        return Store.open(url, clock=clock)
    except ConnectionError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(code=1) from None
