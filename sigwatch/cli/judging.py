"""``sigwatch judge calibrate``: the LLM judge measured against a signal's human gold set."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sigwatch.cli import AtOption, DataOption, DefinitionsOption, _clock, _load, app, err, out
from sigwatch.settings import Settings

judge_app = typer.Typer(
    help="The LLM judge: calibrate it on the gold set, label daily samples, report.",
    no_args_is_help=True,
)
app.add_typer(judge_app, name="judge")


@contextmanager
def _judge(settings: Settings, folder: Path):
    """The configured judge, or the embedded one (its weights assembled on first use)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    from evaluation.local import available, open_judge, weights

    if not settings.judge_url and available():
        with Progress(
            "{task.description}", BarColumn(), MofNCompleteColumn(), console=err, transient=True
        ) as bar:
            task = bar.add_task("assembling the judge's weights (first run only)", total=None)
            weights(
                folder, settings.judge_weights, lambda k, n: bar.update(task, completed=k, total=n)
            )
        err.print(f"starting the embedded judge ({settings.judge_weights}, llama.cpp) ...")
    with open_judge(settings, folder) as client:
        yield client


@judge_app.command("calibrate")
def calibrate(
    signal: Annotated[str, typer.Option("--signal", "-s", help="content_type or sentiment.")],
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N gold posts.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    at: AtOption = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Judge every gold post once (per model and prompt version; re-runs reuse stored labels)
    and report Cohen's kappa and the judge's per-class TPR/TNR against the human labels."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    from evaluation.calibrate import calibrate as run
    from evaluation.calibrate import gold_items
    from evaluation.local import LocalJudgeError
    from sigwatch.store import Store

    reg = _load(definitions)
    settings = Settings.from_env()
    if signal not in reg.names:
        err.print(f"[red]unknown signal {signal!r}; known: {', '.join(reg.names)}")
        raise typer.Exit(2)
    spec = reg.get(signal)
    try:
        items = gold_items(spec)
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(2) from None
    items = items[:limit] if limit else items
    folder = data or settings.data_dir
    try:
        with (
            Store.open(Settings.from_env().store(folder), clock=_clock(at)) as store,
            _judge(settings, folder) as client,
            Progress(
                "{task.description}", BarColumn(), MofNCompleteColumn(), console=err, transient=True
            ) as progress,
        ):
            task = progress.add_task(f"judging {len(items)} gold posts", total=len(items))

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done)

            result = run(store, client, spec, items, progress=advance)
    except (ValueError, LocalJudgeError) as exc:
        err.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(2) from None
    rows = {
        c: {"tpr": r.tpr, "tnr": r.tnr, "tp": r.tp, "fn": r.fn, "tn": r.tn, "fp": r.fp}
        for c, r in result.rates.items()
    }
    if as_json:
        print(
            json.dumps(
                {
                    "signal": result.signal,
                    "model": result.model,
                    "prompt_version": result.prompt_version,
                    "n": result.n,
                    "judge_errors": result.errors,
                    "kappa": result.kappa,
                    "per_class": rows,
                    "cost_usd": result.cost_usd,
                },
                indent=2,
            )
        )
        return
    kappa = "n/a" if result.kappa is None else f"{result.kappa:.3f}"
    out.print(
        f"{signal}: judge {result.model} (prompt {result.prompt_version}) on {result.n} "
        f"gold posts: kappa {kappa}, judge errors {result.errors}, "
        f"cost ${result.cost_usd:.4f}"
    )
    table = Table()
    for column in ("class", "TPR", "TNR", "tp", "fn", "tn", "fp"):
        table.add_column(column)
    for c, r in rows.items():
        table.add_row(
            c,
            *(f"{r[k]:.3f}" if r[k] is not None else "n/a" for k in ("tpr", "tnr")),
            *(str(r[k]) for k in ("tp", "fn", "tn", "fp")),
        )
    out.print(table)


def _judged_signals(reg, signal: str | None) -> list:
    judged = [s for s in reg if s.judge is not None]
    if signal is None:
        return judged
    if signal not in reg.names:
        err.print(f"[red]unknown signal {signal!r}; known: {', '.join(reg.names)}")
        raise typer.Exit(2)
    if reg.get(signal).judge is None:
        names = ", ".join(s.name for s in judged) or "none"
        err.print(f"[red]signal {signal!r} has no judge rubric; signals with one: {names}")
        raise typer.Exit(2)
    return [reg.get(signal)]


