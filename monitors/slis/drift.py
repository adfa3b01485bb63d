"""drift: the share of configured columns whose distribution in the slice drifted from the
reference, by Evidently's per-column drift tests on bounded, seeded samples.

Only served rows (status ``ok``) are compared, so an outage shows up as coverage, not as
drift. The reference is the ``previous`` span before the slice, or a fixed range. A column's
test and threshold come from Evidently (by sample size: p-values up to 1,000 rows, distances
above) unless the SLO pins ``method``; the direction is read from the method (a p-value drifts
when *below* its threshold, a distance when at or above). The latest report of each SLO is kept
as self-contained HTML for the console. Evidently is imported here only: it costs seconds.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from datetime import datetime, timedelta

import polars as pl

from monitors.logs import scan_logs
from monitors.partials import write_atomic
from monitors.slis.base import Context, SliValue
from sigwatch.states import Verdict

KINDS = ("drift",)

NUMERIC = {"text_len", "score", "latency_ms"}
# Below this many served rows a slice is not judged: a few hundred night-time rows tested
# every evaluation would flag drift by chance (and flap).
MIN_ROWS = 1000
SETTLED = timedelta(hours=1)  # a reference span ended this long ago gets no more logs


def _frame(ctx: Context, columns: list[str], start: datetime, end: datetime, n: int, seed: int):
    read = [c for c in columns if c != "labels"] + (["labels"] if "labels" in columns else [])
    frame = scan_logs(ctx.data_dir, ctx.signal, start, end, ["status", *read])
    if frame is None:
        return None
    frame = frame.filter(pl.col("status") == "ok").select(read).collect()
    if "labels" in columns:  # a set is compared by its first label (or none)
        frame = frame.with_columns(
            pl.col("labels").list.sort().list.first().fill_null("(none)").alias("labels")
        )
    if frame.is_empty():
        return None
    return frame.sample(n=min(n, len(frame)), seed=seed) if len(frame) > n else frame


def _reference(ctx: Context, slo, start: datetime, end: datetime, seed: int, at: datetime):
    """The reference sample, kept once its span is over (a day's slices all compare with the
    same span: reading a week of logs every run would be most of a drift SLO's cost). The file
    names what it was drawn from, so another span, seed, size or column list draws again."""
    sli = slo.sli
    columns = list(sli.columns)
    if end > at - SETTLED:  # logs of the span may still arrive
        return _frame(ctx, columns, start, end, sli.sample_size, seed)
    key = hashlib.sha256(
        json.dumps([columns, start.isoformat(), end.isoformat(), seed, sli.sample_size]).encode()
    ).hexdigest()[:16]
    folder = ctx.data_dir / "partials" / "drift" / f"signal={ctx.signal.name}" / slo.name
    path = folder / f"reference-{key}.parquet"
    try:
        return pl.read_parquet(path)
    except FileNotFoundError:  # not drawn yet (or just replaced by another process's draw)
        pass
    frame = _frame(ctx, columns, start, end, sli.sample_size, seed)
    if frame is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for old in sorted(folder.glob("reference-*.parquet"), key=lambda p: p.stat().st_mtime)[:-1]:
            old.unlink(missing_ok=True)  # with the new one, the latest two stay
        write_atomic(frame, path)
    return frame


def measure(ctx: Context, slo, start: datetime, end: datetime, at: datetime) -> SliValue:
    sli = slo.sli
    columns = list(sli.columns)
    seed = (ctx.seed * 1_000_003 + int(start.timestamp())) % 2**32
    current = _frame(ctx, columns, start, min(end, at), sli.sample_size, seed)
    ref = sli.reference
    ref_start, ref_end = (ref.start, ref.end) if ref.is_fixed else (start - ref.previous, start)
    reference = _reference(ctx, slo, ref_start, ref_end, seed + 1, at)
    if current is None or reference is None:
        return SliValue(unknown=Verdict.NO_DATA, details={"reason": "no current or reference rows"})
    if len(current) < min(MIN_ROWS, sli.sample_size) or len(reference) < min(
        MIN_ROWS, sli.sample_size
    ):
        return SliValue(
            unknown=Verdict.NO_DATA,
            samples=len(current),
            details={"reason": f"fewer than {MIN_ROWS} served rows to compare",
                     "current_rows": len(current), "reference_rows": len(reference)},
        )  # fmt: skip
    # Only the latest slice's report is kept (an earlier slice measured again must not
    # replace it).
    keep = ctx.reports_dir is not None and end >= at
    columns_out, drifted = _evidently(ctx, slo, current, reference, columns, sli.method, keep)
    return SliValue(
        value=drifted / len(columns),
        samples=len(current),
        details={
            "columns": columns_out,
            "drifted": drifted,
            "current_rows": len(current),
            "reference_rows": len(reference),
            "reference": [ref_start.isoformat(), ref_end.isoformat()],
        },
    )


def _import_evidently():
    # Evidently's dependencies (litestar, numpy.core users) warn on import; none of it is ours
    # to fix, and a warning must not abort a monitor run.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from evidently import DataDefinition, Dataset, Report
        from evidently.metrics import ValueDrift
    return DataDefinition, Dataset, Report, ValueDrift


def _evidently(ctx, slo, current, reference, columns, method, keep):
    DataDefinition, Dataset, Report, ValueDrift = _import_evidently()

    numeric = [c for c in columns if c in NUMERIC]
    categorical = [c for c in columns if c not in NUMERIC]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    metrics = [
        ValueDrift(column=c, method=method) if method else ValueDrift(column=c) for c in columns
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas/scipy chatter inside Evidently's tests
        snapshot = Report(metrics).run(
            current_data=Dataset.from_pandas(current.to_pandas(), data_definition=definition),
            reference_data=Dataset.from_pandas(reference.to_pandas(), data_definition=definition),
        )
    out, drifted = {}, 0
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        name, value = config.get("column"), float(metric["value"])
        test, threshold = str(config.get("method")), float(config.get("threshold"))
        is_drift = value < threshold if "p_value" in test.lower() else value >= threshold
        drifted += is_drift
        out[name] = {"score": value, "method": test, "threshold": threshold, "drifted": is_drift}
    if keep:
        folder = ctx.reports_dir / ctx.signal.name
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{slo.name}.html.tmp"
        snapshot.save_html(str(tmp))
        tmp.replace(folder / f"{slo.name}.html")
    return out, drifted
