"""``sigwatch simulate`` and ``train``: production-like traffic, and the in-house models' heads."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from sigwatch.cli import (
    DefinitionsOption,
    _clock,
    _load,
    _time_option,
    app,
    err,
    out,
    processes,
)
from sigwatch.settings import Settings


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
    judged: Annotated[
        bool,
        typer.Option(
            "--judged",
            help="The simulated LLM judge will label this history (sigwatch demo does): "
            "incidents.json then expects the judge-based SLOs to break too.",
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
        _simulate_live(
            reg,
            folder,
            seed=seed,
            rate=rate,
            label_rate=label_rate,
            interval=interval,
            host=host,
            port=port,
        )
        return
    when = _clock(end).now()
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("simulating", total=None)

        def report(message: str, done: int, total: int) -> None:
            progress.update(task, description=message, completed=done, total=total or None)

        try:
            result = run_simulation(
                reg,
                folder,
                days=days,
                seed=seed,
                end=when,
                rate=rate,
                scenario=scenario,
                label_rate=label_rate,
                judged=judged,
                progress=report,
            )
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
        _simulate_live(
            reg,
            folder,
            seed=seed,
            rate=rate,
            label_rate=label_rate,
            interval=interval,
            host=host,
            port=port,
        )


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
