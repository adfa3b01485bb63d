"""The console's entry: ``streamlit run console/app.py``. Pages live in ``console/views/``
(not ``pages/``, which Streamlit would also list by file name); the signal page answers at
``/signal?signal=NAME`` (the link alerts post)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent / "views"

st.set_page_config(page_title="sigwatch", page_icon=":material/monitoring:", layout="wide")
pages = [
    st.Page(
        HERE / "overview.py",
        title="Overview",
        icon=":material/traffic:",
        url_path="overview",
        default=True,
    ),
    st.Page(
        HERE / "signal_detail.py",
        title="Signal detail",
        icon=":material/search:",
        url_path="signal",
    ),
    st.Page(
        HERE / "trends.py", title="SLO trends", icon=":material/trending_up:", url_path="trends"
    ),
    st.Page(
        HERE / "alert_center.py",
        title="Alerts",
        icon=":material/notifications_active:",
        url_path="alerts",
    ),
    st.Page(
        HERE / "signal_registry.py",
        title="Registry",
        icon=":material/menu_book:",
        url_path="registry",
    ),
    st.Page(
        HERE / "spotcheck.py", title="Spot-check", icon=":material/science:", url_path="spotcheck"
    ),
]
st.navigation(pages).run()
