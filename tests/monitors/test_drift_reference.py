"""A drift SLO's reference sample is drawn once its span is over and kept: later runs of the
same slice compare with the same rows without reading the reference span's logs again."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from monitors.logs import LOG_CONTRACT
from monitors.slis import drift
from monitors.slis.base import Context
from sigwatch.clock import FixedClock
from sigwatch.kinds import DriftReference, DriftSLI
from sigwatch.model import SLO, Budgeting, Objective
from sigwatch.states import Verdict
from sigwatch.store import Store
from sigwatch.units import parse_target
from tests.monitors.test_runner import write_logs

DAY = datetime(2026, 11, 20, tzinfo=UTC)
TYPES = {c.name: c.dtype for c in LOG_CONTRACT if not c.if_present}  # the optional ones left out


def _day(day: datetime, seed: int, shift: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = 3000
    return pl.DataFrame(
        {
            "event_time": [day + timedelta(seconds=int(s)) for s in rng.integers(0, 86_400, n)],
            "item_id": [f"{seed}-{i}" for i in range(n)],
            "item_kind": ["post"] * n,
            "community": rng.choice(["a", "b", "c"], n).tolist(),
            "language": ["en"] * n,
            "text_len": (rng.integers(50, 400, n) + shift).tolist(),
            "model_version": ["v"] * n,
            "status": ["ok"] * n,
            "label": ["review"] * n,
            "labels": [None] * n,
            "score": [0.9] * n,
            "latency_ms": [10.0] * n,
            "cost_usd": [0.0] * n,
            "served_by": ["in_house"] * n,
        },
        schema=TYPES,
    )


def _slo(sample_size: int) -> SLO:
    sli = DriftSLI(
        ("community", "text_len"), DriftReference(previous=timedelta(days=1)), sample_size
    )
    objective = Objective(
        0.9, timedelta(days=28), Budgeting.TIMESLICES, parse_target("<= 0.5"), timedelta(days=1)
    )
    return SLO(f"drift-{sample_size}", "content_type", sli, objective)


def test_the_reference_sample_is_kept_once_its_span_is_over(registry, tmp_path):
    signal = registry.get("content_type")
    reference = write_logs(
        tmp_path, "content_type", _day(DAY - timedelta(days=1), 1, 0), DAY - timedelta(days=1)
    )
    write_logs(tmp_path, "content_type", _day(DAY, 2, 200), DAY)
    at = DAY + timedelta(hours=12)
    with Store.open(tmp_path / "s.db", clock=FixedClock(at)) as store:
        ctx = Context(tmp_path, store, signal)
        first = drift.measure(ctx, _slo(1000), DAY, DAY + timedelta(days=1), at)
        assert first.value == 0.5 and first.details["drifted"] == 1  # text_len moved by 200
        kept = list((tmp_path / "partials" / "drift").rglob("reference-*.parquet"))
        assert len(kept) == 1 and len(pl.read_parquet(kept[0])) == 1000

        shutil.rmtree(reference.parent)  # the reference day's logs are gone
        again = drift.measure(ctx, _slo(1000), DAY, DAY + timedelta(days=1), at)
        assert again.value == first.value and again.details == first.details
        # another sample size is another draw: its reference must be read, and cannot be
        other = drift.measure(ctx, _slo(500), DAY, DAY + timedelta(days=1), at)
        assert other.unknown is Verdict.NO_DATA


def test_a_reference_span_still_open_is_not_kept(registry, tmp_path):
    signal = registry.get("content_type")
    write_logs(
        tmp_path, "content_type", _day(DAY - timedelta(days=1), 1, 0), DAY - timedelta(days=1)
    )
    write_logs(tmp_path, "content_type", _day(DAY, 2, 0), DAY)
    at = DAY + timedelta(minutes=30)  # the reference (the day before) ended 30 minutes ago
    with Store.open(tmp_path / "s.db", clock=FixedClock(at)) as store:
        ctx = Context(tmp_path, store, signal)
        measured = drift.measure(ctx, _slo(1000), DAY, DAY + timedelta(days=1), at)
    assert measured.details["reference_rows"] == 1000  # compared with the day before ...
    assert not list(tmp_path.rglob("reference-*.parquet"))  # ... but not kept yet


def _judged(store, slo, day: datetime, verdict: Verdict) -> None:
    from sigwatch.store import Measurement

    store.put_measurements(
        [
            Measurement(
                signal="content_type",
                slo=slo.name,
                start=day,
                end=day + timedelta(days=1),
                sli="drift",
                evaluated_at=day + timedelta(days=1),
                value=0.5,
                verdict=verdict,
            )
        ]
    )


def test_a_rolling_reference_leaves_out_the_slices_it_judged_drifted(registry, tmp_path):
    """Day 1 normal, day 2 drifted (and judged so), day 3 normal again: day 3 is compared with
    day 1 only, so the incident's alert can end; unjudged, day 2 stays in the reference."""
    signal = registry.get("content_type")
    one, two, three = DAY - timedelta(days=2), DAY - timedelta(days=1), DAY
    write_logs(tmp_path, "content_type", _day(one, 1, 0), one)
    write_logs(tmp_path, "content_type", _day(two, 2, 400), two)
    write_logs(tmp_path, "content_type", _day(three, 3, 0), three)
    sli = DriftSLI(("community", "text_len"), DriftReference(previous=timedelta(days=2)), 2000)
    slo = dataclasses.replace(_slo(2000), sli=sli)
    at = three + timedelta(hours=12)
    with Store.open(tmp_path / "s.db", clock=FixedClock(at)) as store:
        ctx = Context(tmp_path, store, signal)
        mixed = drift.measure(ctx, slo, three, three + timedelta(days=1), at)
        assert mixed.details["columns"]["text_len"]["drifted"]  # day 2 in the reference
        assert mixed.details["reference_left_out"] == []

        _judged(store, slo, two, Verdict.BAD)
        _judged(store, slo, one, Verdict.GOOD)
        ctx = Context(tmp_path, store, signal)  # the next run: a context keeps what it read
        clean = drift.measure(ctx, slo, three, three + timedelta(days=1), at)
        assert clean.value == 0.0 and clean.details["drifted"] == 0
        assert clean.details["reference_left_out"] == [[two.isoformat(), three.isoformat()]]
        assert clean.details["reference_rows"] == 2000

        # every slice of the span drifted: the shift is the new normal, the span is whole
        _judged(store, slo, one, Verdict.BAD)
        ctx = Context(tmp_path, store, signal)
        whole = drift.measure(ctx, slo, three, three + timedelta(days=1), at)
        assert whole.details["reference_left_out"] == []
        assert whole.details == mixed.details
