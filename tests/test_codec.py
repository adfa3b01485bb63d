"""The typed values of a status, a measurement and an alert: stored and read back equal, in the
JSON earlier versions wrote, and read by string nowhere but ``sigwatch.store.codec``."""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sigwatch.clock import FixedClock
from sigwatch.states import (
    AlertingGroup,
    AlertState,
    EstimateCheck,
    Fired,
    Gap,
    GapSide,
    GroupSummary,
    LabelledSlice,
    ListedGroup,
    MonitorFailure,
    Notified,
    Outcome,
    Severity,
    SliceCost,
    SliceEstimate,
    SloState,
    Snapshot,
    Suspect,
    Verdict,
    VerdictFrom,
)
from sigwatch.store import Measurement, SloStatus, Store, codec
from sigwatch.store.alerts import Alert
from tests.sql import query

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
HOSTILE = '<!channel> *x* "quoted" é'
SUSPECT = Suspect("community", HOSTILE, 0.78, 0.09, 78, 900)
FIRED = Fired(Severity.PAGE, "1h/5m", 14.4, 22.0, 30.5)
GROUP = {"community": HOSTILE}


def grouped_status() -> SloStatus:
    side = GapSide(GROUP, 0.61, 0.55, 0.67, 240, T0 - timedelta(days=1))
    return SloStatus(
        signal="content_type",
        slo="review-precision-by-community",
        at=T0,
        sli="precision",
        state=SloState.BREACH,
        objective=0.9,
        evaluated_at=T0,
        window_end=T0,
        value=0.61,
        target=">= 0.8",
        fired=[FIRED],
        slice=T0 - timedelta(days=1),
        suspects=(SUSPECT,),
        grouped=GroupSummary(
            by=("community",),
            counts={SloState.BREACH: 1, SloState.OK: 5, SloState.INSUFFICIENT_LABELS: 2},
            alerting=(
                AlertingGroup(
                    GROUP, SloState.BREACH, Severity.PAGE, None, 0.61, T0 - timedelta(days=1)
                ),
                AlertingGroup({"community": "audio"}, SloState.WARNING, Severity.TICKET, 3.0, 0.7),
            ),
            worst=GROUP,
            unknown=({"community": "new"},),
            gap=Gap(
                best=GapSide({"community": "audio"}, 0.92, 0.9, 0.94, 800, T0),
                worst=side,
                difference=0.31,
                ci_low=0.25,
                ci_high=0.37,
                method="newcombe",
            ),
        ),
        details={"bad_slices": 3, "slices_in_window": 28},
    )


def test_a_status_is_read_back_as_it_was_written(store_url):
    status = grouped_status()
    with Store.open(store_url, clock=FixedClock(T0)) as store:
        store.put_status([status])
        [back] = store.status_history(status.signal, status.slo)
    assert back == status


def test_a_quality_status_keeps_its_estimate_and_labelled_slices(store_url):
    """What judged the slice shown, its estimate with its verdict, and the slices the labels
    judge (what settles an estimate's alert)."""
    status = replace(
        grouped_status(),
        grouped=None,
        verdict_from=VerdictFrom.CBPE,
        estimated=SliceEstimate("cbpe", 0.71, 0.65, 0.77, 3000, verdict=Verdict.BAD),
        labelled=(LabelledSlice(T0 - timedelta(days=1), Verdict.GOOD, 0.9, 0.85, 0.94, 212),),
    )
    with Store.open(store_url, clock=FixedClock(T0)) as store:
        store.put_status([status])
        [back] = store.status_history(status.signal, status.slo)
    assert back == status and back.estimated.verdict is Verdict.BAD


def test_a_measurement_keeps_its_verdict_cost_and_estimate(store_url):
    cost = SliceCost(12.5, 40_000, 2.5, "logs", 0.125)
    m = Measurement(
        signal="content_type",
        slo="cost",
        start=T0,
        end=T0 + timedelta(days=1),
        sli="cost_per_1k",
        evaluated_at=T0,
        value=0.3125,
        samples=40_000,
        verdict=Verdict.BAD,
        cost=cost,
        estimated=SliceEstimate("cbpe", 0.71, 0.65, 0.77, 3000),
        details={"measured_until": T0.isoformat()},
    )
    with Store.open(store_url, clock=FixedClock(T0)) as store:
        store.put_measurements([m])
        [back] = store.measurements("content_type", "cost")
        [(start, verdict)] = store.history.verdicts("content_type", "cost", T0 + timedelta(days=2))
    assert back == m and back.cost.per_1k == pytest.approx(0.3125)
    assert (start, verdict) == (T0, Verdict.BAD)


def alert(**kw) -> Alert:
    base = dict(
        id=None,
        key="content_type/review-precision-by-community/page",
        signal="content_type",
        slo="review-precision-by-community",
        severity=Severity.PAGE,
        state=AlertState.RESOLVED,
        started_at=T0,
        updated_at=T0,
        channel="#oncall",
        burn_rates={"1h": 22.0},
        seen=Snapshot(
            sli="precision",
            state=SloState.BREACH,
            objective=0.9,
            at=T0,
            target=">= 0.8",
            budget_remaining=-0.5,
            ci_low=0.55,
            ci_high=0.67,
            samples=240,
            fired=(FIRED,),
        ),
        slice=T0 - timedelta(days=1),
        suspects=(SUSPECT,),
        groups=(
            ListedGroup(GROUP, Severity.PAGE, 22.0, 0.61),
            ListedGroup({"community": "audio"}, Severity.PAGE, None, 0.7, T0),
        ),
        inhibited_by="content_type/coverage/page",
        tail=True,
        resolved_at=T0,
        notified=Notified(AlertState.FIRING, Severity.PAGE, 22.0, (HOSTILE, "audio")),
        notified_at=T0,
    )
    return Alert(**{**base, **kw})


