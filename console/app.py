"""The console's entry: ``streamlit run console/app.py``. Pages live in ``console/views/``
(not ``pages/``, which Streamlit would also list by file name); the signal page answers at
``/signal?signal=NAME`` (the link alerts post)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent / "views"

st.set_page_config(page_title="sigwatch", page_icon="📡", layout="wide")
pages = [
    st.Page(HERE / "overview.py", title="Overview", icon="🚦", url_path="overview", default=True),
    st.Page(HERE / "signal_detail.py", title="Signal detail", icon="🔎", url_path="signal"),
    st.Page(HERE / "trends.py", title="SLO trends", icon="📈", url_path="trends"),
    st.Page(HERE / "alert_center.py", title="Alerts", icon="🚨", url_path="alerts"),
    st.Page(HERE / "signal_registry.py", title="Registry", icon="📚", url_path="registry"),
    st.Page(HERE / "spotcheck.py", title="Spot-check", icon="🧪", url_path="spotcheck"),
]
st.navigation(pages).run()
