"""What every page shares: settings, the registry, cached reads of the store, empty states."""

from __future__ import annotations

import html
import inspect
import re
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import streamlit as st

from console import data
from sigwatch.clock import Clock
from sigwatch.model import Registry
from sigwatch.registry import Definitions
from sigwatch.runtime import Runtime
from sigwatch.settings import Settings
from sigwatch.states import AlertState, SloState
from sigwatch.store.connection import StoreUnavailable

TTL = 30  # seconds a page may show before reading the store again
_ALTAIR = threading.Lock()
# Icons from Streamlit's own Material Symbols font and colours, never emoji: emoji need a
# system font that a headless browser or a bare server often lacks (they show as boxes).
COLORS = {
    SloState.BREACH: "red",
    SloState.WARNING: "orange",
    SloState.NO_DATA: "gray",
    SloState.INSUFFICIENT_LABELS: "blue",
    SloState.INSUFFICIENT_DATA: "gray",
    SloState.OK: "green",
}
SYMBOLS = {
    SloState.BREACH: "error",
    SloState.WARNING: "warning",
    SloState.NO_DATA: "radio_button_unchecked",
    SloState.INSUFFICIENT_LABELS: "help",
    SloState.INSUFFICIENT_DATA: "help",
    SloState.OK: "check_circle",
}
STATE_MD = {s: f":{COLORS[s]}[:material/{SYMBOLS[s]}: {s.words}]" for s in SloState}
BUDGET_SPENT = "budget spent"
STALE = "stale since"  # the rows of a signal whose monitor fails: "stale since 11-26 00:05"
BUDGET_SPENT_MD = ":violet-badge[:material/block: error budget spent]"
BUDGET_SPENT_LABEL = f":violet[:material/block: {BUDGET_SPENT}]"
# cell backgrounds of state columns in tables (a table cell shows no icons)
CELL = {
    "breach": "#f8d0d0",
    "warning": "#fde5c4",
    "no data": "#e6e6e6",
    "insufficient labels": "#d6e4f5",
    "insufficient data": "#e6e6e6",
    "ok": "#d9f0dc",
    AlertState.FIRING: "#f8d0d0",
    AlertState.ACKNOWLEDGED: "#fde5c4",
    AlertState.RESOLVED: "#d9f0dc",
    BUDGET_SPENT: "#e9d8f2",
    STALE: "#f3c6c6",
}


SUSPECTS_COLUMN = {
    "part_of": st.column_config.TextColumn(
        "part of",
        width="medium",
        help="A grouped SLO's alert opened inside a signal-level alert of the same kind (an "
        "outage breaks every community): recorded as part of it, and not posted to Slack.",
    ),
    "suspects": st.column_config.TextColumn(
        "where it comes from",
        width="large",
        help="The slices whose share of the bad events most exceeds their share of traffic.",
    ),
}


MARKDOWN = set("\\`*_{}[]()<>#+-.!|~:$=")


# Streamlit's Markdown turns a bare URL, ``www.`` name or e-mail address in text into a link
# after escapes are read (GFM's autolink literals), so escaping cannot stop it: a zero-width
# space where such a link would start can.
AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)")
ZWSP = "\u200b"


def plain(text: str) -> str:
    """``text`` from the logs (a community, a version) as literal Markdown: every character
    Markdown or Streamlit would read (``*urgent*``, ``[x](y)``, ``:red[...]``) escaped, and no
    URL or address made a link (``https://evil.example`` shows as written, not clickable)."""
    unlinked = AUTOLINK.sub(ZWSP, str(text))
    return "".join(f"\\{c}" if c in MARKDOWN else c for c in unlinked)


def sandboxed(page: str, height: int) -> str:
    """HTML that shows ``page`` (a report drawn from the logs' values) in a frame of its own
    origin: sandboxed with scripts but without ``allow-same-origin``, so even a value that
    escaped escaping could not reach the console, its cookies or its session (``st.iframe``
    alone gives the page the console's origin)."""
    return (
        '<!doctype html><html><body style="margin:0">'
        f'<iframe sandbox="allow-scripts" title="report" style="border:0;width:100%;'
        f'height:{int(height)}px" srcdoc="{html.escape(page, quote=True)}"></iframe>'
        "</body></html>"
    )


def label_color(state: str) -> str | None:
    """The colour of a state's words (a spent budget takes its own colour, whatever the
    state); None for a word that has none."""
    key = BUDGET_SPENT if state.endswith(BUDGET_SPENT) else state
    key = STALE if key.startswith(STALE) else key
    return CELL.get(key)


def styled(frame, *columns: str):
    """``frame`` for ``st.dataframe`` with the state words of ``columns`` on their colour (a
    state ending in "budget spent" takes its colour: the release freeze shows)."""

    def cell(value) -> str:
        color = label_color(value) if isinstance(value, str) else None
        return f"background-color: {color}" if color else ""

    return frame.to_pandas().style.map(cell, subset=list(columns))


def draw(build, *key) -> None:
    """Draw the Altair chart (or charts) of ``console.charts`` that ``build()`` returns. With a
    ``key`` (everything the chart depends on: signal, SLO, range, data time, its alerts), its
    Vega-Lite spec is kept for ``TTL`` like the data it is drawn from, so a warm page draws
    kept specs instead of building charts again.

    Specs are made without Altair's JSON-schema validation of the whole spec (about 20 ms a
    chart, which ``st.altair_chart`` does at every run); the charts are ours and their specs are
    validated by their tests (tests/console/test_charts.py). Their data goes inline, as
    Vega-Lite ``datasets``."""
    specs = _kept_specs(key, build) if key else _specs(build())
    for spec in specs:
        st.vega_lite_chart(spec, width="stretch")


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=2000)
def _kept_specs(key: tuple, _build) -> list[dict]:
    return _specs(_build())


