"""Every console page through streamlit's AppTest over a seeded store (the default scenario,
monitored and alerted): what it shows, and that acknowledging and silencing change the store."""

from __future__ import annotations

import getpass
from collections import Counter

import pytest
from streamlit.testing.v1 import AppTest

from console import common
from sigwatch.clock import FixedClock
from sigwatch.settings import Settings
from sigwatch.states import SloState
from sigwatch.store import Store
from sigwatch.store.judge import CalibrationRow
from tests.conftest import ROOT
from tests.console.conftest import END

PAGES = ROOT / "console" / "views"


def page(name: str, **query) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def shown_text(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "warning", "error", "success")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def test_overview_counts_states_lists_open_alerts_and_warns_when_stale(console_env, registry):
    at = page("overview")
    assert not at.exception
    with Store.open(Settings.from_env().store(console_env), clock=FixedClock(END)) as store:
        latest = store.latest_status()
        open_keys = {a.key for a in store.alerts.open_alerts()}
    states = Counter(s.state for s in latest)
    spent = {(s.signal, s.slo) for s in latest if s.budget_exhausted}
    metrics = {m.label: int(m.value) for m in at.metric}
    assert metrics == {
        **{common.STATE_MD[state]: states[state] for state in SloState},
        common.BUDGET_SPENT_LABEL: len(spent),
    }
    assert spent, "the scenario spends some SLO's budget"
    assert open_keys, "the scenario leaves alerts open at its end"
    alerts_table = at.dataframe[0].value
    assert set(alerts_table["key"]) == open_keys
    grid = at.dataframe[1].value
    assert len(grid) == len(registry.slos)
    grid["state"] = [labels[0] for labels in grid["state"]]  # a coloured label each
    # a spent budget shows on its row whatever the state, and ranks after alerting states
    marked = grid[grid["state"].str.endswith("budget spent")]
    assert len(marked) == len(spent)
    order = [
        "breach",
        "warning",
        "budget spent",
        "no data",
        "insufficient labels",
        "insufficient data",
        "ok",
    ]

    def rank(state: str) -> int:
        first = state.split(" · ")[0]
        return order.index(first if first in order[:2] else state.split(" · ")[-1])

    quiet = [rank(v) for v, n in zip(grid["state"], grid["open_alerts"], strict=True) if n == 0]
    assert quiet == sorted(quiet)
    # a value is a number, an estimate marked as such, or a dash and why there is none:
    # never "None"
    assert not grid["value"].isna().any()
    estimated = grid[grid["value"].str.match(r"^\d\.\d{4} \(estimated, cbpe\)$")]
    estimated_now = [s for s in latest if s.verdict_from and s.verdict_from.estimate]
    assert len(estimated) == len(estimated_now) > 0
    unknown = grid[~grid["value"].str.match(r"^\d\.\d{4}( \(estimated, cbpe\))?$")]
    assert len(unknown) and all(
        v == f"— {state.split(' · ')[0]}"
        or v.startswith(f"— {state.split(' · ')[0]}; no estimate: ")
        for v, state in zip(unknown["value"], unknown["state"], strict=True)
    ), unknown[["value", "state"]]
    assert "Monitors look stale" in shown_text(at)  # evaluated at the data's end, an hour ago


def test_a_failing_monitor_comes_first_and_its_rows_read_stale(console_env):
    """A signal whose monitor fails is said above every SLO state, with its error and since
    when; its rows come first and read "stale since", not their last good state."""
    from datetime import timedelta

    from sigwatch.store import Run

    failed = [END + timedelta(minutes=m) for m in (10, 15, 20)]
    error = "LogError: /logs/signal=content_type/date=2026-11-26/part-0.parquet: column 'x'"
    with Store.open(Settings.from_env().store(console_env), clock=FixedClock(END)) as store:
        for t in failed:
            store.record_run(Run("content_type", t, t, 5.0, "error", f"{error}\ntraceback"))
    at = page("overview")
    assert not at.exception
    [banner] = [e.value for e in at.error]
    assert banner.startswith("**content_type: the monitor is failing** since 2026-11-26 00:10")
    assert "(3 runs in a row)" in banner and common.plain(error) in banner
    grid = at.dataframe[1].value
    grid["state"] = [labels[0] for labels in grid["state"]]
    signals = grid["page"].str.replace("/signal?signal=", "", regex=False)
    mine = grid[signals == "content_type"]
    assert list(grid.index[: len(mine)]) == list(mine.index)  # first
    assert set(mine["state"]) == {"stale since 11-26 00:10"}
    assert not grid[signals != "content_type"]["state"].str.startswith("stale").any()
    # the counters: its rows are stale, under no state (not by their last good run's)
    counted = {m.label: int(m.value) for m in at.metric}
    assert counted["Stale"] == len(mine)
    states = sum(counted[common.STATE_MD[state]] for state in SloState)
    assert states == len(grid) - len(mine)


