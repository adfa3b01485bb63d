"""Where a breach comes from: the slices whose share of the bad events most exceeds their share
of the traffic, from hand-built logs with known counts; each kind's row-level bad events agree
with the serving table's counts."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from monitors import slis
from monitors.engine import PolarsEngine
from monitors.suspects import suspects
from tests.monitors.test_runner import DAY, TEN, content_type_hour, write_logs

HOUR = (TEN, TEN + timedelta(hours=1))


def _canary_hour() -> pl.DataFrame:
    """The content_type hour, with a canary model version on 100 of its 1,000 rows (every
    tenth) that abstains on 80 of them; the 900 others abstain 30 times (the hour's own)."""
    frame = content_type_hour()
    row = pl.int_range(pl.len())
    canary = row % 10 == 3
    version = pl.when(canary).then(pl.lit("2026.12-rc")).otherwise("model_version")
    status = pl.when(canary & (row // 10 < 80)).then(pl.lit("abstain")).otherwise("status")
    # two communities in equal parts, canary or not: no excess
    community = pl.when(row // 2 % 2 == 0).then(pl.lit("laptops")).otherwise(pl.lit("audio"))
    return frame.with_columns(
        version.alias("model_version"), status.alias("status"), community.alias("community")
    )


def test_a_canary_that_abstains_is_named_first_with_its_shares(registry, tmp_path):
    frame = _canary_hour()
    write_logs(tmp_path, "content_type", frame, DAY)
    signal = registry.get("content_type")
    served = (pl.col("status") == "ok") & (pl.col("score") >= signal.serving_threshold)
    bad = frame.filter(~served.fill_null(False))
    canary_bad = bad.filter(pl.col("model_version") == "2026.12-rc")
    [first, *rest] = suspects(tmp_path, signal, signal.slo("coverage"), *HOUR)
    assert (first.dimension, first.value) == ("model_version", "2026.12-rc")
    assert first.bad == len(canary_bad) and first.events == 100
    assert first.bad_share == pytest.approx(len(canary_bad) / len(bad))
    assert first.traffic_share == pytest.approx(0.1)
    assert all(s.dimension != "community" for s in rest)  # an even split explains nothing
    assert first.sentence() == (
        f"{len(canary_bad) / len(bad):.0%} of the bad events come from "
        "model_version=2026.12-rc, which serves 10% of traffic"
    )


def test_a_breach_of_everything_names_no_slice(registry, tmp_path):
    frame = content_type_hour().with_columns(pl.lit("error").alias("status"))
    write_logs(tmp_path, "content_type", frame, DAY)
    signal = registry.get("content_type")
    assert suspects(tmp_path, signal, signal.slo("errors"), *HOUR) == ()


@pytest.mark.parametrize("slo", ["coverage", "latency", "errors"])
def test_row_level_bad_events_agree_with_the_serving_table(registry, tmp_path, slo):
    frame = _canary_hour()
    write_logs(tmp_path, "content_type", frame, DAY)
    signal = registry.get("content_type")
    spec = signal.slo(slo)
    module = slis.calculation(spec.sli)
    table = PolarsEngine().serving(tmp_path, signal, *HOUR)
    good, total = module.good_total(spec.sli, signal, table)
    bad, counted = module.bad_rows(spec.sli, signal)
    rows = frame.filter(counted)
    assert len(rows) == total.sum()
    assert rows.select(bad.sum()).item() == total.sum() - good.sum()


def test_a_few_wrong_labels_are_not_a_lead(registry, tmp_path):
    """A quality SLO's suspects come from the labelled predictions it counts; a slice whose
    excess is within chance (the two-proportion z below 3) is not named."""
    frame = content_type_hour().with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(pl.lit("comment"))
        .otherwise(pl.lit("post"))
        .alias("item_kind")
    )
    write_logs(tmp_path, "content_type", frame, DAY)
    served = frame.filter(pl.col("status") == "ok").head(200)
    # 40 "review" predictions labelled wrong: 16 of the 67 comments, 24 of the 133 posts
    comments = served.filter(pl.col("item_kind") == "comment")["item_id"].to_list()
    posts = served.filter(pl.col("item_kind") == "post")["item_id"].to_list()
    wrong = set(comments[:16] + posts[:24])
    labels = pl.DataFrame(
        {
            "item_id": served["item_id"],
            "label": [
                "other" if i in wrong else p
                for i, p in zip(served["item_id"], served["label"], strict=True)
            ],
            "labels": [None] * len(served),
            "source": ["human"] * len(served),
            "labeled_at": [TEN] * len(served),
        },
        schema_overrides={"labeled_at": pl.Datetime("us", "UTC"), "labels": pl.List(pl.Utf8)},
    )
    folder = tmp_path / "labels" / "signal=content_type"
    folder.mkdir(parents=True)
    labels.write_parquet(folder / "part-0.parquet")
    signal = registry.get("content_type")
    slo = signal.slo("review-precision")
    assert suspects(tmp_path, signal, slo, *HOUR, known_at=HOUR[1]) == ()
    # the same wrong labels all on comments: now a lead
    wrong = set(comments[:40])
    labels = labels.with_columns(
        pl.when(pl.col("item_id").is_in(list(wrong)))
        .then(pl.lit("other"))
        .otherwise(pl.lit("review"))
        .alias("label")
    )
    labels.write_parquet(folder / "part-0.parquet")
    [first] = suspects(tmp_path, signal, slo, *HOUR, known_at=HOUR[1])
    assert (first.dimension, first.value, first.bad) == ("item_kind", "comment", 40)
