"""Golden files for rendered Slack messages. After an intended change, regenerate with
``SIGWATCH_UPDATE_GOLDEN=1 pytest tests/alerts/test_render.py`` and review the diff."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alerts.model import Alert, Policy
from alerts.render import render_alert
from sigwatch.states import Fired, MonitorFailure, Severity, SloState, Snapshot

GOLDEN = Path(__file__).parent / "golden"
AT = datetime(2026, 11, 20, 14, 35, tzinfo=UTC)
POLICY = Policy(
    mention="<!subteam^S0ML|ml-oncall>",
    console_url="http://console.example:8501",
    runbooks_url="https://wiki.example/sigwatch/runbooks",
)

PAGE = Alert(
    id=7,
    key="content_type/coverage/page",
    signal="content_type",
    slo="coverage",
    severity="page",
    state="firing",
    started_at=AT,
    updated_at=AT,
    channel="#acu-oncall",
    burn_rates={"5m": 31.2, "1h": 18.4, "6h": 4.1},
    last_value=0.9712,
    fired="1h/5m",
    seen=Snapshot(
        sli="coverage",
        state=SloState.BREACH,
        objective=0.995,
        at=AT,
        budget_remaining=-0.12,
        samples=48211,
        fired=(Fired(Severity.PAGE, "1h/5m", 13.44, 18.4, 31.2),),
    ),
)
QUALITY = Alert(
    id=8,
    key="content_type/review-precision/ticket",
    signal="content_type",
    slo="review-precision",
    severity="ticket",
    state="firing",
    started_at=AT,
    updated_at=AT,
    channel="#acu-oncall",
    burn_rates={"1d": 10.0, "7d": 1.43},
    last_value=0.712,
    fired="slice",
    seen=Snapshot(
        sli="precision",
        state=SloState.WARNING,
        objective=0.9,
        at=AT,
        target=">= 0.85",
        ci_low=0.655,
        ci_high=0.763,
        samples=241,
        budget_remaining=0.64,
    ),
    slice=datetime(2026, 11, 20, tzinfo=UTC),
)
CASES = {
    "page_firing": PAGE,
    "page_acknowledged": replace(PAGE, state="acknowledged", acknowledged_by="ana"),
    "page_resolved": replace(PAGE, state="resolved", resolved_at=AT.replace(hour=15, minute=17)),
    "quality_ticket": QUALITY,
    "stale_signal": replace(
        PAGE,
        key="content_type/no-data/page",
        slo="no-data",
        fired=None,
        last_value=None,
        seen=replace(PAGE.seen, fired=()),
    ),
    # the pseudo-SLO is in no YAML: its runbook is the runbooks page's #monitor
    "monitor_failing": replace(
        PAGE,
        key="content_type/monitor/page",
        slo="monitor",
        fired=None,
        last_value=None,
        burn_rates={},
        seen=None,
        failure=MonitorFailure(
            reason="StoreUnavailable: lost the store at "
            "postgresql://sw:***@db:5432/sigwatch: terminating connection",
            failures=3,
            since=datetime(2026, 11, 20, 14, 25, tzinfo=UTC),
            last_ok=datetime(2026, 11, 20, 14, 20, tzinfo=UTC),
            at=AT,
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_message_matches_its_golden_file(name, registry):
    alert = CASES[name]
    text, blocks = render_alert(alert, registry.get(alert.signal), POLICY)
    rendered = json.dumps({"text": text, "blocks": blocks}, indent=2, ensure_ascii=False) + "\n"
    path = GOLDEN / f"{name}.json"
    if os.environ.get("SIGWATCH_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"missing golden file {path}; run with SIGWATCH_UPDATE_GOLDEN=1"
    assert rendered == path.read_text()


def test_messages_fit_slack_limits(registry):
    for alert in CASES.values():
        text, blocks = render_alert(alert, registry.get(alert.signal), POLICY)
        assert len(blocks) <= 50 and len(text) <= 3000
        header = blocks[0]["text"]["text"]
        assert len(header) <= 150
        for block in blocks:
            assert len(block.get("fields", [])) <= 10
