"""The command line: help everywhere, registry listing, schema, and the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sigwatch.cli import app
from tests.conftest import DEFINITIONS, FIXTURES, ROOT

runner = CliRunner()
COMMANDS = (
    "validate",
    "schema",
    "registry",
    "simulate",
    "train",
    "monitor",
    "serve",
    "status",
    "alerts",
    "ack",
    "silence",
    "digest",
    "console",
    "demo",
    "judge",
    "distill",
    "prune",
    "slices",
    "calibrate",
    "store",
    "report",
)


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(command):
    args = [command, "--help"] if command else ["--help"]
    result = runner.invoke(app, args, env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    if command is None:
        for name in COMMANDS:
            assert name in result.output
        assert "SIGWATCH_SLACK_TOKEN" in result.output


def test_only_working_commands_are_registered():
    # simulate, monitor, serve, status, alerts, console and demo arrive with their features.
    assert set(typer.main.get_command(app).commands) == set(COMMANDS)


def test_registry_table_lists_every_signal_and_slo(registry):
    result = runner.invoke(app, ["registry", "-d", str(DEFINITIONS)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert len(registry.slos) > 30
    assert f"5 signals, {len(registry.slos)} SLOs" in result.output
    for name in ("content_type", "sentiment", "product_entities", "product_category"):
        assert name in result.output
    assert "review-precision" in result.output
    assert ">= 0.85 in 90% of 1d slices over 28d" in result.output


def test_registry_json_is_the_spec_of_every_signal():
    result = runner.invoke(app, ["registry", "--json", "-d", str(DEFINITIONS)])
    assert result.exit_code == 0, result.output
    signals = json.loads(result.stdout)
    assert [s["signal"]["name"] for s in signals] == [
        "commercial_intent",
        "content_type",
        "product_category",
        "product_entities",
        "sentiment",
    ]
    content_type = signals[1]
    assert content_type["file"] == str(DEFINITIONS / "content_type.yaml")
    assert content_type["signal"]["oncall"] == "#acu-oncall"
    precision = next(s for s in content_type["slos"] if s["name"] == "review-precision")
    assert precision["sli"] == {
        "kind": "precision",
        "class": "review",
        "min_labels": 50,
        "estimate": {"method": "cbpe", "reference": {"previous": "28d"}},
    }
    assert precision["target"] == ">= 0.85" and precision["timeslice"] == "1d"


def test_registry_refuses_broken_definitions_and_lists_the_problems():
    result = runner.invoke(app, ["registry", "-d", str(FIXTURES / "duplicate_signal")])
    assert result.exit_code == 1
    assert "also defined in" in result.stdout
    assert "sigwatch validate" in result.stderr


def test_schema_prints_json_schema():
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["properties"]["version"]["const"] == "sigwatch/v1"
    assert schema["additionalProperties"] is False


def test_the_installed_entry_point_exits_1_on_a_bad_file_and_0_on_the_registry():
    exe = Path(sys.executable).parent / "sigwatch"
    env = {**os.environ, "SIGWATCH_DEFINITIONS": str(DEFINITIONS)}
    bad = FIXTURES / "bad" / "class_not_in_classes.yaml"
    failed = subprocess.run(
        [exe, "validate", bad], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert failed.returncode == 1
    assert f"{bad}:14: sentiment_x/neutral-precision: slos[0].sli.class:" in failed.stdout
    ok = subprocess.run([exe, "validate"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "all valid" in ok.stderr


def test_help_shows_the_defaults_of_options_taken_from_the_environment():
    result = runner.invoke(app, ["monitor", "--help"], env={"COLUMNS": "200"})
    assert "[default: $SIGWATCH_DATA or ./var]" in result.output
    assert "[default: $SIGWATCH_DEFINITIONS or ./slo_definitions]" in result.output


AT_COMMANDS = [
    line.split()
    for line in (
        "monitor",
        "status",
        "alerts",
        "ack",
        "silence add",
        "silence list",
        "silence end",
        "digest",
        "console",
        "judge calibrate",
        "judge run",
        "judge report",
        "distill",
    )
]


@pytest.mark.parametrize("command", AT_COMMANDS, ids=" ".join)
def test_every_command_that_reads_the_clock_takes_an_explicit_time(command):
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "--at" in result.output


def test_status_json_flags_a_spent_budget_whatever_the_state(default_scenario):
    _, store = default_scenario
    shown = runner.invoke(app, ["status", "--json", "--data", str(store.parent)])
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.output)
    for row in rows:
        spent = row["budget_remaining"] is not None and row["budget_remaining"] <= 0
        assert row["budget_exhausted"] is spent, row
    assert any(r["budget_exhausted"] and r["state"] == "ok" for r in rows), (
        "the scenario leaves an SLO ok now with its budget spent"
    )
    text = runner.invoke(app, ["status", "--data", str(store.parent)], env={"COLUMNS": "200"})
    assert "spent" in text.output


def test_status_at_a_time_shows_the_state_as_it_was_then(default_scenario, tmp_path):
    """The commercial_intent outage pages while it lasts; `status --at` a moment inside it
    shows the breach, the latest status (days later) does not."""
    from datetime import datetime, timedelta

    result, store = default_scenario
    (outage,) = [i for i in result.incidents if i["kind"] == "outage"]
    inside = datetime.fromisoformat(outage["start"]) + timedelta(minutes=30)

    def coverage(*args: str) -> dict:
        args = ["status", "--json", "-s", "commercial_intent", *args, "--data", str(store.parent)]
        shown = runner.invoke(app, args)
        assert shown.exit_code == 0, shown.output
        (row,) = [r for r in json.loads(shown.output) if r["slo"] == "coverage"]
        return row

    then = coverage("--at", inside.isoformat())
    assert then["state"] == "breach" and then["fired"]
    assert datetime.fromisoformat(then["window_end"]) <= inside
    assert coverage()["state"] != "breach"
    before = runner.invoke(app, ["status", "--at", "2020-01-01", "--data", str(store.parent)])
    assert before.exit_code == 0 and "no evaluation at or before 2020-01-01 00:00" in before.output


def test_the_console_refuses_another_address_without_sign_in_unless_told():
    refused = runner.invoke(app, ["console", "--host", "0.0.0.0", "--port", "1"])
    said = " ".join(refused.output.split())
    assert refused.exit_code == 2
    assert "refusing to serve the console on 0.0.0.0 without sign-in" in said
    assert "--allow-anonymous" in said


SIGNIN_ENV = {
    "SIGWATCH_OIDC_METADATA_URL": "https://id.example.com/.well-known/openid-configuration",
    "SIGWATCH_OIDC_CLIENT_ID": "sigwatch",
    "SIGWATCH_OIDC_CLIENT_SECRET": "client-secret-never-printed",
    "SIGWATCH_CONSOLE_COOKIE_SECRET": "cookie-secret-never-printed",
    "SIGWATCH_CONSOLE_URL": "https://sigwatch.example.com/",
}


def test_sign_in_from_the_environment_is_written_for_streamlit_privately_and_removed():
    import stat
    import tomllib

    from sigwatch.cli.signin import configured

    with configured(None, SIGNIN_ENV, places=[]) as signin:
        assert signin.describe().startswith("sign-in through id.example.com (OIDC")
        mode = stat.S_IMODE(signin.secrets.stat().st_mode)
        assert mode == 0o600 and stat.S_IMODE(signin.secrets.parent.stat().st_mode) == 0o700
        auth = tomllib.loads(signin.secrets.read_text())["auth"]
        assert auth["redirect_uri"] == "https://sigwatch.example.com/oauth2callback"
        assert auth["client_secret"] == "client-secret-never-printed"
        assert "never-printed" not in signin.describe()
    assert not signin.secrets.exists() and not signin.secrets.parent.exists()
    with configured(None, {}, places=[]) as nothing:
        assert nothing is None


@pytest.mark.parametrize(
    ("secrets", "env", "message"),
    [
        (
            None,
            {"SIGWATCH_OIDC_CLIENT_ID": "x"},
            "environment: sign-in is configured by "
            "SIGWATCH_OIDC_CLIENT_ID but SIGWATCH_OIDC_METADATA_URL, SIGWATCH_OIDC_CLIENT_SECRET, "
            "SIGWATCH_CONSOLE_COOKIE_SECRET, SIGWATCH_CONSOLE_URL are not set",
        ),
        ("[server]\nport = 1\n", {}, "no [auth] section"),
        ('[auth]\nredirect_uri = "https://x/oauth2callback"\n', {}, "[auth] needs cookie_secret"),
        ('[auth]\nredirect_uri = "r"\ncookie_secret = "c"\n', {}, "[auth] names no provider"),
        (
            '[auth]\nredirect_uri = "r"\ncookie_secret = "c"\n[auth.google]\nclient_id = "i"\n',
            {},
            "[auth.google] needs client_secret, server_metadata_url",
        ),
        ("[auth\n", {}, "not TOML"),
    ],
    ids=[
        "partial environment",
        "no auth",
        "no cookie secret",
        "no provider",
        "provider lacks keys",
        "not toml",
    ],
)
def test_sign_in_configured_but_unusable_is_refused_naming_what_is_missing(
    tmp_path, monkeypatch, secrets, env, message
):
    for name in SIGNIN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = ["console", "--port", "1"]
    if secrets is not None:
        path = tmp_path / "secrets.toml"
        path.write_text(secrets)
        args += ["--secrets", str(path)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2, refused.output
    assert message in " ".join(refused.output.split())
