"""Alerts: open and past alerts, acknowledge and silence from the page (through
``alerts.lifecycle``, like the CLI), and the outbox: what was or would be posted to Slack."""

from __future__ import annotations

import polars as pl
import streamlit as st

from alerts.lifecycle import AlertError
from alerts.service import Alerting
from console import common, data, signin
from sigwatch.states import AlertState
from sigwatch.units import parse_duration

st.title("Alerts")
common.require_data()
registry = common.registry()
who = signin.viewer()


def _may_change(signal: str | None) -> bool:
    return who.person.can_act(registry.get(signal) if signal in registry.names else None)


def _name(typed: str) -> str | None:
    """Who an action is recorded under: the signed-in (or local) identity; typed only when
    the console is anonymous."""
    return typed.strip() or None if who.typed else who.identity


def _alerting(store):
    return Alerting.open(store, registry, common.settings(), common.clock())


frame = common.get(data.alerts_frame, True)
open_alerts = (
    frame.filter(pl.col("state") != AlertState.RESOLVED) if not frame.is_empty() else frame
)
st.header(f"Open ({len(open_alerts)})")
if open_alerts.is_empty():
    st.success("No open alerts.")
else:
    first = ["state", "key", "part_of", "started_at", "fastest_burn", "suspects"]
    shown = open_alerts.select(*first, pl.exclude("id", *first))
    st.dataframe(
        common.styled(shown, "state"),
        hide_index=True,
        width="stretch",
        column_config=common.SUSPECTS_COLUMN,
    )
    firing = open_alerts.filter(pl.col("state") == AlertState.FIRING)
    mine = [k for k, s in zip(firing["key"], firing["signal"], strict=True) if _may_change(s)]
    if firing.height and not mine:
        st.caption(signin.can_act_note(who))
    elif firing.height:
        with st.form("ack"):
            st.subheader("Acknowledge")
            key = st.selectbox("Alert", mine)
            typed = st.text_input("Your name") if who.typed else ""
            if st.form_submit_button("Acknowledge"):
                if not _name(typed):
                    st.error("Say who acknowledges (your name).")
                else:
                    with common.store() as store:
                        try:
                            alerting = _alerting(store)
                            alerting.lifecycle.acknowledge(key, _name(typed))
                            alerting.delivery.flush()
                            st.success(f"{key} acknowledged by {_name(typed)}.")
                            common.read.clear()
                        except AlertError as exc:
                            st.error(str(exc))

st.header("Silences")
signals = [name for name in registry.names if _may_change(name)]
if not signals:
    st.caption(signin.can_act_note(who))
else:
    with st.form("silence"):
        left, right = st.columns(2)
        anywhere = ["(any)"] if _may_change(None) else []
        signal = left.selectbox("Signal", [*anywhere, *signals])
        slos = sorted({s.name for sig in registry for s in sig.slos} | {"no-data"})
        slo = right.selectbox("SLO", ["(any)", *slos])
        reason = st.text_input("Reason")
        duration = st.text_input("For", value="2h", help="e.g. 30m, 2h, 1d")
        typed = st.text_input("Author") if who.typed else ""
        if st.form_submit_button("Silence"):
            try:
                span = parse_duration(duration)
                with common.store() as store:
                    made = _alerting(store).lifecycle.silence(
                        signal=None if signal == "(any)" else signal,
                        slo=None if slo == "(any)" else slo,
                        author=_name(typed) or "console",
                        reason=reason,
                        duration=span,
                    )
                st.success(f"Silence {made.id} until {made.expires_at:%Y-%m-%d %H:%M} UTC.")
                common.read.clear()
            except (AlertError, ValueError) as exc:
                st.error(str(exc))
with common.store() as store:
    active = _alerting(store).records.silences(active_at=common.now())
if active:
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "id": s.id,
                    "signal": s.signal or "*",
                    "slo": s.slo or "*",
                    "author": s.author,
                    "reason": s.reason,
                    "until": s.expires_at,
                }
                for s in active
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    endable = [s.id for s in active if _may_change(s.signal)]
    ending = st.selectbox("End a silence", endable) if endable else None
    if ending is not None and st.button("End silence"):
        with common.store() as store:
            alerting = _alerting(store)
            alerting.lifecycle.unsilence(int(ending))
            alerting.delivery.flush()
        st.success(f"Silence {ending} ended.")
        common.read.clear()
else:
    st.caption("No active silences.")

st.header("Past alerts")
PAST = ["key", "part_of", "started_at", "resolved_at", "minutes", "suspects"]  # shown first
past = frame.filter(pl.col("state") == AlertState.RESOLVED) if not frame.is_empty() else frame
if past.is_empty():
    st.caption("None yet.")
else:
    st.dataframe(
        past.with_columns(
            (pl.col("resolved_at") - pl.col("started_at")).dt.total_minutes().alias("minutes")
        ).select(*PAST, pl.exclude("id", *PAST)),
        hide_index=True,
        width="stretch",
        column_config=common.SUSPECTS_COLUMN,
    )

st.header("Outbox")
slack = common.settings()
where = (
    "sent to Slack"
    if slack.slack_token or slack.slack_webhook_url
    else "recorded only: no SIGWATCH_SLACK_TOKEN, so nothing is posted"
)
st.caption(f"Every notification is written here before it is sent ({where}).")
outbox = common.get(data.outbox_frame)
if outbox.is_empty():
    st.caption("Empty.")
else:
    st.dataframe(outbox, hide_index=True, width="stretch")
