"""The quality table against a brute-force reference: for every evaluation time, the counts
summed from the table (one row per bucket and label version) equal those of joining the slice's
served predictions to each item's latest label known at that time, item by item in Python —
with late labels, relabels, two labels at the same instant and labels of items never served."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import polars as pl
import pytest

from monitors.engine import PolarsEngine, label_versions
from monitors.logs import LABEL_CONTRACT, LOG_CONTRACT
from monitors.partials import QualityTables, known_at, quality_schema
from monitors.slis.quality import payload
from tests.monitors.test_runner import DAY, write_logs

LOG_TYPES = {c.name: c.dtype for c in LOG_CONTRACT if not c.if_present}  # no optional ones
LABEL_TYPES = {c.name: c.dtype for c in LABEL_CONTRACT}
START, END = DAY, DAY + timedelta(hours=6)


def _logs(signal, rng: random.Random, n: int = 600) -> pl.DataFrame:
    rows = []
    for i in range(n):
        status = rng.choice(["ok"] * 8 + ["error", "abstain"])
        label = labels = score = None
        if status != "error":
            if signal.task == "entities":
                labels = rng.sample(["brand:Sony", "brand:Bose", "product:XM5", "other:x"], 2)
            else:
                label = rng.choice(signal.classes) if signal.task == "multiclass" else None
            score = round(rng.random(), 2)
        rows.append(
            {
                "event_time": START + timedelta(seconds=rng.randrange(6 * 3600)),
                "item_id": f"i{i}",
                "item_kind": "post",
                "community": "c",
                "language": "en",
                "text_len": 10,
                "model_version": "v",
                "status": status,
                "label": label,
                "labels": labels,
                "score": score,
                "latency_ms": 10.0,
                "cost_usd": 0.0,
                "served_by": "in_house",
            }
        )
    return pl.DataFrame(rows, schema=LOG_TYPES)


def _labels(signal, rng: random.Random, n_items: int = 700) -> pl.DataFrame:
    rows = []
    for i in rng.sample(range(n_items), 400):  # some never served (ids beyond the logs)
        when = START + timedelta(seconds=rng.randrange(8 * 3600))
        for _ in range(rng.choice([1, 1, 2, 3])):  # relabels, sometimes at the same instant
            if signal.task == "entities":
                truth, truths = None, rng.sample(["brand:Sony", "brand:Bose", "product:XM5"], 2)
            elif signal.task == "score":
                truth, truths = rng.choice(["0", "1"]), None
            else:
                truth, truths = rng.choice(signal.classes), None
            rows.append(
                {
                    "item_id": f"i{i}",
                    "label": truth,
                    "labels": truths,
                    "source": rng.choice(["human"] * 5 + ["judge:x"]),
                    "labeled_at": when,
                    "rater_id": "r",
                }
            )
            when += timedelta(minutes=rng.choice([0, 3, 40]))
    return pl.DataFrame(rows, schema=LABEL_TYPES)


def _reference(signal, logs: pl.DataFrame, labels: pl.DataFrame, start, end, at) -> dict:
    latest = {}
    for row in (
        labels.filter(pl.col("source") == "human")
        .sort("labeled_at", maintain_order=True)
        .iter_rows(named=True)
    ):
        if row["labeled_at"] <= at:
            latest[row["item_id"]] = row
    served = logs.filter(
        (pl.col("status") == "ok") & pl.col("event_time").is_between(start, min(end, at), "left")
    )
    joined = [
        (r, latest[r["item_id"]]) for r in served.iter_rows(named=True) if r["item_id"] in latest
    ]
    if signal.task == "entities":
        per_class = {c: Counter() for c in signal.classes}
        for p, t in joined:
            predicted, truth = set(p["labels"] or ()), set(t["labels"] or ())
            for cls in signal.classes:
                pc = {x for x in predicted if x.startswith(f"{cls}:")}
                tc = {x for x in truth if x.startswith(f"{cls}:")}
                per_class[cls].update(tp=len(pc & tc), fp=len(pc - tc), fn=len(tc - pc))
        counts = {c: {k: v[k] for k in ("tp", "fp", "fn")} for c, v in per_class.items()}
        return {"labelled": len(joined), "per_class": counts}
    if signal.task == "score":
        pairs = sorted([round(p["score"], 4), t["label"]] for p, t in joined)
        return {"labelled": len(pairs), "pairs": pairs}
    confusion = Counter(f"{p['label']}\u241f{t['label']}" for p, t in joined)
    return {"labelled": sum(confusion.values()), "confusion": dict(confusion)}


@pytest.mark.parametrize("name", ["content_type", "product_entities", "commercial_intent"])
def test_counts_from_the_table_equal_a_join_with_the_labels_known_at_each_time(
    registry, tmp_path, name
):
    signal = registry.get(name)
    rng = random.Random(7)
    logs, labels = _logs(signal, rng), _labels(signal, rng)
    write_logs(tmp_path, name, logs)
    folder = tmp_path / "labels" / f"signal={name}"
    folder.mkdir(parents=True)
    labels.write_parquet(folder / "part-0.parquet")

    versions = label_versions(tmp_path, signal)
    table = PolarsEngine().partials(tmp_path, signal, START, END, versions).quality
    assert table.schema == quality_schema(signal)
    tables = QualityTables(tmp_path)
    tables.write(name, table, START, END)
    stored = tables.read(signal, START, END)
    assert stored.sort(stored.columns).equals(table.sort(table.columns))

    checked = 0
    for hours in (1, 2, 3.5, 5, 6, 8):
        at = START + timedelta(hours=hours)
        for start, end in ((START, END), (START + timedelta(hours=2), START + timedelta(hours=4))):
            rows = stored.filter(pl.col("bucket").is_between(start, min(end, at), "left"))
            got = payload(signal, known_at(rows, at))
            want = _reference(signal, logs, labels, start, end, at)
            assert got == want, (at, start, end)
            checked += want["labelled"]
    assert checked > 300  # the comparison covered many labelled predictions


def test_a_recomputed_range_replaces_its_rows_and_empties_buckets_left_without(registry, tmp_path):
    signal = registry.get("content_type")
    tables = QualityTables(tmp_path)
    row = {
        "bucket": START,
        "known": START,
        "until": None,
        "predicted": "review",
        "truth": "review",
        "n": 3,
    }
    table = pl.DataFrame(
        [row, {**row, "bucket": START + timedelta(days=1)}], schema=quality_schema(signal)
    )
    tables.write("content_type", table, START, START + timedelta(days=2))
    tables.write("content_type", table.clear(), START, START + timedelta(hours=1))
    left = tables.read(signal, START, START + timedelta(days=2))
    assert left["bucket"].to_list() == [START + timedelta(days=1)]
