"""drift: the share of configured columns whose distribution in the slice drifted from the
reference, by Evidently's per-column drift tests on bounded, seeded samples.

Only served rows (status ``ok``) are compared, so an outage shows up as coverage, not as
drift. The reference is the ``previous`` span before the slice less the slices this SLO judged
drifted (a reference that learnt from them would keep the alert of a finished incident firing),
or a fixed range. A column's test and threshold come from Evidently (by sample size: p-values
up to 1,000 rows, distances above) unless the SLO pins ``method``; a column drifted when
Evidently's test says so (a p-value below its threshold, a distance at or above it). A run
computes Evidently's column
tests only; the samples of each SLO's latest slice are kept, and its Evidently report is drawn
from them when the console asks (``report_html``): drawing the report's plots for every slice
was most of a drift SLO's cost. Evidently is imported here only: it costs seconds.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from monitors.logs import scan_logs
from monitors.partials import writer
from monitors.slis.base import (
    Context,
    SliValue,
    TimesliceCalculation,
    group_folder,  # noqa: F401  (where a group's report is kept: the console asks)
    report_folder,  # noqa: F401
)
from sigwatch.kinds import DriftSLI
from sigwatch.model import NONE
from sigwatch.states import Verdict

NUMERIC = {"text_len", "score", "latency_ms"}
# Below this many served rows a slice is not judged: a few hundred night-time rows tested
# every evaluation would flag drift by chance (and flap).
MIN_ROWS = 1000
SETTLED = timedelta(hours=1)  # a reference span ended this long ago gets no more logs


def _frame(
    ctx: Context,
    columns: list[str],
    start: datetime,
    end: datetime,
    n: int,
    seed: int,
    leave_out: Sequence[tuple[datetime, datetime]] = (),
):
    read = [c for c in columns if c != "labels"] + (["labels"] if "labels" in columns else [])
    where = [c for c in (ctx.group or {}) if c not in read]
    frame = scan_logs(ctx.data_dir, ctx.signal, start, end, ["status", "event_time", *read, *where])
    if frame is None:
        return None
    served = pl.col("status") == "ok"
    if ctx.group_filter is not None:  # one group's rows (a null dimension is the group NONE)
        frame = frame.with_columns(pl.col(list(ctx.group)).fill_null(NONE))
        served &= ctx.group_filter
    for lo, hi in leave_out:
        served &= ~pl.col("event_time").is_between(lo, hi, closed="left")
    frame = frame.filter(served).select(read).collect()
    if "labels" in columns:  # a set is compared by its first label (or none)
        frame = frame.with_columns(
            pl.col("labels").list.sort().list.first().fill_null("(none)").alias("labels")
        )
    if frame.is_empty():
        return None
    return frame.sample(n=min(n, len(frame)), seed=seed) if len(frame) > n else frame


def drifted_slices(ctx: Context, slo, start: datetime, end: datetime) -> list[tuple]:
    """This SLO's slices within ``[start, end)`` judged drifted, as ``(start, end)``."""
    return [
        (m.start, m.end) for m in ctx.measurements(slo.name, start, end) if m.verdict is Verdict.BAD
    ]


def _reference(
    ctx: Context, slo, start: datetime, end: datetime, seed: int, at: datetime, leave_out
):
    """The reference sample (``leave_out``: slices not drawn from), kept once its span is over
    (a day's slices all compare with the same span: reading a week of logs every run would be
    most of a drift SLO's cost). The file names what it was drawn from, so another span, seed,
    size, column list or set of left-out slices draws again."""
    sli = slo.sli
    columns = list(sli.columns)
    if end > at - SETTLED:  # logs of the span may still arrive
        return _frame(ctx, columns, start, end, sli.sample_size, seed, leave_out)
    spans = [[lo.isoformat(), hi.isoformat()] for lo, hi in leave_out]
    drawn = [columns, start.isoformat(), end.isoformat(), seed, sli.sample_size, spans]
    return ctx.kept_sample(
        slo.name,
        drawn,
        lambda: _frame(ctx, columns, start, end, sli.sample_size, seed, leave_out),
    )


class Drift(TimesliceCalculation):
    sli = DriftSLI
    volume_unit = "rows compared"

    def measure(self, ctx: Context, slo, start: datetime, end: datetime, at: datetime) -> SliValue:
        return measure(ctx, slo, start, end, at)


