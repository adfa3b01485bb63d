"""The signals registry: owner, on-call, task, classes, model and version, consumers, SLOs —
searchable."""

from __future__ import annotations

import polars as pl
import streamlit as st

from console import common

st.title("Registry")
registry = common.registry()
rows = [
    {
        "signal": s.name,
        "owner": s.owner,
        "on-call": s.oncall,
        "task": s.task,
        "classes": ", ".join(s.classes),
        "model": s.model.id,
        "version": s.model.version,
        "consumers": ", ".join(s.consumers),
        "SLOs": ", ".join(f"{o.name} ({o.sli.kind})" for o in s.slos),
        "description": s.description,
    }
    for s in registry
]
table = pl.DataFrame(rows)
query = st.text_input("Search", placeholder="signal, owner, model, consumer, SLO ...")
if query:
    needle = query.lower()
    table = table.filter(
        pl.concat_str(pl.all(), separator=" ").str.to_lowercase().str.contains(needle, literal=True)
    )
st.caption(f"{len(table)} of {len(rows)} signals")
if table.is_empty():
    st.info(f"No signal matches {query!r}.")
else:
    st.dataframe(table, hide_index=True, width="stretch")
