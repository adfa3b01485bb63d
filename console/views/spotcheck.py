"""Spot-check: run every signal's model live on pasted text (predictions, scores, latency per
model), and sample a signal's recent predictions next to their labels."""

from __future__ import annotations

import time

import polars as pl
import streamlit as st

from console import common
from console.data import recent_predictions

MAX_CHARS = 2000

st.title("Spot-check")
registry = common.registry()

st.header("Run the models")
EXAMPLE = "e.g. Has anyone compared the Sony WH-1000XM5 with the Bose QC45?"
text = st.text_area("Text of a post", height=140, placeholder=EXAMPLE)
st.caption(f"{len(text):,} / {MAX_CHARS:,} characters")
if st.button("Run every signal's model", type="primary"):
    if not text.strip():
        st.warning("Type or paste some text first.")
    elif len(text) > MAX_CHARS:
        st.error(
            f"The text is {len(text):,} characters; the cap is {MAX_CHARS:,} (the models "
            "were trained on posts up to that length). Shorten it and run again."
        )
    else:
        from inference.catalog import predict

        rows = []
        with st.spinner("Running the models (the first run loads them)..."):
            for signal in registry:
                started = time.perf_counter()
                [p] = predict(signal, [text])
                wall_ms = (time.perf_counter() - started) * 1000
                shown = p.label or (", ".join(p.labels) if p.labels else None)
                served = p.score >= signal.serving_threshold
                rows.append(
                    {
                        "signal": signal.name,
                        "model": f"{signal.model.id} {p.model_version}",
                        "prediction": shown if shown is not None else f"score {p.score:.3f}",
                        "score": p.score,
                        "served": served,
                        "latency_ms": round(wall_ms, 1),
                    }
                )
        st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch")
        st.caption(
            "served: the score is at or above the signal's serving threshold (below it, "
            "consumers get no prediction). Models whose heads share the MiniLM embedding "
            "reuse it, so only the first of them pays for it."
        )

st.header("Recent predictions and their labels")
at = common.require_data()
chosen = st.selectbox("Signal", list(registry.names), key="sample_signal")
sample = recent_predictions(common.settings().data_dir, registry.get(chosen), at)
if sample.is_empty():
    st.info("No served predictions in the last day of logs.")
else:
    st.caption(
        f"A sample of {len(sample)} predictions served in the day before "
        f"{at:%Y-%m-%d %H:%M} UTC; human labels where they exist."
    )
    st.dataframe(sample, hide_index=True, width="stretch")
