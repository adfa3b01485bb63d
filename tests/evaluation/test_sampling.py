"""Stratified, seeded, within budget: every (class x confidence band) stratum is sampled,
predicted negatives included; weights undo the stratification."""

from __future__ import annotations

import numpy as np
import polars as pl

from evaluation.sampling import stratified_sample


def predictions(n=5000, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.choice(
        ["review", "question", "comparison", "other"], p=[0.6, 0.3, 0.07, 0.03], size=n
    )
    return pl.DataFrame(
        {
            "item_id": [f"i{k}" for k in range(n)],
            "label": labels,
            "score": rng.uniform(0.2, 1.0, size=n),
        }
    )


def test_every_stratum_is_sampled_within_the_budget_and_weights_restore_totals():
    frame = predictions()
    sample = stratified_sample(frame, 240, seed=3)
    assert len(sample) == 240
    assert set(sample["stratum"]) == {
        f"{c}/{b}"
        for c in ("review", "question", "comparison", "other")
        for b in ("low", "mid", "high")
    }
    assert sample["weight"].sum() == len(frame)


def test_seeded_and_reproducible():
    a = stratified_sample(predictions(), 100, seed=7)
    b = stratified_sample(predictions(), 100, seed=7)
    c = stratified_sample(predictions(), 100, seed=8)
    assert a["item_id"].to_list() == b["item_id"].to_list() != c["item_id"].to_list()


def test_entity_predictions_with_nothing_found_are_their_own_stratum():
    frame = pl.DataFrame(
        {
            "labels": [["brand:Sony"], [], ["product:X", "brand:Bose"], []] * 50,
            "score": [0.9, 0.3, 0.6, 0.95] * 50,
        }
    )
    sample = stratified_sample(frame, 40, seed=0, label="labels")
    assert {s.split("/")[0] for s in sample["stratum"]} == {"brand", "(none)"}
