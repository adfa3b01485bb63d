"""The drift SLI runs Evidently's column tests without drawing the report's plots; the report is
drawn from the latest slice's kept samples when the console asks. Both must give what
Evidently's own ``Report`` with ``ValueDrift`` metrics gives on the same rows."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from monitors.slis import drift


def _sample(seed: int, n: int, shift: int, communities: list[str]) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "community": rng.choice(communities, n).tolist(),
            "text_len": (rng.integers(50, 400, n) + shift).tolist(),
            "score": rng.beta(2 + shift / 100, 2, n).tolist(),
        }
    )


def _report_values(current: pl.DataFrame, reference: pl.DataFrame, method: str | None):
    """Evidently's Report over the same rows: per column (score, method, threshold, whether
    its drift test failed)."""
    snapshot = drift.report(current, reference, method).dict()
    failed = {
        test["name"].removeprefix("Value Drift for column "): str(test["status"]).endswith("FAIL")
        for test in snapshot["tests"]
    }
    out = {}
    for metric in snapshot["metrics"]:
        config = metric["config"]
        out[config["column"]] = (
            float(metric["value"]),
            str(config["method"]),
            float(config["threshold"]),
            failed[config["column"]],
        )
    return out


@pytest.mark.parametrize(
    ("n", "shift", "method"),
    [
        (800, 0, None),
        (800, 60, None),
        (5000, 0, None),
        (5000, 60, None),
        (3000, 30, "psi"),
        (3000, 30, "jensenshannon"),
    ],
)
def test_column_tests_equal_evidentlys_report(n, shift, method):
    current = _sample(1, n, shift, ["a", "b", "c", "d"])
    reference = _sample(2, n, 0, ["a", "b", "c"])
    test = drift._column_test()
    expected = _report_values(current, reference, method)
    for column in current.columns:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = test(current.to_pandas(), reference.to_pandas(), column, method)
        score, name, threshold, failed = expected[column]
        assert float(result.drift_score) == pytest.approx(score, rel=1e-12, abs=1e-15)
        assert float(result.stattest_threshold) == threshold
        assert bool(result.drift_detected) == failed  # the verdict the monitors take
        if method is None:  # a pinned method the report names by the id it was given
            assert str(result.stattest_name) == name


def test_the_latest_slice_keeps_its_samples_and_the_report_is_drawn_on_request(registry, tmp_path):
    from datetime import timedelta

    from monitors.evaluate import measure_slice
    from monitors.slis.base import Context
    from sigwatch.clock import FixedClock
    from sigwatch.store import Store
    from tests.monitors.test_drift_reference import DAY, _day, _slo
    from tests.monitors.test_runner import write_logs

    signal = registry.get("content_type")
    write_logs(
        tmp_path, "content_type", _day(DAY - timedelta(days=1), 1, 0), DAY - timedelta(days=1)
    )
    write_logs(tmp_path, "content_type", _day(DAY, 2, 200), DAY)
    reports = tmp_path / "reports"
    slo = _slo(1000)
    folder = drift.report_folder(reports, "content_type", slo.name)
    at = DAY + timedelta(hours=12)
    with Store.open(tmp_path / "s.db", clock=FixedClock(at)) as store:
        ctx = Context(tmp_path, store, signal, reports_dir=reports)
        # the calculation returns what to keep and writes nothing: the runner keeps it
        value = drift.measure(ctx, slo, DAY, DAY + timedelta(days=1), at)
        assert set(value.artifacts) == {"current.parquet", "reference.parquet", "method.json"}
        assert not folder.exists()
        # an earlier slice measured again keeps nothing: only the latest is shown
        measure_slice(ctx, slo, DAY - timedelta(days=1), at)
        assert drift.report_html(folder) is None
        measured = measure_slice(ctx, slo, DAY, at)
    assert measured.details["drifted"] == 1
    assert not (folder / "report.html").exists()  # a run draws no report
    kept = pl.read_parquet(folder / "current.parquet")
    assert kept.columns == ["community", "text_len"] and len(kept) == 1000

    html = drift.report_html(folder)
    assert html == folder / "report.html"
    text = html.read_text()
    assert "text_len" in text and "community" in text
    drawn = html.stat().st_mtime_ns
    assert drift.report_html(folder) == html  # kept, not drawn again
    assert html.stat().st_mtime_ns == drawn

    with Store.open(tmp_path / "s.db", clock=FixedClock(at)) as store:
        ctx = Context(tmp_path, store, signal, reports_dir=reports)
        measure_slice(ctx, slo, DAY, at + timedelta(hours=1))
    drift.report_html(folder)  # newer samples: drawn again
    assert (folder / "report.html").stat().st_mtime_ns > drawn
