"""Every shipped definition loads; every bad fixture is refused with a message that names the
file, the line, the field and what is allowed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sigwatch.cli import app
from sigwatch.registry import DefinitionError, load_registry
from sigwatch.validation import check_file, check_paths
from sigwatch.yamlsource import MAX_BYTES
from tests.conftest import DEFINITIONS, FIXTURES

runner = CliRunner()

BAD = sorted((FIXTURES / "bad").glob("*.yaml"))
GOOD = sorted((FIXTURES / "good").glob("*.yaml"))
SHIPPED = sorted(DEFINITIONS.glob("*.yaml"))


def expectations(path: Path) -> list[str]:
    """The ``# expect: ...`` lines a bad fixture carries about its own problems."""
    return [
        m.group(1) for m in re.finditer(r"^# expect: (.+)$", path.read_text(), flags=re.MULTILINE)
    ]


def test_there_are_at_least_fifteen_bad_fixtures_each_with_expectations():
    assert len(BAD) >= 15
    assert all(expectations(p) for p in BAD), [p.name for p in BAD if not expectations(p)]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"shipped {p.name} is valid")
def test_shipped_definition_is_valid(path):
    check = check_file(path)
    assert check.problems == []
    assert check.document is not None
    assert check.document.signal.name == path.stem, "a registry file is named after its signal"


def test_the_registry_has_the_five_signals_each_with_the_five_kinds_of_slo():
    registry = load_registry(DEFINITIONS)
    assert registry.names == (
        "commercial_intent",
        "content_type",
        "product_category",
        "product_entities",
        "sentiment",
    )
    quality = {"precision", "recall", "f1", "auc"}
    for signal in registry:
        kinds = {slo.sli.kind for slo in signal.slos}
        assert {"coverage", "latency", "drift", "cost_per_1k"} <= kinds, signal.name
        assert kinds & quality, f"{signal.name} has no quality SLO"
        assert signal.owner and signal.oncall.startswith("#") and signal.consumers
    assert registry.get("content_type").classes == (
        "review",
        "recommendation_request",
        "comparison",
        "question",
        "other",
    )
    assert registry.get("product_entities").task == "entities"
    assert registry.get("commercial_intent").task == "score"


@pytest.mark.parametrize("path", GOOD, ids=lambda p: f"good fixture {p.name} is valid")
def test_good_fixture_is_valid(path):
    assert check_file(path).problems == []


@pytest.mark.parametrize("path", BAD, ids=lambda p: f"bad fixture {p.stem} is refused")
def test_bad_fixture_is_refused_with_its_message(path):
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines, "no problem printed"
    for line in lines:
        assert line.startswith(f"{path}:"), f"problem does not name the file: {line}"
        assert re.match(rf"^{re.escape(str(path))}:\d+: \S+: ", line), line
        assert "allowed" in line or "not after start" in line, f"no 'allowed' in: {line}"
    for expected in expectations(path):
        assert any(expected in line for line in lines), f"{expected!r} not in:\n{result.stdout}"


def test_a_file_with_many_problems_reports_all_of_them(tmp_path):
    bad = tmp_path / "many.yaml"
    bad.write_text(
        """version: sigwatch/v1
signal:
  name: many
  description: Several independent problems.
  owner: team-a
  oncall: "#team-a"
  task: multiclass
  classes: [a, b]
  model: {id: m, version: "1"}
  colour: blue
slos:
  - {name: one, sli: {kind: latency}, objective: 0.99, window: 7d}
  - {name: two, sli: {kind: precision, class: c}, target: ">= 0.9", timeslice: 1d,
     objective: 0.9, window: 28d}
  - {name: three, sli: {kind: coverage}, objective: 2, window: 1 week}
"""
    )
    problems = [str(p) for p in check_file(bad).problems]
    assert len(problems) == 5, problems
    assert any("signal.colour: unknown key" in p for p in problems)
    assert any(
        "many/one: slos[0].sli.threshold_ms: required field is missing" in p for p in problems
    )
    assert any("many/two: slos[1].sli.class: 'c' is not one of" in p for p in problems)
    assert any("many/three: slos[2].objective: 2 is out of range" in p for p in problems)
    assert any("many/three: slos[2].window: bad duration '1 week'" in p for p in problems)


def test_the_same_signal_in_two_files_is_refused_naming_both():
    checks = check_paths([FIXTURES / "duplicate_signal"])
    problems = [p for c in checks for p in c.problems]
    assert len(problems) == 1
    second = FIXTURES / "duplicate_signal" / "second.yaml"
    assert str(problems[0]).startswith(f"{second}:5: twin: signal.name: ")
    for expected in expectations(second):
        assert expected in str(problems[0])
    with pytest.raises(DefinitionError) as info:
        load_registry(FIXTURES / "duplicate_signal")
    assert "also defined in" in str(info.value)


def test_an_oversized_file_is_refused_before_parsing(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("# padding\n" * (MAX_BYTES // 10 + 10))
    problems = check_file(big).problems
    assert len(problems) == 1
    assert f"larger than {MAX_BYTES} bytes; allowed: at most {MAX_BYTES}" in str(problems[0])


def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("version: sigwatch/v1\ndescription: caf\xe9\n".encode("latin-1"))
    (problem,) = check_file(bad).problems
    assert str(problem) == f"{bad}:2: ?: file is not UTF-8 text; allowed: UTF-8"


def test_a_secret_value_is_never_echoed_in_the_message():
    path = FIXTURES / "bad" / "secret_in_yaml.yaml"
    result = runner.invoke(app, ["validate", str(path)])
    assert "xoxb-do-not-print-me" not in result.output


def test_validate_reads_the_definitions_folder_from_the_environment(tmp_path):
    ok = runner.invoke(app, ["validate"], env={"SIGWATCH_DEFINITIONS": str(FIXTURES / "good")})
    assert ok.exit_code == 0, ok.output
    assert f"{len(GOOD)} file(s)" in ok.stderr
    empty = runner.invoke(app, ["validate"], env={"SIGWATCH_DEFINITIONS": str(tmp_path)})
    assert empty.exit_code == 1
    assert f"no SLO files (*.yaml, *.yml) under {tmp_path}" in empty.stdout


def test_validate_names_a_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["validate", str(missing), str(FIXTURES / "good")])
    assert result.exit_code == 1
    assert f"{missing}:1: ?: no such file or folder" in result.stdout


def test_validating_the_shipped_registry_succeeds():
    result = runner.invoke(app, ["validate", str(DEFINITIONS)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "5 file(s), 5 signal(s)" in result.stderr
