"""``sigwatch console`` (the Streamlit console alone) and ``sigwatch demo`` (everything at
once on simulated traffic: what ``make demo`` runs)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from sigwatch.cli import (
    AtOption,
    DataOption,
    DefinitionsOption,
    _clock,
    _load,
    _utc,
    app,
    err,
    out,
    processes,
)
from sigwatch.clock import floor_time
from sigwatch.settings import Settings

APP = Path(__file__).resolve().parent.parent.parent / "console" / "app.py"


def _streamlit_args(host: str, port: int, secrets: Path | None = None) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        # no "Deploy" button or developer menu: the console is an operations tool
        "--client.toolbarMode",
        "minimal",
    ]
    if secrets is not None:
        args += ["--secrets.files", str(secrets)]
    return args


LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
def console(
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    at: AtOption = None,
    data: DataOption = None,
    allow_anonymous: Annotated[
        bool,
        typer.Option(
            "--allow-anonymous",
            help="Serve on an address other machines reach without sign-in: anyone who "
            "reaches the port can acknowledge and silence alerts, in any name.",
        ),
    ] = False,
    secrets: Annotated[
        Path | None,
        typer.Option(
            help="A Streamlit secrets.toml with an [auth] section: sign-in through its OIDC "
            "provider \\[default: SIGWATCH_OIDC_* variables, else .streamlit/secrets.toml].",
        ),
    ] = None,
) -> None:
    """Serve the Streamlit console (it reads the store in the data folder).

    With sign-in configured (an [auth] section: --secrets, the SIGWATCH_OIDC_* variables, or
    .streamlit/secrets.toml), everyone signs in through the OIDC provider and acts under that
    identity, with the role SIGWATCH_ROLES gives it (viewer, oncall, admin).

    Without sign-in the console is in local mode: it binds 127.0.0.1 and says so on every
    page. Binding another address needs --allow-anonymous, and every page then warns that
    anyone who reaches it acts in any name.

    With --at, the console takes that time as now (freshness, the spot-check's recent
    predictions, silences): for reviewing a replayed or copied data folder."""
    from sigwatch.access import Roles, RolesError
    from sigwatch.cli.signin import SigninError, configured

    try:
        with configured(secrets) as signin:
            if signin is not None:
                roles = Roles.from_env()
                out.print(f"{signin.describe()}; roles from {roles.source}")
            _console(host, port, at, data, allow_anonymous, signin)
    except (SigninError, RolesError) as exc:
        err.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(code=2) from None


def _console(host, port, at, data, allow_anonymous: bool, signin) -> None:
    anonymous = host not in LOOPBACK and signin is None
    if anonymous and not allow_anonymous:
        err.print(
            f"[red]refusing to serve the console on {host} without sign-in: anyone who reaches "
            "it could acknowledge and silence alerts in any name. Serve on 127.0.0.1 (local "
            "mode), or pass --allow-anonymous to accept that."
        )
        raise typer.Exit(code=2)
    if anonymous:
        err.print(
            f"[bold red]WARNING: the console on {host}:{port} has no sign-in: anyone who "
            "reaches this port can acknowledge and silence alerts, in any name."
        )
    env = dict(os.environ)
    env["SIGWATCH_CONSOLE_MODE"] = "signin" if signin else "anonymous" if anonymous else "local"
    if data is not None:
        env["SIGWATCH_DATA"] = str(data)
    if at is not None:
        env["SIGWATCH_CONSOLE_AT"] = _utc(at).isoformat()
    url = f"http://{host}:{port}"
    out.print(f"console at {url} (Ctrl-C stops it)")
    with processes.stop_signals():
        child = processes.start(_streamlit_args(host, port, signin and signin.secrets), env)
    code = _supervise({"console": child}, url)
    out.print("console stopped")
    raise typer.Exit(code)


@app.command()
def demo(
    days: Annotated[int, typer.Option(min=1, help="Days of history on a first run.")] = 14,
    rate: Annotated[float, typer.Option(min=1, help="Items per day per signal.")] = 20_000,
    console_port: Annotated[int, typer.Option(help="Port of the console.")] = 8501,
    serve_port: Annotated[int, typer.Option(help="Port of serve's /metrics.")] = 9465,
    live_port: Annotated[int, typer.Option(help="Port of the live simulator's /metrics.")] = 9464,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Simulate history with incidents (first run only), have the simulated LLM judge label
    each day's sample, backfill the monitors, then run the scheduler, the live simulator and
    the console together. Ctrl-C stops all of them."""
    from sigwatch.store import Store
    from simulator.judge import MODEL

    registry = _load(definitions)  # refuse a broken registry, with its problems listed
    settings = Settings.from_env()
    folder = (data or settings.data_dir).resolve()
    env = {
        **os.environ,
        "SIGWATCH_DATA": str(folder),
        "SIGWATCH_DEFINITIONS": str((definitions or settings.definitions_dir).resolve()),
        "SIGWATCH_CONSOLE_URL": f"http://127.0.0.1:{console_port}",
    }
    me = [sys.executable, "-m", "sigwatch.cli"]
    where = ["--data", str(folder)]
    # One "now" for the history and its backfill, passed to both steps; the services started
    # after them (serve, live traffic) run on the wall clock from there on.
    clock = _clock(None)
    now = floor_time(clock.now(), timedelta(minutes=5))
    stamp = f"{now:%Y-%m-%dT%H:%M:%S%z}"
    if not (folder / "predictions").exists():
        out.print(
            f"[bold]1/4[/bold] simulating {days} days of traffic with incidents into "
            f"{folder} (the first run scores a corpus with the real models)"
        )
        _step(
            [
                *me,
                "simulate",
                *where,
                "--days",
                str(days),
                "--rate",
                str(rate),
                "--end",
                stamp,
                "--judged",
            ],
            env,
        )
    else:
        out.print(
            f"[bold]1/4[/bold] {folder} already holds simulated traffic (delete it to start over)"
        )
    judge = _simulated_judge(registry, folder)
    env.update(
        SIGWATCH_JUDGE_URL=judge.url,
        SIGWATCH_JUDGE_MODEL=MODEL,
        SIGWATCH_JUDGE_DAILY_CALLS=str(DEMO_JUDGE_CALLS),
    )
    try:
        _judge_history(registry, folder, judge.url, now, days)
        with Store.open(Settings.from_env().store(folder), clock=clock) as store:
            latest = store.history.data_time()
        _backfill_and_run(
            me, where, env, now, latest, days, rate, (console_port, serve_port, live_port)
        )
    finally:
        judge.stop()