def test_an_alert_is_read_back_as_it_was_written(store_url):
    failing = alert(
        key="content_type/monitor/page",
        slo="monitor",
        seen=None,
        slice=None,
        suspects=(),
        groups=None,
        inhibited_by=None,
        tail=False,
        failure=MonitorFailure("LogError: <b>bad</b>", 5, T0 - timedelta(hours=1), None, T0),
        notified=None,
    )
    estimated = alert(
        key="content_type/review-precision/ticket",
        slo="review-precision",
        severity=Severity.TICKET,
        seen=replace(alert().seen, verdict_from=VerdictFrom.CBPE),
        estimate=EstimateCheck(
            VerdictFrom.CBPE,
            T0 - timedelta(days=1),
            0.71,
            0.65,
            0.77,
            Outcome.CONFIRMED,
            LabelledSlice(T0 - timedelta(days=1), Verdict.BAD, 0.7, 0.64, 0.76, 212),
        ),
        notified=Notified(AlertState.FIRING, Severity.TICKET, 0.0, None, Outcome.CONFIRMED),
    )
    with Store.open(store_url, clock=FixedClock(T0)) as store:
        written = [store.alerts.save(a) for a in (alert(), failing, estimated)]
        back = [store.alerts.find(str(a.id)) for a in written]
        [notified_state] = query(store, "SELECT notified_state FROM alerts WHERE id = ?", (1,))
    assert back == written
    assert notified_state == ("firing",)  # the column the unannounced query filters on


def test_the_json_is_the_one_earlier_versions_wrote():
    """Rows written before the values were typed are read by the same keys: the JSON of a
    grouped status and of an alert is pinned here, key for key."""
    status = codec.status_details(grouped_status())
    assert status["slice"] == "2026-11-25T12:00:00+00:00"
    assert status["suspects"] == [
        {
            "dimension": "community",
            "value": HOSTILE,
            "bad_share": 0.78,
            "traffic_share": 0.09,
            "bad": 78,
            "events": 900,
        }
    ]
    assert status["group_by"] == ["community"] and status["worst"] == GROUP
    assert status["groups"] == {"breach": 1, "ok": 5, "insufficient_labels": 2}
    assert status["alerting"][0] == {
        "group": GROUP,
        "state": "breach",
        "severity": "page",
        "burn": None,
        "value": 0.61,
        "slice": "2026-11-25T12:00:00+00:00",
    }
    assert status["unknown"] == [{"community": "new"}]
    assert set(status["gap"]) == {"best", "worst", "difference", "ci_low", "ci_high", "method"}
    stored = json.loads(json.dumps(codec.alert_details(alert()), default=str))
    assert stored["groups"][1] == {
        "group": {"community": "audio"},
        "severity": "page",
        "burn": None,
        "value": 0.7,
        "clear_since": T0.isoformat(),
    }
    assert stored["fired"] == [
        {"severity": "page", "rule": "1h/5m", "factor": 14.4, "long_burn": 22.0, "short_burn": 30.5}
    ]
    assert stored["inhibited_by"] == "content_type/coverage/page" and stored["tail"] is True
    assert (stored["sli"], stored["state"], stored["at"]) == ("precision", "breach", T0.isoformat())


# --- no protocol key read by string outside the codec --------------------------------------

SOURCES = ("alerts", "monitors", "console", "sigwatch", "evaluation", "inference", "bench")
# Only statuses and measurements still have ``details``: their protocol keys are never read
# from it. Keys no other dict of the code base uses are not read by string anywhere.
DETAILS_KEYS = frozenset({*codec.STATUS_KEYS, *codec.MEASUREMENT_KEYS})
OWN_KEYS = frozenset(
    {*codec.STATUS_KEYS, "verdict", "inhibited_by", "tail", "clear_since", "bad_share"}
    | {"traffic_share", "last_ok", "long_burn", "short_burn", "external_cost_usd"}
) - {"groups"}  # a word other dicts use too (a spec's, the alert's fields in the lifecycle)


def _reads(tree: ast.AST):
    """``(key, on_details, line)`` for every ``x[K]``, ``x.get(K…)`` and ``K in x`` with a
    string constant K; ``on_details`` when x is a ``.details`` attribute."""

    def details(node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "details"

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield key.value, details(node.value), node.lineno
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value, details(node.func.value), node.lineno
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
            and isinstance(node.ops[0], ast.In | ast.NotIn)
        ):
            yield node.left.value, details(node.comparators[0]), node.lineno


def protocol_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{line}: {key!r}"
        for key, on_details, line in _reads(tree)
        if key in OWN_KEYS or (on_details and key in DETAILS_KEYS)
    ]


def test_no_protocol_key_is_read_by_string_outside_the_codec():
    codec_file = ROOT / "sigwatch" / "store" / "codec.py"
    found = [
        read
        for folder in SOURCES
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != codec_file
        for read in protocol_reads(path)
    ]
    assert found == []


def test_the_check_sees_a_protocol_read(tmp_path):
    """The scan above would see the reads it forbids (it is not vacuous)."""
    (tmp_path / "x.py").write_text(
        "a = status.details['worst']\nb = alert.details.get('groups')\n"
        "c = 'slice' in s.details\nd = row['inhibited_by']\ne = frame['value']\n"
    )
    tree = ast.parse((tmp_path / "x.py").read_text())
    flagged = sorted(
        (key, line)
        for key, on_details, line in _reads(tree)
        if key in OWN_KEYS or (on_details and key in DETAILS_KEYS)
    )
    assert flagged == [("groups", 2), ("inhibited_by", 4), ("slice", 3), ("worst", 1)]
