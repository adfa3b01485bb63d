"""The README's watchdog rules, the way a platform team would load them: ``promtool check rules``
passes, and ``promtool test rules`` (Prometheus' own rule engine, offline) shows them page when
sigwatch stops answering or stops completing good runs, and stay quiet while it works."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
NAME = "sigwatch-watchdog.rules.yaml"


def readme_rules() -> str:
    """The YAML block of the README that names itself ``sigwatch-watchdog.rules.yaml``."""
    text = (ROOT / "README.md").read_text()
    blocks = text.split("```yaml\n")[1:]
    [block] = [b.split("```")[0] for b in blocks if b.startswith(f"# {NAME}")]
    return block


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / NAME
    path.write_text(readme_rules())
    return path


def test_promtool_checks_the_readme_rules(rules):
    run = subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS: 2 rules found" in run.stdout


DOWN = {"severity": "page", "job": "sigwatch", "instance": "127.0.0.1:9465"}
CASES = {
    "interval": "1m",
    "input_series": [
        # serve answers for 3 minutes, then is killed
        {"series": 'up{job="sigwatch", instance="127.0.0.1:9465"}', "values": "1 1 1 0x10"},
        # content_type: a good run every 5 minutes until minute 10, then none (times in s)
        {
            "series": 'sigwatch_monitor_last_success_timestamp_seconds{signal="content_type"}',
            "values": "0 0 0 0 0 300 300 300 300 300 600x40",
        },
        # sentiment keeps running
        {
            "series": 'sigwatch_monitor_last_success_timestamp_seconds{signal="sentiment"}',
            "values": "0+60x50",
        },
    ],
    "alert_rule_test": [
        {"eval_time": "3m", "alertname": "SigwatchDown", "exp_alerts": []},  # pending
        {"eval_time": "4m", "alertname": "SigwatchDown", "exp_alerts": []},
        {"eval_time": "5m", "alertname": "SigwatchDown", "exp_alerts": [{"exp_labels": DOWN}]},
        # 600 s + 900 s: stalled from minute 25, paging from minute 30 (for: 5m)
        {"eval_time": "29m", "alertname": "SigwatchMonitorStalled", "exp_alerts": []},
        {
            "eval_time": "31m",
            "alertname": "SigwatchMonitorStalled",
            "exp_alerts": [{"exp_labels": {"severity": "page", "signal": "content_type"}}],
        },
    ],
}
NEVER_SCRAPED = {
    "interval": "1m",
    "input_series": [{"series": 'up{job="other"}', "values": "1x10"}],
    "alert_rule_test": [
        {"eval_time": "1m", "alertname": "SigwatchDown", "exp_alerts": []},
        {
            "eval_time": "3m",
            "alertname": "SigwatchDown",
            "exp_alerts": [{"exp_labels": {"severity": "page", "job": "sigwatch"}}],
        },
    ],
}


def _with_annotations(case: dict, rules: dict) -> dict:
    """Each expected alert with its rule's annotations, as promtool compares them."""
    said = {r["alert"]: r["annotations"] for g in rules["groups"] for r in g["rules"]}
    for check in case["alert_rule_test"]:
        for alert in check["exp_alerts"]:
            summary = said[check["alertname"]]["summary"]
            signal = alert["exp_labels"].get("signal", "")
            alert["exp_annotations"] = {"summary": summary.replace("{{ $labels.signal }}", signal)}
    return case


def test_the_rules_page_when_sigwatch_stops_and_not_before(rules, tmp_path):
    tests = tmp_path / "watchdog.test.yaml"
    loaded = yaml.safe_load(rules.read_text())
    for case in (CASES, NEVER_SCRAPED):
        _with_annotations(case, loaded)
    plan = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": [CASES]}
    plan["tests"].append(NEVER_SCRAPED)
    tests.write_text(yaml.safe_dump(plan, sort_keys=False))
    run = subprocess.run([PROMTOOL, "test", "rules", str(tests)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout
