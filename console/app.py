"""The console's entry: ``streamlit run console/app.py``. Pages live in ``console/views/``
(not ``pages/``, which Streamlit would also list by file name); the signal page answers at
``/signal?signal=NAME`` (the link alerts post)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from console import common, signin

HERE = Path(__file__).parent / "views"

st.set_page_config(page_title="sigwatch", page_icon=":material/monitoring:", layout="wide")
PAGES = (  # file, title, icon (Streamlit's own Material Symbols font), path
    ("overview.py", "Overview", "traffic", "overview"),
    ("signal_detail.py", "Signal detail", "search", "signal"),
    ("trends.py", "SLO trends", "trending_up", "trends"),
    ("alert_center.py", "Alerts", "notifications_active", "alerts"),
    ("signal_registry.py", "Registry", "menu_book", "registry"),
    ("spotcheck.py", "Spot-check", "science", "spotcheck"),
)
pages = [
    st.Page(HERE / file, title=title, icon=f":material/{icon}:", url_path=path, default=k == 0)
    for k, (file, title, icon, path) in enumerate(PAGES)
]
signin.gate()  # the sign-in page, or who is looking (said on every page)
page = st.navigation(pages)
common.registry()  # read again if a definitions file changed
common.warn_if_definitions_broken()
page.run()