def test_overview_filters_by_state(console_env):
    at = page("overview")
    at.multiselect[1].select("ok").run()
    grid = at.dataframe[-1].value
    assert len(grid) > 0 and {s[0] for s in grid["state"]} <= {"ok", "ok · budget spent"}


def test_signal_page_shows_each_slo_quality_drift_runs_and_definition(console_env):
    at = page("signal_detail", signal="content_type")
    assert not at.exception
    assert [h.value for h in at.header] == [
        "SLOs",
        "Quality per class",
        "LLM judge",
        "Drift",
        "Latency and cost",
        "Recent runs",
        "Definition",
    ]
    subheaders = [s.value for s in at.subheader]
    for slo in ("coverage", "latency", "errors", "review-precision", "input-drift", "cost"):
        assert any(s.startswith(f"{slo} · ") for s in subheaders), slo
    assert len(at.get("vega_lite_chart")) >= 6
    with Store.open(Settings.from_env().store(console_env), clock=FixedClock(END)) as store:
        latest = {s.slo: s for s in store.latest_status("content_type")}
    for name, status in latest.items():  # a spent budget is badged whatever the state
        [heading] = [h for h in subheaders if h.startswith(f"{name} · ")]
        assert heading.endswith(common.BUDGET_SPENT_MD) == status.budget_exhausted, heading
    assert any(c.value.startswith("Reference: ") for c in at.caption)  # the drift reference
    # review-precision's estimates are drawn beside its labels' values, with their audit
    assert any(c.value.startswith("Blue: the cbpe estimate of each slice") for c in at.caption)
    estimated = [s for s in latest.values() if s.verdict_from and s.verdict_from.estimate]
    marked = [m for m in at.metric if m.label.startswith("value (estimated, cbpe)")]
    assert len(marked) == len(estimated)
    # every evaluated SLO has a value box: a number, or a dash that says why there is none
    values = [m for m in at.metric if m.label.startswith("value")]
    assert len(values) == len(latest)
    said = sorted(m.help.split(";")[0] for m in values if m.value == "—")
    assert said == sorted(s.state.words for s in latest.values() if s.value is None)
    [per_class] = [d.value for d in at.dataframe if "metric" in d.value.columns]
    assert set(per_class["metric"]) == {"precision", "recall"}
    assert (per_class["ci_low"] <= per_class["value"]).all()
    assert "name: content_type" in at.code[0].value


def test_a_grouped_slo_shows_its_groups_a_heatmap_and_the_gap(console_env):
    at = page("signal_detail", signal="sentiment")
    assert not at.exception
    with Store.open(Settings.from_env().store(console_env), clock=FixedClock(END)) as store:
        latest = {s.slo: s for s in store.latest_status("sentiment")}
        row = latest["coverage-by-language"]
        groups = store.group_statuses("sentiment", "coverage-by-language", row.at)
        recall = latest["negative-recall-by-community"]
    tables = [d.value for d in at.dataframe if "group" in d.value.columns]
    by_language = next(t for t in tables if set(t["group"]) >= {"language=en"})
    assert list(by_language["group"]) == [f"language={g.group['language']}" for g in groups]
    assert list(by_language["samples"]) == [g.samples for g in groups]
    captions = "\n".join(c.value for c in at.caption)
    assert "grouped by language · groups: " in captions
    assert "The SLI of each group per hour" in captions
    assert len(at.get("vega_lite_chart")) >= 8
    # the bias view: the gap between the best and worst community, when two are judged
    gap = recall.grouped.gap if recall.grouped else None
    text = shown_text(at)
    if gap is None:
        assert "Gap between groups" not in text
    else:
        assert f"Gap between groups: {gap.difference:.3f}" in text


def test_the_drift_report_is_drawn_from_the_kept_samples_when_asked(console_env):
    kept = console_env / "reports" / "content_type" / "input-drift"
    assert (kept / "current.parquet").exists()
    at = page("signal_detail", signal="content_type")
    assert not (kept / "report.html").exists()  # nothing drawn until someone asks
    at.toggle(key="drift-report-content_type-input-drift").set_value(True).run()
    assert not at.exception
    html = (kept / "report.html").read_text()
    assert "Drift in column" in html and "text_len" in html


