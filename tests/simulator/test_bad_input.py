"""Bad scenarios and data folders get clear errors, and nothing is half-written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from sigwatch.cli import app
from simulator import run as run_module
from simulator.run import SimulationError, simulate
from simulator.scenario import ScenarioError
from tests.conftest import DEFINITIONS
from tests.simulator.conftest import END


def write(tmp_path, text):
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_an_unknown_signal_and_kind_are_named_with_what_is_allowed(registry, tmp_path):
    path = write(
        tmp_path,
        "incidents:\n"
        "  - signal: content-type\n    kind: outage\n    start: 1d\n    duration: 1h\n"
        "  - signal: sentiment\n    kind: meltdown\n    start: 1d\n    duration: 1h\n",
    )
    with pytest.raises(ScenarioError) as info:
        simulate(registry, tmp_path / "data", days=7, seed=1, end=END, scenario=path)
    problems = info.value.problems
    assert f"{path}:2: incidents[0].signal: unknown signal 'content-type'; allowed: " in problems[0]
    assert "content_type" in problems[0]
    assert (
        f"{path}:7: incidents[1].kind: unknown incident kind 'meltdown'; allowed: " in problems[1]
    )
    assert not (tmp_path / "data" / "predictions").exists()


def test_a_window_outside_the_simulated_range_is_refused(registry, tmp_path):
    path = write(
        tmp_path,
        "incidents:\n  - signal: sentiment\n    kind: outage\n    start: 6d\n    duration: 2d\n",
    )
    with pytest.raises(ScenarioError, match="is outside the simulated range; allowed: within"):
        simulate(registry, tmp_path / "data", days=7, seed=1, end=END, scenario=path)


def test_bad_params_and_times_are_each_reported(registry, tmp_path):
    path = write(
        tmp_path,
        "incidents:\n"
        "  - signal: sentiment\n    kind: coverage_drop\n    start: yesterday\n    duration: 1h\n"
        "    params: {abstain_share: 3, speed: 2}\n",
    )
    with pytest.raises(ScenarioError) as info:
        simulate(registry, tmp_path / "data", days=7, seed=1, end=END, scenario=path)
    text = "\n".join(info.value.problems)
    assert "incidents[0].start: cannot read 'yesterday'; allowed: an offset like 2d6h" in text
    assert (
        "incidents[0].params.abstain_share: 3 is out of range; allowed: a number in [0, 1]" in text
    )
    assert (
        "incidents[0].params.speed: unknown parameter for coverage_drop; allowed: abstain_share"
        in text
    )


def test_a_scenario_file_that_does_not_exist_is_named(registry, tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        simulate(registry, tmp_path, days=7, seed=1, end=END, scenario=tmp_path / "nope.yaml")


def test_a_data_folder_that_is_not_writable_is_refused(registry, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SimulationError, match=r"is not writable .*allowed: a folder you can write"):
        simulate(registry, blocker / "data", days=7, seed=1, end=END, scenario="none")


def test_the_default_scenario_needs_a_week(registry, tmp_path):
    with pytest.raises(ScenarioError, match="at least 7 days, got 3; allowed: --days 7 or more"):
        simulate(registry, tmp_path, days=3, seed=1, end=END)


def test_a_failing_run_leaves_the_previous_data_untouched(
    registry, corpus_cache, tmp_path, monkeypatch
):
    data = tmp_path / "data"
    simulate(
        registry, data, days=1, seed=1, end=END, rate=500, scenario="none", cache_dir=corpus_cache
    )
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(run_module.MetricsAccumulator, "write", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        simulate(
            registry,
            data,
            days=1,
            seed=2,
            end=END + timedelta(days=1),
            rate=500,
            scenario="none",
            cache_dir=corpus_cache,
        )
    after = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in data.iterdir() if p.name.startswith(".simulate-")]


def test_the_cli_prints_scenario_problems_and_exits_1(tmp_path):
    path = write(tmp_path, "incidents: [{signal: nope, kind: outage, start: 1d, duration: 1h}]\n")
    result = CliRunner().invoke(
        app,
        ["simulate", "--data", str(tmp_path), "--scenario", str(path), "-d", str(DEFINITIONS)],
    )
    assert result.exit_code == 1
    assert "incidents[0].signal: unknown signal 'nope'" in result.stdout