def _specs(built) -> list[dict]:
    import altair as alt

    charts = built if isinstance(built, tuple | list) else (built,)
    # the theme and the data transformer are Altair's process-wide settings: one at a time
    with (
        _ALTAIR,
        alt.theme.enable("none"),
        alt.data_transformers.enable("default", max_rows=None),
    ):
        return [chart.to_dict(validate=False) for chart in charts]


def fingerprint(frame) -> tuple:
    """A frame's rows as a hashable key (for small frames: an SLO's alerts)."""
    return tuple(frame.iter_rows()) if frame is not None and not frame.is_empty() else ()


def settings() -> Settings:
    return Settings.from_env()


@st.cache_resource(show_spinner=False)
def _definitions(definitions: str) -> Definitions:
    return Definitions(Path(definitions))


def _registry(definitions: str) -> Registry:
    """The registry of the folder, read again when a file changed: an edit that breaks it
    keeps the last good one (``definitions_error`` says why)."""
    return _definitions(definitions).refresh()


def registry() -> Registry:
    return _registry(str(settings().definitions_dir.resolve()))


def definitions_error() -> Exception | None:
    """Why the definitions shown are not the files' (an edit that broke them), or None."""
    return _definitions(str(settings().definitions_dir.resolve())).error


def warn_if_definitions_broken() -> None:
    """Say, on every page, that an edit broke the definitions and the last good ones are in
    use (``sigwatch serve`` keeps evaluating them too)."""
    error = definitions_error()
    if error is not None:
        st.error(
            "The SLO definitions have a problem, so the console (and `sigwatch serve`) keep "
            "the definitions last read without one. Fix the file; `sigwatch validate` says "
            "where.",
            icon=":material/error:",
        )
        st.code(str(error), language=None)


def runtime() -> Runtime:
    """The console's runtime: settings from the environment, its clock the wall clock or the
    time ``SIGWATCH_CONSOLE_AT`` fixes (set by ``sigwatch console --at``, the console's
    composition root, and by tests)."""
    current = settings()
    return Runtime.from_env(settings=current, at=current.console_at)


def clock() -> Clock:
    return runtime().clock


@contextmanager
def store():
    with runtime().open_store() as opened:
        yield opened


def now() -> datetime:
    return clock().now()


@st.cache_data(ttl=TTL, show_spinner=False)
def read(name: str, _function, folder: str, where: str, definitions: str, *args):
    """``_function(store, [registry,] [data_dir,] *args)``, cached per the function's ``name``
    and the arguments (the data folder, the store as printed and the definitions among them)
    for ``TTL``. What it reads beyond the store is what its signature asks for."""
    wants = inspect.signature(_function).parameters
    extra = []
    if "registry" in wants:
        extra.append(_registry(definitions))
    if "data_dir" in wants:
        extra.append(Path(folder))
    with runtime().open_store() as opened:
        return _function(opened, *extra, *args)


def get(function, *args):
    """What ``function`` (one of ``console.data``'s) reads from the store, cached."""
    current = runtime()
    folder, where = str(current.data_dir.resolve()), str(current.store_url)
    name = f"{function.__module__}.{function.__qualname__}"
    return read(name, function, folder, where, str(current.definitions.resolve()), *args)


def require_data() -> datetime:
    """Stop the page with instructions when nothing has been evaluated yet; else return the
    latest evaluated time."""
    if not runtime().store_exists():
        _empty()
    try:
        at = get(data.data_time)
    except StoreUnavailable as exc:  # PostgreSQL down or restarting: say so, no traceback
        said = str(exc) if str(exc).endswith((".", "?", "!")) else f"{exc}."
        st.error(
            f"**The store cannot be reached.** {plain(said)} The monitors keep trying and "
            "record what failed once it answers; reload this page then.",
            icon=":material/cloud_off:",
        )
        st.stop()
    if at is None:
        _empty()
    return at


def _empty() -> None:
    st.info(
        "**No evaluations yet.** The console shows what the monitors stored in "
        f"`{runtime().store_url}`. To get data: `make demo` (simulates 14 days with incidents, "
        "backfills the monitors and keeps them running), or by hand: `sigwatch simulate --days 7`"
        " then `sigwatch monitor --backfill 7d`. Set `SIGWATCH_DATA` if your data lives elsewhere."
    )
    st.stop()


def freshness(at: datetime) -> None:
    """The time of the last evaluation, and a warning when the monitors look stale."""
    evaluated = get(data.last_evaluation)
    age = now() - evaluated if evaluated else None
    st.caption(
        f"Data up to **{at:%Y-%m-%d %H:%M} UTC** · last evaluation "
        f"{evaluated:%Y-%m-%d %H:%M:%S} UTC"
        if evaluated
        else ""
    )
    if age is not None and age > data.STALE_AFTER:
        minutes = int(age.total_seconds() // 60)
        st.warning(
            f"Monitors look stale: the last evaluation ran {minutes} min ago. "
            "Is `sigwatch serve` running? Check its runs on the signal's page."
        )
