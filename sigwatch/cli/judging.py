"""``sigwatch judge calibrate``: the LLM judge measured against a signal's human gold set."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from sigwatch.cli import DataOption, DefinitionsOption, _load, app, err, out
from sigwatch.settings import Settings

judge_app = typer.Typer(help="The LLM judge: calibrate it against human labels.",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(judge_app, name="judge")


@judge_app.command("calibrate")
def calibrate(
    signal: Annotated[str, typer.Option("--signal", "-s", help="content_type or sentiment.")],
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N gold posts.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data: DataOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Judge every gold post once (per model and prompt version; re-runs reuse stored labels)
    and report Cohen's kappa and the judge's per-class TPR/TNR against the human labels."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    from evaluation.calibrate import calibrate as run
    from evaluation.calibrate import gold_items
    from evaluation.judge import JudgeClient
    from sigwatch.store import Store

    reg = _load(definitions)
    settings = Settings.from_env()
    if signal not in reg.names:
        err.print(f"[red]unknown signal {signal!r}; known: {', '.join(reg.names)}")
        raise typer.Exit(2)
    if not settings.judge_url or not settings.judge_model:
        err.print("[red]no judge configured: set SIGWATCH_JUDGE_URL (an OpenAI-compatible "
                  "chat-completions server, e.g. llama.cpp's `python -m llama_cpp.server`, vLLM "
                  "or Ollama) and SIGWATCH_JUDGE_MODEL")  # fmt: skip
        raise typer.Exit(2)
    spec = reg.get(signal)
    try:
        items = gold_items(spec)
    except ValueError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(2) from None
    items = items[:limit] if limit else items
    client = JudgeClient(settings.judge_url, settings.judge_model, api_key=settings.judge_key)
    folder = data or settings.data_dir
    try:
        with Store.open(folder / "sigwatch.db") as store, Progress(
            "{task.description}", BarColumn(), MofNCompleteColumn(), console=err, transient=True
        ) as progress:  # fmt: skip
            task = progress.add_task(f"judging {len(items)} gold posts", total=len(items))

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done)

            result = run(store, client, spec, items, progress=advance)
    except ValueError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(2) from None
    finally:
        client.close()
    rows = {c: {"tpr": r.tpr, "tnr": r.tnr, "tp": r.tp, "fn": r.fn, "tn": r.tn, "fp": r.fp}
            for c, r in result.rates.items()}  # fmt: skip
    if as_json:
        print(json.dumps({"signal": result.signal, "model": result.model,
                          "prompt_version": result.prompt_version, "n": result.n,
                          "judge_errors": result.errors, "kappa": result.kappa,
                          "per_class": rows, "cost_usd": result.cost_usd}, indent=2))  # fmt: skip
        return
    kappa = "n/a" if result.kappa is None else f"{result.kappa:.3f}"
    out.print(f"{signal}: judge {result.model} (prompt {result.prompt_version}) on {result.n} "
              f"gold posts: kappa {kappa}, judge errors {result.errors}, "
              f"cost ${result.cost_usd:.4f}")  # fmt: skip
    table = Table()
    for column in ("class", "TPR", "TNR", "tp", "fn", "tn", "fp"):
        table.add_column(column)
    for c, r in rows.items():
        table.add_row(c, *(f"{r[k]:.3f}" if r[k] is not None else "n/a" for k in ("tpr", "tnr")),
                      *(str(r[k]) for k in ("tp", "fn", "tn", "fp")))  # fmt: skip
    out.print(table)
