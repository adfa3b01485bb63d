"""Reading prediction logs and labels with Polars: lazy scans of only the partitions a time
range touches (partition pruning), only the columns asked for (projection), every file's
schema checked first so a bad file fails with its name and column, not deep in a query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from sigwatch.model import Signal

SINGLE_LABEL = frozenset({"multiclass", "score"})  # one true class an item (score: "1" / "0")
LABEL_SETS = frozenset({"multilabel", "entities"})  # a set an item
TASKS = SINGLE_LABEL | LABEL_SETS


@dataclass(frozen=True)
class Column:
    """One column of an input file: its type, the tasks whose signals must have it (a signal
    of another task may leave it out, or write nulls: it is never read for that signal), and
    what it means. The README's "Connecting your data" tables are checked against these."""

    name: str
    dtype: pl.DataType
    meaning: str
    tasks: frozenset[str] = TASKS
    # Tasks that read the column when a file has it, and do without it otherwise (what is
    # computed from it then says why it is unavailable): never required.
    if_present: frozenset[str] = frozenset()

    def required_for(self, task: str) -> bool:
        return task in self.tasks


# The data contract (docs/data-contracts.md). Prediction logs: one row per eligible item a
# signal should have scored, under
# <data>/predictions/signal=<name>/date=<UTC date of event_time>/*.parquet.
LOG_CONTRACT: tuple[Column, ...] = (
    Column(
        "event_time", pl.Datetime("us", "UTC"), "when the item was scored (or should have been)"
    ),
    Column("item_id", pl.Utf8(), "post or comment id; joins predictions to labels and content"),
    Column("item_kind", pl.Utf8(), "`post` or `comment`"),
    Column("community", pl.Utf8(), "where it was posted"),
    Column("language", pl.Utf8(), "detected language"),
    Column("text_len", pl.Int32(), "characters"),
    Column("model_version", pl.Utf8(), "the model version that scored it"),
    Column("status", pl.Utf8(), "`ok`, `abstain`, `error` or `timeout`"),
    Column(
        "label",
        pl.Utf8(),
        "predicted class, null on `error`/`timeout` (a score signal may write its decision)",
        frozenset({"multiclass"}),
    ),
    Column(
        "labels",
        pl.List(pl.Utf8()),
        "predicted set, e.g. `[brand:Sony, product:WH-1000XM5]`, null on `error`/`timeout`",
        LABEL_SETS,
    ),
    Column(
        "score",
        pl.Float32(),
        "confidence of the top prediction (score signals: the score); null on `error`/`timeout`",
    ),
    Column("latency_ms", pl.Float32(), "serving latency"),
    Column("cost_usd", pl.Float64(), "cost of this call in US dollars"),
    Column("served_by", pl.Utf8(), "`in_house` or `external_api` (the paid fallback)"),
    Column(
        "scores",
        pl.List(pl.Float32()),
        "every class's probability, in the order of the signal's `classes` (confidence-based"
        " estimates read it)",
        frozenset(),
        frozenset({"multiclass"}),
    ),
    Column(
        "label_scores",
        pl.List(pl.Float32()),
        "the confidence of each of `labels`, in its order (confidence-based estimates read it)",
        frozenset(),
        LABEL_SETS,
    ),
)
# Labels: <data>/labels/signal=<name>/*.parquet, any file names; labels arrive late and the
# latest label of an item known at evaluation time wins.
LABEL_CONTRACT: tuple[Column, ...] = (
    Column("item_id", pl.Utf8(), "the labelled item (as in the prediction log)"),
    Column(
        "label",
        pl.Utf8(),
        "the true class (score signals: `1` positive, `0` negative)",
        SINGLE_LABEL,
    ),
    Column("labels", pl.List(pl.Utf8()), "the true set, same spelling as predictions", LABEL_SETS),
    Column("source", pl.Utf8(), "`human` (read by the quality SLIs) or `judge:<model>`"),
    Column("labeled_at", pl.Datetime("us", "UTC"), "when the label became known"),
    Column("rater_id", pl.Utf8(), "who labelled it (optional: not read)", frozenset()),
)
# Post text for the LLM judge: <data>/content/signal=<name>/date=<UTC date>/*.parquet.
CONTENT_CONTRACT: tuple[Column, ...] = (
    Column("item_id", pl.Utf8(), "the item (as in the prediction log)"),
    Column("text", pl.Utf8(), "the text the signal scored"),
)
# What scan_labels returns: every label column some task reads (rater_id is read by none).
LABEL_COLUMNS = [c.name for c in LABEL_CONTRACT if c.tasks]


def type_name(dtype: pl.DataType) -> str:
    """The contract's name of a type (Arrow's vocabulary), as the README writes it."""
    names = {
        pl.Utf8(): "string",
        pl.Int32(): "int32",
        pl.Float32(): "float32",
        pl.Float64(): "float64",
        pl.Datetime("us", "UTC"): "timestamp[us, UTC]",
        pl.List(pl.Utf8()): "list<string>",
        pl.List(pl.Float32()): "list<float32>",
    }
    return names[dtype]


class LogError(Exception):
    """A log or label file that cannot be read as the contract says; names file and column."""