def _backfill_and_run(me, where, env, now, latest, days, rate, ports) -> None:
    stamp = f"{now:%Y-%m-%dT%H:%M:%S%z}"
    console_port, serve_port, live_port = ports
    behind = timedelta(days=days)
    if latest is not None:
        behind = min(behind, now - latest)
    if behind > timedelta(minutes=10):
        hours = max(1, int(behind.total_seconds() // 3600) + 1)
        out.print(f"[bold]3/4[/bold] backfilling the monitors over the last {hours}h")
        span = ["--backfill", f"{hours}h", "--slice-step", "3h", "--at", stamp]
        _step([*me, "monitor", *where, *span], env)
    else:
        out.print("[bold]3/4[/bold] the monitors are up to date")
    out.print("[bold]4/4[/bold] starting the scheduler, the live simulator and the console")
    serve = [*me, "serve", *where, "--port", str(serve_port)]
    live = [*me, "simulate", "--live", *where, "--rate", str(rate), "--port", str(live_port)]
    with processes.stop_signals():
        children = {
            "serve": processes.start(serve, env),
            "live": processes.start(live, env),
            "console": processes.start(_streamlit_args("127.0.0.1", console_port), env),
        }
    url = f"http://127.0.0.1:{console_port}"
    code = _supervise(children, url)
    out.print("demo stopped")
    raise typer.Exit(code)


DEMO_JUDGE_CALLS = 1000  # a day's judge budget in the demo (the default 200 leaves too few
# judged reviews for review-precision-judged's min_labels of 30)


def _simulated_judge(registry, folder: Path):
    """The demo's LLM judge (``simulator.judge``): a local chat-completions server that reads
    the simulated posts as the simulator means them. Started before the history is judged and
    stopped when the demo stops; ``serve``'s daily judge run uses it too."""
    from simulator.corpus import load_corpus
    from simulator.judge import SimulatedJudge

    return SimulatedJudge(registry, load_corpus(registry, folder / "cache"))


def _judge_history(registry, folder: Path, url: str, now, days: int) -> None:
    """Each simulated day judged as ``serve``'s 02:00 run would have (labels stamped then),
    so the backfill's judge-based SLOs and estimates see them only from when they existed."""
    import json
    from datetime import datetime

    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    manifest = folder / "incidents.json"
    start = (
        datetime.fromisoformat(json.loads(manifest.read_text())["start"])
        if manifest.exists()
        else now - timedelta(days=days)
    )
    out.print(
        "[bold]2/4[/bold] the simulated LLM judge labels each day's sample "
        f"({DEMO_JUDGE_CALLS} calls a day; days judged before are reused)"
    )
    with Progress(
        "{task.description}", BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("judging", total=None)

        def advance(what: str, done: int, total: int) -> None:
            bar.update(task, description=f"judging {what}", completed=done, total=total)

        store = Settings.from_env().store(folder)
        runs = judge_days(registry, folder, store, url, start, now, advance)
    judged = sum(r.judged for r in runs)
    out.print(f"    {len(runs)} signal-days judged: {judged:,} new labels")


def judge_days(registry, folder: Path, store_at, url: str, start, end, progress=None) -> list:
    """The demo's judge history: every day of ``[start, end)`` judged by the judge at ``url``
    (the simulated one's model) with the demo's daily budget, each as of 02:00 the day after
    (``evaluation.jobs.backfill``); the days' runs. The demo's tests judge their history with
    it too."""
    from evaluation.jobs import backfill
    from evaluation.judge import JudgeClient
    from sigwatch.clock import FixedClock
    from sigwatch.store import Store
    from simulator.judge import MODEL

    clock = FixedClock(start)
    with (
        closing(JudgeClient(url, MODEL, timeout=10, retries=1)) as client,
        Store.open(store_at, clock=clock) as store,
    ):
        return backfill(
            registry,
            folder,
            store,
            clock,
            client,
            start,
            end,
            calls=DEMO_JUDGE_CALLS,
            dollars=1e9,
            progress=progress,
        )


def _step(args: list[str], env: dict) -> None:
    """One set-up step in the foreground; SIGTERM or Ctrl-C stops it and the demo."""
    try:
        code = processes.run(args[3], args, env, err.print)
    except KeyboardInterrupt:
        err.print(f"`{args[3]}` interrupted; the demo did not start")
        raise typer.Exit(130) from None
    if code != 0:
        err.print(f"[red]`{' '.join(args[3:])}` failed (exit {code}); stopping the demo")
        raise typer.Exit(code)


def _supervise(children: dict[str, subprocess.Popen], url: str) -> int:
    """Wait for Ctrl-C (or SIGTERM) or a child's death, announcing the console once it answers;
    then stop every child. Returns 1 when a child died on its own, else 0."""
    announced = False
    code = 0
    with processes.stop_signals():
        try:
            while True:
                for name, child in children.items():
                    if child.poll() is not None:
                        err.print(f"[red]{name} exited with {child.returncode}; stopping")
                        code = 1
                        raise KeyboardInterrupt
                if not announced and _healthy(url):
                    out.print(f"\n[bold green]console: {url}[/bold green]  (Ctrl-C stops)")
                    announced = True
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            processes.stop(children, err.print)
    return code


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False
