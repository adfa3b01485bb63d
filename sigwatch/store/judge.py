"""The LLM judge's tables (migrations 4, 5 and 9): ``judge_labels`` (one row per judge call: a
label, or the ``judge_error`` that replaced it, keyed by signal, item, purpose, model and prompt
version) and ``judge_calibrations`` (the judge measured on a signal's gold set)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sigwatch.model import DIMENSIONS, NONE
from sigwatch.store import to_epoch

if TYPE_CHECKING:
    import polars as pl

    from sigwatch.store import Store

MONITORING = "monitoring"
CONSISTENCY = "consistency"


@dataclass(frozen=True)
class JudgeCall:
    """One judge call as stored: its label, or the error that replaced it, and what it cost.
    ``meta`` of a monitoring call: the prediction's ``event_time`` (epoch seconds), the served
    label (``predicted``), its ``stratum`` and sampling ``weight``, and its dimension columns."""

    signal: str
    item_id: str
    purpose: str
    model: str
    prompt_version: str
    label: str | None = None
    error: str | None = None
    rationale: str | None = None
    confidence: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_ms: float | None = None
    cost_usd: float = 0.0
    event_time: int | None = None
    predicted: str | None = None
    stratum: str | None = None
    weight: float | None = None
    community: str | None = None
    language: str | None = None
    item_kind: str | None = None
    model_version: str | None = None
    served_by: str | None = None


_CALL_COLUMNS = (
    "signal",
    "item_id",
    "purpose",
    "model",
    "prompt_version",
    "label",
    "error",
    "rationale",
    "confidence",
    "tokens_in",
    "tokens_out",
    "latency_ms",
    "cost_usd",
    "event_time",
    "predicted",
    "stratum",
    "weight",
    *DIMENSIONS,
)


@dataclass(frozen=True)
class CalibrationRow:
    """A row of ``judge_calibrations`` (``per_class``: JSON of each class's confusion counts)."""

    signal: str
    model: str
    prompt_version: str
    at: int
    n: int
    errors: int
    kappa: float | None
    per_class: str
    cost_usd: float


class JudgeTables:
    """Reads and writes of the judge's tables."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn = store._conn

    # --- judge_labels ------------------------------------------------------------------------

    def call(
        self, signal: str, item: str, purpose: str, model: str, version: str
    ) -> JudgeCall | None:
        """The stored call for this item, purpose, model and prompt version, or None."""
        row = self._conn.execute(
            f"SELECT {', '.join(_CALL_COLUMNS)} FROM judge_labels WHERE signal = ?"
            " AND item_id = ? AND purpose = ? AND model = ? AND prompt_version = ?",
            (signal, item, purpose, model, version),
        ).fetchone()
        return None if row is None else JudgeCall(*row)

    def put_call(self, call: JudgeCall, labeled_at: datetime) -> None:
        """Store a call (a call for the same key replaces it)."""
        columns = [*_CALL_COLUMNS, "labeled_at"]
        values = [getattr(call, c) for c in _CALL_COLUMNS] + [to_epoch(labeled_at)]
        key = ("signal", "item_id", "purpose", "model", "prompt_version")
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        self._conn.execute(
            f"INSERT INTO judge_labels ({', '.join(columns)})"
            f" VALUES ({', '.join('?' * len(columns))})"
            f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}",
            values,
        )

    def mean_cost(self, signal: str, model: str, last: int = 200) -> float:
        """The mean cost of this judge's ``last`` successful calls (0 when it has none)."""
        row = self._conn.execute(
            "SELECT AVG(cost_usd) FROM (SELECT cost_usd FROM judge_labels WHERE signal = ?"
            " AND model = ? AND error IS NULL ORDER BY labeled_at DESC LIMIT ?) recent",
            (signal, model, last),
        ).fetchone()
        return float(row[0] or 0.0)

    def labelled_per_stratum(
        self, signal: str, model: str, version: str, start: datetime, end: datetime
    ) -> dict[str, int]:
        """How many monitoring calls of ``[start, end)`` (event time) got a label, by stratum."""
        rows = self._conn.execute(
            "SELECT stratum, COUNT(*) FROM judge_labels WHERE signal = ? AND purpose = ?"
            " AND model = ? AND prompt_version = ? AND label IS NOT NULL AND event_time >= ?"
            " AND event_time < ? GROUP BY stratum",
            (signal, MONITORING, model, version, to_epoch(start), to_epoch(end)),
        )
        return dict(rows.fetchall())

    def set_weight(
        self,
        signal: str,
        model: str,
        version: str,
        stratum: str,
        start: datetime,
        end: datetime,
        weight: float,
    ) -> None:
        """The sampling weight of one stratum's monitoring calls of ``[start, end)``."""
        self._conn.execute(
            "UPDATE judge_labels SET weight = ? WHERE signal = ? AND purpose = ? AND model = ?"
            " AND prompt_version = ? AND stratum = ? AND event_time >= ? AND event_time < ?",
            (weight, signal, MONITORING, model, version, stratum, to_epoch(start), to_epoch(end)),
        )

    def monitoring_calls(self, signal: str, since: datetime, until: datetime) -> list[JudgeCall]:
        """Every monitoring call of predictions served in ``[since, until)``, by event time."""
        rows = self._conn.execute(
            f"SELECT {', '.join(_CALL_COLUMNS)} FROM judge_labels WHERE signal = ?"
            " AND purpose = ? AND event_time >= ? AND event_time < ? ORDER BY event_time",
            (signal, MONITORING, to_epoch(since), to_epoch(until)),
        )
        return [JudgeCall(*row) for row in rows]

    def consistency_labels(self, signal: str) -> dict[str, str]:
        """The label of each item judged again for self-consistency."""
        rows = self._conn.execute(
            "SELECT item_id, label FROM judge_labels WHERE signal = ? AND purpose = ?"
            " AND label IS NOT NULL",
            (signal, CONSISTENCY),
        )
        return dict(rows.fetchall())

    def sample(
        self,
        signal: str,
        model: str,
        version: str,
        start: datetime,
        end: datetime,
        at: datetime,
    ) -> pl.DataFrame:
        """The daily judge sample's labels of predictions served in ``[start, end)`` and
        labelled by ``at`` by this judge model and prompt version: ``label``, ``weight``,
        ``predicted``, the prediction's dimension columns (``NONE`` for rows labelled before
        they were kept) and ``item_id``."""
        import polars as pl

        columns = ["label", "weight", "predicted", *DIMENSIONS, "item_id"]
        rows = self._conn.execute(
            f"SELECT {', '.join(columns)} FROM judge_labels WHERE signal = ?"
            " AND purpose = ? AND model = ? AND prompt_version = ?"
            " AND label IS NOT NULL AND event_time >= ? AND event_time < ? AND labeled_at <= ?"
            " ORDER BY event_time, item_id",
            (signal, MONITORING, model, version, to_epoch(start), to_epoch(end), to_epoch(at)),
        ).fetchall()
        schema = {c: pl.Utf8 for c in columns} | {"weight": pl.Float64}
        return pl.DataFrame(rows, schema=schema, orient="row").with_columns(
            pl.col(DIMENSIONS).fill_null(NONE)
        )

    # --- judge_calibrations ------------------------------------------------------------------

    def put_calibration(self, row: CalibrationRow) -> None:
        """Store a calibration (one of the same signal, model, prompt version and time
        replaces it)."""
        self._conn.execute(
            "INSERT INTO judge_calibrations (signal, model, prompt_version, at, n, errors, kappa,"
            " per_class, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (signal, model, prompt_version, at) DO UPDATE SET n = excluded.n,"
            " errors = excluded.errors, kappa = excluded.kappa, per_class = excluded.per_class,"
            " cost_usd = excluded.cost_usd",
            (
                row.signal,
                row.model,
                row.prompt_version,
                row.at,
                row.n,
                row.errors,
                row.kappa,
                row.per_class,
                row.cost_usd,
            ),
        )

    def calibrated(self, signal: str, model: str, version: str) -> bool:
        """Whether this judge model and prompt version were calibrated on the signal."""
        row = self._conn.execute(
            "SELECT 1 FROM judge_calibrations WHERE signal = ? AND model = ?"
            " AND prompt_version = ?",
            (signal, model, version),
        ).fetchone()
        return row is not None

    def latest_calibration(self, signal: str, at: datetime | None = None) -> CalibrationRow | None:
        """The signal's most recent calibration (known at ``at``, when given)."""
        row = self._conn.execute(
            "SELECT signal, model, prompt_version, at, n, errors, kappa, per_class, cost_usd"
            " FROM judge_calibrations WHERE signal = ? AND at <= ? ORDER BY at DESC LIMIT 1",
            (signal, to_epoch(at) if at is not None else 2**62),
        ).fetchone()
        return None if row is None else CalibrationRow(*row)
