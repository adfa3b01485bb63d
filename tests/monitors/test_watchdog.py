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
    assert "SUCCESS: 3 rules found" in run.stdout


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
STORE = {"severity": "page", "job": "sigwatch", "instance": "127.0.0.1:9465"}
STORE_AWAY = {
    "interval": "1m",
    "input_series": [
        {"series": 'up{job="sigwatch", instance="127.0.0.1:9465"}', "values": "1x40"},
        # serve answers throughout; the store is away from minute 10 to minute 17
        {
            "series": 'sigwatch_store_up{job="sigwatch", instance="127.0.0.1:9465"}',
            "values": "1x9 0x7 1x20",
        },
    ],
    "alert_rule_test": [
        {"eval_time": "9m", "alertname": "SigwatchStoreUnreachable", "exp_alerts": []},
        {"eval_time": "14m", "alertname": "SigwatchStoreUnreachable", "exp_alerts": []},
        {
            "eval_time": "16m",
            "alertname": "SigwatchStoreUnreachable",
            "exp_alerts": [{"exp_labels": STORE}],
        },
        {"eval_time": "18m", "alertname": "SigwatchStoreUnreachable", "exp_alerts": []},
        {"eval_time": "16m", "alertname": "SigwatchDown", "exp_alerts": []},
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
    for case in (CASES, STORE_AWAY, NEVER_SCRAPED):
        _with_annotations(case, loaded)
    plan = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": [CASES]}
    plan["tests"] += [STORE_AWAY, NEVER_SCRAPED]
    tests.write_text(yaml.safe_dump(plan, sort_keys=False))
    run = subprocess.run([PROMTOOL, "test", "rules", str(tests)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout


def _query(url: str, expr: str) -> list:
    import json
    import urllib.parse
    import urllib.request

    query = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5) as answer:
        return json.loads(answer.read())["data"]["result"]


def _until(check, seconds: float, what: str):
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"not within {seconds:.0f} s: {what}")


def test_a_real_prometheus_sees_a_killed_serve_within_the_rules_for(rules, tmp_path):
    """``sigwatch serve`` scraped by a real Prometheus (job ``sigwatch``, every second) with the
    README's rules loaded: while serve answers, SigwatchDown's expression is false; once serve
    is SIGKILLed it turns true (the alert pending) well within its ``for:`` of 2 minutes."""
    import os
    import signal as signals
    import sys
    import time

    from tests.conftest import DEFINITIONS
    from tests.postgres import free_port

    definitions = tmp_path / "definitions"
    definitions.mkdir()
    shutil.copy(DEFINITIONS / "content_type.yaml", definitions / "content_type.yaml")
    port, actions = free_port(), free_port()
    env = {**os.environ, "SIGWATCH_DEFINITIONS": str(definitions)}
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sigwatch.cli",
            "serve",
            "--data",
            str(tmp_path / "data"),
            "--port",
            str(port),
            "--actions-port",
            str(actions),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(rules)],
                "scrape_configs": [
                    {"job_name": "sigwatch", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
                ],
            }
        )
    )
    prom_port = free_port()
    prometheus = subprocess.Popen(
        [
            shutil.which("prometheus") or "/usr/bin/prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{prom_port}"
    down = yaml.safe_load(rules.read_text())["groups"][0]["rules"][0]["expr"]
    try:
        _until(lambda: _safe(lambda: _query(url, 'up{job="sigwatch"} == 1')), 180, "serve up")
        assert _query(url, down) == []  # serve answers: not down
        serve.send_signal(signals.SIGKILL)
        killed = time.monotonic()
        _until(lambda: _query(url, down), 120, "SigwatchDown's expression after the kill")
        took = time.monotonic() - killed
        pending = 'ALERTS{alertname="SigwatchDown", alertstate="pending"}'
        _until(lambda: _query(url, pending), 30, "SigwatchDown pending")
        assert took < 120  # within the rule's for: (it pages 2 minutes after this)
        print(f"SigwatchDown true {took:.1f} s after the kill")
    finally:
        serve.kill()
        serve.wait(timeout=30)
        prometheus.terminate()
        prometheus.wait(timeout=30)


def _safe(call):
    try:
        return call()
    except OSError:  # Prometheus not ready yet
        return None
