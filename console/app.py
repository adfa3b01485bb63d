"""The console's entry: ``streamlit run console/app.py``. Pages live in ``console/views/``
(not ``pages/``, which Streamlit would also list by file name); the signal page answers at
``/signal?signal=NAME`` (the link alerts post)."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

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
page = st.navigation(pages)
if os.environ.get("SIGWATCH_CONSOLE_MODE") == "anonymous":
    st.error(
        "**No sign-in, and served to other machines** (`--allow-anonymous`): anyone who reaches "
        "this console can acknowledge and silence alerts, in any name.",
        icon=":material/warning:",
    )
else:
    st.caption(
        ":material/lock_open: **Local mode**: no sign-in; the console answers on this machine "
        "(127.0.0.1) only, and acknowledgements carry the name typed."
    )
page.run()