def measure(ctx: Context, slo, start: datetime, end: datetime, at: datetime) -> SliValue:
    sli = slo.sli
    columns = list(sli.columns)
    seed = (ctx.seed * 1_000_003 + int(start.timestamp())) % 2**32
    current = _frame(ctx, columns, start, min(end, at), sli.sample_size, seed)
    ref = sli.reference
    ref_start, ref_end = (ref.start, ref.end) if ref.is_fixed else (start - ref.previous, start)
    # A rolling reference leaves out the slices this SLO judged drifted: learning from them,
    # it would soon take the drifted traffic for normal and healthy traffic for drift. When
    # every slice of the span drifted, the shift has lasted the whole span: it is the new
    # normal, and the span is compared whole.
    leave_out = [] if ref.is_fixed else drifted_slices(ctx, slo, ref_start, ref_end)
    if sum((hi - lo for lo, hi in leave_out), timedelta()) >= ref_end - ref_start:
        leave_out = []
    reference = _reference(ctx, slo, ref_start, ref_end, seed + 1, at, leave_out)
    if current is None or reference is None:
        return SliValue(unknown=Verdict.NO_DATA, details={"reason": "no current or reference rows"})
    if len(current) < min(MIN_ROWS, sli.sample_size) or len(reference) < min(
        MIN_ROWS, sli.sample_size
    ):
        return SliValue(
            unknown=Verdict.NO_DATA,
            samples=len(current),
            details={
                "reason": f"fewer than {MIN_ROWS} served rows to compare",
                "current_rows": len(current),
                "reference_rows": len(reference),
            },
        )
    columns_out, drifted = _evidently(current, reference, columns, sli.method)
    # Only the latest slice's samples are kept, for its report (an earlier slice measured
    # again must not replace them).
    artifacts = {}
    if end >= at:
        artifacts = {
            "current.parquet": current,
            "reference.parquet": reference,
            "method.json": {"method": sli.method},
        }
    return SliValue(
        artifacts=artifacts,
        value=drifted / len(columns),
        samples=len(current),
        details={
            "columns": columns_out,
            "drifted": drifted,
            "current_rows": len(current),
            "reference_rows": len(reference),
            "reference": [ref_start.isoformat(), ref_end.isoformat()],
            "reference_left_out": [[lo.isoformat(), hi.isoformat()] for lo, hi in leave_out],
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


def _column_test():
    """Evidently's per-column drift test: the calculation its ``ValueDrift`` metric runs,
    without the metric's plots (drawing them was most of a drift SLO's cost; the report is
    drawn when someone opens it, ``report_html``)."""
    _import_evidently()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from evidently.legacy.calculations.data_drift import get_one_column_drift
        from evidently.legacy.core import ColumnType
        from evidently.legacy.metric_results import DatasetColumns, DatasetUtilityColumns
        from evidently.legacy.options.data_drift import DataDriftOptions

    def test(current, reference, column: str, method: str | None):
        kind = ColumnType.Numerical if column in NUMERIC else ColumnType.Categorical
        features = {"num": [], "cat": []}
        features["num" if kind == ColumnType.Numerical else "cat"].append(column)
        return get_one_column_drift(
            current_data=current,
            reference_data=reference,
            column_name=column,
            options=DataDriftOptions(all_features_stattest=method),
            dataset_columns=DatasetColumns(
                utility_columns=DatasetUtilityColumns(),
                target_type=None,
                task=None,
                num_feature_names=features["num"],
                cat_feature_names=features["cat"],
                text_feature_names=[],
                datetime_feature_names=[],
                target_names=None,
            ),
            column_type=kind,
            agg_data=True,
        )

    return test


def _evidently(current, reference, columns, method):
    test = _column_test()
    cur, ref = current.to_pandas(), reference.to_pandas()
    out, drifted = {}, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas/scipy chatter inside Evidently's tests
        results = [test(cur, ref, column, method) for column in columns]
    for column, result in zip(columns, results, strict=True):
        value, threshold = float(result.drift_score), float(result.stattest_threshold)
        name = str(result.stattest_name)
        is_drift = bool(result.drift_detected)  # Evidently's own verdict for its test
        drifted += is_drift
        out[column] = {"score": value, "method": name, "threshold": threshold, "drifted": is_drift}
    return out, drifted


def report_html(folder) -> Path | None:
    """The Evidently report (self-contained HTML) of the latest slice kept in ``folder``,
    drawn from its samples on first request and kept beside them until new samples arrive;
    None if no slice was kept."""
    samples = [folder / "current.parquet", folder / "reference.parquet"]
    if not all(path.exists() for path in samples):
        return None
    html = folder / "report.html"
    newest = max(path.stat().st_mtime_ns for path in samples)
    if html.exists() and html.stat().st_mtime_ns >= newest:
        return html
    current, reference = (pl.read_parquet(path) for path in samples)
    method = json.loads((folder / "method.json").read_text()).get("method")
    tmp = folder / f".report.html.{writer()}.tmp"
    tmp.write_text(report(current, reference, method).get_html_str(as_iframe=False), "utf-8")
    tmp.replace(html)
    return html


def inert(frame: pl.DataFrame) -> pl.DataFrame:
    """The samples with every text value HTML-escaped (``&``, ``<``, ``>``), as the
    report is to show them. Evidently writes its data as JSON inside a ``<script>`` block, and
    JSON does not escape ``</script>``: a community named ``</script><script>...`` in the logs
    would end the block and run as the console's own script. Escaped, it is text (the plots
    show it as written, the tables with its entities). Escaping maps distinct values to
    distinct values, so the drift tests are unchanged."""
    text = [c for c, kind in frame.schema.items() if kind == pl.String]
    return frame.with_columns(
        pl.col(text)
        .str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


def report(current: pl.DataFrame, reference: pl.DataFrame, method: str | None):
    """Evidently's report (a ``Snapshot``) of a ``ValueDrift`` metric per column of the
    samples, the column tests the monitors ran with the report's plots and their verdicts."""
    DataDefinition, Dataset, Report, ValueDrift = _import_evidently()
    current, reference = inert(current), inert(reference)
    columns = current.columns
    definition = DataDefinition(
        numerical_columns=[c for c in columns if c in NUMERIC],
        categorical_columns=[c for c in columns if c not in NUMERIC],
    )
    metrics = [
        ValueDrift(column=c, method=method) if method else ValueDrift(column=c) for c in columns
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas/scipy chatter inside Evidently's tests
        return Report(metrics, include_tests=True).run(
            current_data=Dataset.from_pandas(current.to_pandas(), data_definition=definition),
            reference_data=Dataset.from_pandas(reference.to_pandas(), data_definition=definition),
        )