@judge_app.command("run")
def run_day(
    signal: Annotated[
        str | None, typer.Option("--signal", "-s", help="One signal [default: all with a rubric].")
    ] = None,
    day: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            show_default=False,
            help="The UTC day of predictions to judge \\[default: yesterday].",
        ),
    ] = None,
    calls: Annotated[
        int | None,
        typer.Option(
            min=0, help="Budget in calls \\[default: $SIGWATCH_JUDGE_DAILY_CALLS or 200]."
        ),
    ] = None,
    dollars: Annotated[
        float | None,
        typer.Option(
            min=0, help="Budget in dollars \\[default: $SIGWATCH_JUDGE_DAILY_DOLLARS or 1.00]."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed (with the day).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    at: AtOption = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Label a stratified sample of a day's served predictions (by predicted class and
    confidence) within the budget; repeat a few to check the judge's self-consistency.
    Resumable: a re-run reuses the labels stored for the same judge model and prompt."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    from evaluation.daily import judge_day, yesterday
    from evaluation.local import LocalJudgeError
    from sigwatch.store import Store

    reg = _load(definitions)
    settings = Settings.from_env()
    signals = _judged_signals(reg, signal)
    clock = _clock(at)
    start = yesterday(clock.now()) if day is None else day.replace(tzinfo=UTC)
    folder = data or settings.data_dir
    calls = settings.judge_daily_calls if calls is None else calls
    dollars = settings.judge_daily_dollars if dollars is None else dollars
    runs = []
    try:
        store = Store.open(Settings.from_env().store(folder), clock=clock)
        with store, _judge(settings, folder) as client:
            for spec in signals:
                with Progress(
                    "{task.description}",
                    BarColumn(),
                    MofNCompleteColumn(),
                    console=err,
                    transient=True,
                ) as bar:
                    task = bar.add_task(f"judging {spec.name} {start:%Y-%m-%d}", total=None)

                    def advance(k: int, n: int, task=task, bar=bar) -> None:
                        bar.update(task, completed=k, total=n)

                    done = judge_day(
                        store,
                        client,
                        spec,
                        folder,
                        start,
                        calls=calls,
                        dollars=dollars,
                        seed=seed,
                        progress=advance,
                    )
                    runs.append(done)
    except (ValueError, LocalJudgeError) as exc:
        err.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(2) from None
    if as_json:
        print(
            json.dumps(
                [
                    {**r.__dict__, "day": r.day.date().isoformat(), "consistency": r.consistency}
                    for r in runs
                ],
                indent=2,
            )
        )
        return
    for r in runs:
        if r.served == 0:
            out.print(f"{r.signal} {r.day:%Y-%m-%d}: no served predictions that day (no data)")
            continue
        consistency = f"{r.repeats_agreeing}/{r.repeats}" if r.repeats else "n/a"
        out.print(
            f"{r.signal} {r.day:%Y-%m-%d}: {r.served:,} served in {r.strata} strata, sampled "
            f"{r.sampled}; judged {r.judged} (reused {r.reused}, judge errors {r.errors}, "
            f"no text {r.no_text}); spent ${r.cost_usd:.4f} of ${r.budget_dollars:.2f}, "
            f"{r.judged} of {r.budget_calls} calls; self-consistency {consistency}"
            + (f"; stopped: {r.stopped}" if r.stopped else "")
        )


@judge_app.command("report")
def report(
    signal: Annotated[
        str | None, typer.Option("--signal", "-s", help="One signal [default: all with a rubric].")
    ] = None,
    days: Annotated[
        int, typer.Option(min=1, help="Days of judged traffic to show, back from --at.")
    ] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    at: AtOption = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """The judge's latest calibration (kappa, per-class TPR/TNR) and, per day, its calls,
    errors, cost, self-consistency and the judge-corrected precision of each predicted class."""
    from evaluation.report import days as judged_days
    from sigwatch.calibration import latest_calibration
    from sigwatch.store import Store

    reg = _load(definitions)
    signals = _judged_signals(reg, signal)
    folder = data or Settings.from_env().data_dir
    clock = _clock(at)
    until = clock.now()
    doc = []
    with Store.open(Settings.from_env().store(folder), clock=clock) as store:
        for spec in signals:
            cal = latest_calibration(store, spec.name)
            rows = judged_days(store, spec.name, until - timedelta(days=days), until)
            doc.append((spec.name, cal, rows))
    if as_json:
        print(json.dumps([_report_json(*entry) for entry in doc], indent=2))
        return
    for name, cal, rows in doc:
        if cal is None:
            out.print(f"[bold]{name}[/]: not calibrated (run: sigwatch judge calibrate -s {name})")
        else:
            kappa = "n/a" if cal.kappa is None else f"{cal.kappa:.3f}"
            out.print(
                f"[bold]{name}[/]: judge {cal.model} (prompt {cal.prompt_version}), "
                f"calibrated {cal.at:%Y-%m-%d %H:%M} on {cal.n} gold posts: kappa {kappa}"
            )
        if not rows:
            out.print(f"  no judged traffic in the last {days} days (run: sigwatch judge run)")
            continue
        table = Table(
            "day",
            "calls",
            "errors",
            "cost $",
            "latency ms",
            "consistency",
            "precision (judge-corrected, 95% CI)",
        )
        for d in rows:
            shown = "; ".join(
                f"{c} {p.value:.2f} [{p.ci_low:.2f}, {p.ci_high:.2f}]"
                if not isinstance(p, str)
                else f"{c}: {p}"
                for c, p in d.precision.items()
            )
            table.add_row(
                d.day,
                str(d.calls),
                str(d.errors),
                f"{d.cost_usd:.4f}",
                f"{d.latency_ms:.0f}",
                f"{d.repeats_agreeing}/{d.repeats}" if d.repeats else "n/a",
                shown or "-",
            )
        out.print(table)


def _report_json(name, cal, rows) -> dict:
    def estimate(p):
        if isinstance(p, str):
            return {"unknown": p}
        return {
            "value": p.value,
            "ci_low": p.ci_low,
            "ci_high": p.ci_high,
            "apparent": p.apparent,
            "n_effective": p.n,
        }

    return {
        "signal": name,
        "calibration": None
        if cal is None
        else {
            "model": cal.model,
            "prompt_version": cal.prompt_version,
            "at": cal.at.isoformat(),
            "n": cal.n,
            "errors": cal.errors,
            "kappa": cal.kappa,
            "cost_usd": cal.cost_usd,
            "per_class": {c: {"tpr": r.tpr, "tnr": r.tnr} for c, r in cal.rates.items()},
        },
        "days": [
            {
                "day": d.day,
                "calls": d.calls,
                "errors": d.errors,
                "cost_usd": d.cost_usd,
                "tokens": d.tokens,
                "latency_ms": d.latency_ms,
                "repeats": d.repeats,
                "repeats_agreeing": d.repeats_agreeing,
                "precision": {c: estimate(p) for c, p in d.precision.items()},
            }
            for d in rows
        ],
    }


@app.command()
def distill(
    signal: Annotated[str, typer.Argument(help="The signal to distil (content_type).")],
    items: Annotated[int, typer.Option(min=2, help="Unlabelled posts the teacher labels.")] = 400,
    dollars: Annotated[
        float, typer.Option(min=0, help="Stop the teacher before this much is spent.")
    ] = 5.0,
    seed: Annotated[int, typer.Option(help="Training and bootstrap seed.")] = 0,
    at: AtOption = None,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Distil a small model from the LLM judge: the teacher labels an unlabelled slice
    (resumable, within the budget), a MiniLM head learns its labels, and teacher and student
    are compared on the held-out gold posts in the model card (<data>/models/)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    from evaluation.distill import distill as run
    from evaluation.local import EMBEDDED_PRICE_HOUR, LocalJudgeError
    from sigwatch.store import Store

    reg = _load(definitions)
    settings = Settings.from_env()
    if signal not in reg.names:
        err.print(f"[red]unknown signal {signal!r}; known: {', '.join(reg.names)}")
        raise typer.Exit(2)
    folder = data or settings.data_dir
    price = settings.judge_price_hour
    if price is None:
        price = 0.0 if settings.judge_url else EMBEDDED_PRICE_HOUR
    try:
        store = Store.open(Settings.from_env().store(folder), clock=_clock(at))
        with (
            store,
            _judge(settings, folder) as client,
            Progress(
                "{task.description}", BarColumn(), MofNCompleteColumn(), console=err, transient=True
            ) as bar,
        ):
            task = bar.add_task("teacher labelling the slice", total=None)

            def advance(what: str, k: int, n: int) -> None:
                bar.update(task, description=what, completed=k, total=n)

            result = run(
                store,
                client,
                reg.get(signal),
                folder,
                items=items,
                dollars=dollars,
                price_per_hour=price,
                seed=seed,
                progress=advance,
            )
    except (ValueError, LocalJudgeError) as exc:
        err.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(2) from None
    s = result.summary
    if result.stopped:
        err.print(f"[yellow]stopped: {result.stopped}; the student learned from what was labelled")
    out.print(
        f"{signal}: student trained on {result.taught} teacher labels ({result.new_calls} new "
        f"calls, {result.errors} judge errors, ${result.cost_usd:.4f}); on {s['gold_posts']} "
        f"held-out gold posts macro-F1 teacher {s['teacher']['macro_f1']:.3f}, student "
        f"{s['student']['macro_f1']:.3f}, in-house {s['in_house_human_trained']['macro_f1']:.3f}"
    )
    out.print(f"model: {result.artifact}\ncard:  {result.card}")
    out.print(
        "to serve it: set `model: {id: content-type-distilled, version: distilled-1}` in "
        f"the {signal} SLO file"
    )