def days_touched(start: datetime, end: datetime) -> list[date]:
    """The UTC days ``[start, end)`` touches."""
    last = (end - timedelta(microseconds=1)).date()
    out, day = [], start.date()
    while day <= last:
        out.append(day)
        day += timedelta(days=1)
    return out


def log_files(data_dir: Path, signal: str, start: datetime, end: datetime) -> list[Path]:
    return _dated_files(data_dir / "predictions" / f"signal={signal}", start, end)


def _dated_files(folder: Path, start: datetime, end: datetime) -> list[Path]:
    """The Parquet files of the ``date=`` partitions that ``[start, end)`` touches."""
    return [
        path
        for day in days_touched(start, end)
        for path in sorted((folder / f"date={day.isoformat()}").glob("*.parquet"))
    ]


def check_schema(
    path: Path, columns: dict[str, pl.DataType], optional: dict[str, pl.DataType] | None = None
) -> set[str]:
    """Every column of ``columns`` is in the file with its type, else a ``LogError`` naming
    the file, the column and the type expected; of ``optional``, those the file has (with
    their type, or the same error)."""
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as exc:  # polars raises several kinds for a damaged file
        raise LogError(
            f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})"
        ) from None
    for column, dtype in columns.items():
        if column not in schema:
            raise LogError(f"{path}: column {column!r} is missing; expected {dtype}")
    present = {c for c in (optional or {}) if c in schema}
    for column, dtype in {**columns, **{c: optional[c] for c in present}}.items():
        if schema[column] != dtype:
            raise LogError(f"{path}: column {column!r} is {schema[column]}, expected {dtype}")
    return present


def _scan(
    files: list[Path], contract: tuple[Column, ...], task: str, columns: list[str]
) -> pl.LazyFrame:
    """``columns`` of ``files``, checked: a column the task needs must be there with its
    type; one it does not need is never read and comes back as typed nulls; one it reads if
    present (``Column.if_present``) is read from the files that have it, nulls from the others
    (the files are then read in groups: rows keep their order within a group only)."""
    types = {c.name: c.dtype for c in contract}
    needed = {c.name for c in contract if c.required_for(task)}
    maybe = {c.name for c in contract if task in c.if_present}
    unknown = [c for c in columns if c not in types]
    if unknown:
        raise ValueError(f"not in the data contract: {unknown}")
    read = {c: types[c] for c in columns if c in needed}
    optional = {c: types[c] for c in columns if c in maybe}
    groups: dict[frozenset[str], list[Path]] = {}
    for path in files:
        groups.setdefault(frozenset(check_schema(path, read, optional)), []).append(path)
    scans = []
    for present, members in groups.items():
        nulls = [
            pl.lit(None, dtype=types[c]).alias(c) for c in columns if c not in {*read, *present}
        ]
        scans.append(
            # a column beyond what is read (the other task's, a team's own) is never an error
            pl.scan_parquet(members, hive_partitioning=False, extra_columns="ignore")
            .select([*read, *sorted(present)])
            .with_columns(nulls)
            .select(columns)
        )
    return scans[0] if len(scans) == 1 else pl.concat(scans)


def scan_logs(
    data_dir: Path, signal: Signal, start: datetime, end: datetime, columns: list[str]
) -> pl.LazyFrame | None:
    """Rows of ``[start, end)`` with ``columns`` (plus event_time), or None if no file exists."""
    files = log_files(data_dir, signal.name, start, end)
    if not files:
        return None
    wanted = list(dict.fromkeys(["event_time", *columns]))
    return _scan(files, LOG_CONTRACT, signal.task, wanted).filter(
        pl.col("event_time").is_between(start, end, closed="left")
    )


def label_files(data_dir: Path, signal: Signal) -> list[Path]:
    folder = data_dir / "labels" / f"signal={signal.name}"
    return sorted(folder.glob("*.parquet")) if folder.exists() else []


def scan_label_rows(data_dir: Path, signal: Signal) -> pl.LazyFrame | None:
    """Every human label of the signal (``item_id``, ``label``, ``labels``, ``labeled_at``):
    an item relabelled has a row per label. Both ``label`` and ``labels`` come back; the one
    the signal's task does not use is null."""
    files = label_files(data_dir, signal)
    if not files:
        return None
    return (
        _scan(files, LABEL_CONTRACT, signal.task, LABEL_COLUMNS)
        .filter(pl.col("source") == "human")
        .drop("source")
    )


def scan_labels(data_dir: Path, signal: Signal, known_at: datetime) -> pl.LazyFrame | None:
    """Human labels known at ``known_at``, one per item: the latest label wins."""
    rows = scan_label_rows(data_dir, signal)
    if rows is None:
        return None
    return (
        rows.filter(pl.col("labeled_at") <= known_at)
        .sort("labeled_at")
        .group_by("item_id")
        .agg(pl.col("label").last(), pl.col("labels").last())
    )


def scan_content(
    data_dir: Path, signal: Signal, start: datetime, end: datetime
) -> pl.LazyFrame | None:
    """Post text (``item_id``, ``text``) of the days ``[start, end)`` touches, or None."""
    files = _dated_files(data_dir / "content" / f"signal={signal.name}", start, end)
    if not files:
        return None
    return _scan(files, CONTENT_CONTRACT, signal.task, ["item_id", "text"])