def test_signal_page_shows_the_judge_its_agreement_and_cost(console_env):
    import json
    from datetime import timedelta

    from console import common
    from evaluation.judge import Verdict
    from evaluation.labels import record
    from sigwatch.store import to_epoch

    page_before = page("signal_detail", signal="content_type")
    assert any("has not been calibrated" in i.value for i in page_before.info)
    judge_based = [
        c.value
        for c in page_before.caption
        if c.value.startswith(":material/smart_toy: judge-based")
    ]
    assert len(judge_based) == 1  # review-precision-judged, and only it
    with Store.open(Settings.from_env().store(console_env), clock=FixedClock(END)) as store:
        rates = {"cls": "review", "tp": 40, "fn": 10, "tn": 90, "fp": 10}
        store.judge.put_calibration(
            CalibrationRow(
                "content_type",
                "judge-x",
                "v1-abc",
                to_epoch(END),
                150,
                2,
                0.712,
                json.dumps({"review": rates}),
                0.05,
            )
        )
        for k in range(3):
            verdict = Verdict("review", "r", 0.9, "judge-x", "v1-abc", 300, 20, 800.0, 0.25, 1)
            record(
                store,
                "content_type",
                f"i{k}",
                "monitoring",
                "judge-x",
                "v1-abc",
                verdict=verdict,
                meta={
                    "event_time": to_epoch(END - timedelta(hours=5)),
                    "predicted": "review",
                    "weight": 1.0,
                },
            )
    common.read.clear()
    at = page("signal_detail", signal="content_type")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["agreement with humans (Cohen's kappa)"] == "0.712"
    assert metrics["judge cost (7d)"] == "$0.7500" and metrics["judge calls (7d)"] == "3"
    tables = [t.value for t in at.dataframe]
    per_class = next(t for t in tables if "judge TPR" in t.columns)
    assert per_class["judge TPR"][0] == pytest.approx(0.8)
    daily = next(t for t in tables if "self-consistency" in t.columns)
    assert list(daily["calls"]) == [3]


def test_signal_page_names_an_unknown_signal(console_env):
    at = page("signal_detail", signal="nope")
    assert "Unknown signal 'nope'" in at.error[0].value


def test_trends_show_compliance_budget_incidents_cost_and_offer_csv(console_env):
    at = page("trends")
    assert not at.exception
    compliance = at.dataframe[0].value
    assert {"signal", "slo", "period", "compliance", "met"} <= set(compliance.columns)
    assert len(at.get("download_button")) == 1
    assert [h.value for h in at.header][1:] == [
        "Error budget burn-down",
        "Incidents",
        "Cost",
        "Weekly SLO review",
    ]
    # the weekly review serve posts, exported: the last full week is offered first
    week = next(s for s in at.selectbox if s.label == "Week")
    assert week.options[0] == "2026-W47"
    next(b for b in at.button if b.label == "Prepare the review").click().run()
    assert not at.exception
    assert len(at.get("download_button")) == 3
    shown = "\n".join(m.value for m in at.markdown)
    assert "# sigwatch weekly SLO review 2026-W47" in shown and "## Worst three" in shown


def test_the_trends_incidents_are_the_weekly_reviews(console_env):
    """One rule, Alert.incident: neither a ticket its page superseded nor a group's alert held
    under its signal-level one is an incident of its own, on the Trends page as in the review."""
    from console import data

    with Store.open(Settings.from_env().store(console_env), clock=FixedClock(END)) as store:
        alerts = store.alerts.alerts(include_resolved=True, limit=5000)
        shown = data.incidents(store)
    held = {a.id for a in alerts if a.inhibited_by}
    assert held, "the demo's data holds a group alert held under its signal's"
    assert set(shown["id"]) == {a.id for a in alerts if a.incident}
    assert not held & set(shown["id"])


def test_acknowledging_and_silencing_from_the_alerts_page_change_the_store(console_env):
    at = page("alert_center")
    assert not at.exception
    with Store.open(Settings.from_env().store(console_env), clock=FixedClock(END)) as store:
        firing = [a.key for a in store.alerts.open_alerts() if a.state == "firing"]
    assert firing
    # local mode: no name to type; the system user who runs the console is recorded
    me = getpass.getuser()
    ack_form = at.selectbox[0]
    ack_form.select(firing[0])
    at.button[0].click().run()
    assert f"{firing[0]} acknowledged by {me}." in shown_text(at)
    at.selectbox[1].select("sentiment")
    assert [t.label for t in at.text_input] == ["Reason", "For"]
    at.text_input[0].input("planned re-index")
    at.text_input[1].input("3h")
    at.button[1].click().run()
    assert "Silence 1 until" in shown_text(at)
    with Store.open(Settings.from_env().store(console_env), clock=FixedClock(END)) as store:
        records = store.alerts
        assert records.find(firing[0]).acknowledged_by == me
        [silence] = records.silences()
        assert (silence.signal, silence.slo, silence.author, silence.reason) == (
            "sentiment",
            None,
            me,
            "planned re-index",
        )
        outbox = records.outbox()
    assert len(at.dataframe[-1].value) == len(outbox)


def test_an_anonymous_console_records_the_name_typed(console_env, monkeypatch):
    monkeypatch.setenv("SIGWATCH_CONSOLE_MODE", "anonymous")
    at = page("alert_center")
    firing = at.selectbox[0].options[0]
    assert at.text_input[0].label == "Your name"
    at.button[0].click().run()
    assert "Say who acknowledges" in at.error[0].value
    at.text_input[0].input("ana")
    at.button[0].click().run()
    assert f"{firing} acknowledged by ana." in shown_text(at)


def test_registry_is_searchable(console_env):
    at = page("signal_registry")
    assert len(at.dataframe[0].value) == 5
    at.text_input[0].input("sentiment").run()
    assert list(at.dataframe[0].value["signal"]) == ["sentiment"]
    at.text_input[0].input("no-such-thing").run()
    assert "No signal matches 'no-such-thing'" in at.info[0].value


def test_spot_check_runs_every_model_and_refuses_text_past_the_cap(console_env, registry):
    at = page("spotcheck")
    at.text_area[0].input("Has anyone compared the Sony WH-1000XM5 with the Bose QC45?")
    at.button[0].click().run()
    predictions = at.dataframe[0].value
    assert list(predictions["signal"]) == list(registry.names)
    # Heads sharing the MiniLM embedding reuse the first one's: only some take visible time.
    assert (predictions["latency_ms"] >= 0).all() and (predictions["latency_ms"] > 0).any()
    assert (
        predictions.set_index("signal").loc["content_type", "prediction"]
        in registry.get("content_type").classes
    )
    at.text_area[0].input("x" * 2001)
    at.button[0].click().run()
    assert "the cap is 2,000" in at.error[0].value
    sample = at.dataframe[-1].value
    assert len(sample) == 25 and "human_label" in sample.columns


@pytest.mark.parametrize("name", ["overview", "signal_detail", "trends", "alert_center"])
def test_pages_say_how_to_get_data_when_there_is_none(name, tmp_path, monkeypatch):
    from console import common

    monkeypatch.setenv("SIGWATCH_DATA", str(tmp_path))
    common.read.clear()
    at = page(name)
    assert not at.exception
    assert "No evaluations yet" in at.info[0].value


@pytest.mark.parametrize("name", ["overview", "signal_detail", "trends", "alert_center"])
def test_pages_say_the_store_cannot_be_reached_without_a_traceback(name, tmp_path, monkeypatch):
    """PostgreSQL down (here: nothing listens on its port): one error naming the store, without
    its password, and the page stops there."""
    from console import common
    from tests.postgres import free_port

    port = free_port()
    monkeypatch.setenv("SIGWATCH_DATA", str(tmp_path))
    monkeypatch.setenv("SIGWATCH_STORE_URL", f"postgresql://sw:pg-secret@127.0.0.1:{port}/x")
    common.read.clear()
    at = page(name, signal="content_type")
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert error.startswith("**The store cannot be reached.** cannot connect to the store at")
    assert f":{port}" in error and "pg-secret" not in error
    assert not at.dataframe


def test_the_app_navigates_to_the_overview_by_default(console_env, address):
    address("127.0.0.1")  # as `sigwatch console` binds it
    at = AppTest.from_file(str(ROOT / "console" / "app.py"), default_timeout=180).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    # without sign-in, every page says it is in local mode
    assert any("Local mode" in c.value for c in at.caption) and not at.error


def test_an_anonymous_console_warns_on_every_page(console_env, monkeypatch):
    monkeypatch.setenv("SIGWATCH_CONSOLE_MODE", "anonymous")
    at = AppTest.from_file(str(ROOT / "console" / "app.py"), default_timeout=180).run()
    assert not at.exception
    (banner,) = at.error
    assert "No sign-in, and served to other machines" in banner.value
    assert not any("Local mode" in c.value for c in at.caption)


def test_the_overview_sparklines_are_the_hourly_sli_the_monitors_stored(console_env, registry):
    """Read from the statuses' 1-hour burn rates, not recomputed from the partial tables: the
    same values, for every SLO whose row is its own (a grouped SLO's row is its worst group's)."""
    from datetime import timedelta

    from console import data
    from monitors.history import occurrence_counts

    with Store.open(Settings.from_env().store(console_env), clock=FixedClock(END)) as store:
        spark = data.sparklines(store, registry, console_env, END, timedelta(hours=24))
    stored = {(r["signal"], r["slo"], r["t"]): r["value"] for r in spark.iter_rows(named=True)}
    compared = 0
    for signal in registry:
        plain = [s for s in signal.slos if s.grouping is None and s.sli.kind != "quality"]
        plain = [s for s in plain if s.objective.timeslice is None]
        counts = occurrence_counts(
            console_env, signal, plain, END - timedelta(hours=24), END, timedelta(hours=1)
        )
        for slo, t, good, total in counts.iter_rows():
            assert stored[(signal.name, slo, t)] == pytest.approx(good / total, abs=1e-12)
            compared += 1
    assert compared >= 24 * 10
