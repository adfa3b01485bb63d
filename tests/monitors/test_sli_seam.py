"""The SLI seam (docs/adding-an-sli-kind.md): every kind the YAML accepts has one model class,
one registered calculation of the right budgeting with its hooks, and an example SLO that
loads, validates and round-trips; nothing outside a kind switches on its name."""

from __future__ import annotations

import ast
import inspect
from dataclasses import fields

import pytest
import yaml

from monitors.slis import calculation, registered
from monitors.slis.base import Calculation, OccurrenceCalculation, TimesliceCalculation
from sigwatch.kinds import SLI_SPECS, SLIKind, SliSpec
from sigwatch.model import Budgeting
from sigwatch.registry import to_model, to_spec
from sigwatch.validation import check_file
from tests.conftest import ROOT


def _model_classes(base=SLIKind) -> set[type]:
    """The kinds ``sigwatch.kinds`` declares (a class a test defines is left out)."""
    found = set()
    for sub in base.__subclasses__():
        if sub.__module__ == "sigwatch.kinds":
            found.add(sub)
        found |= _model_classes(sub)
    return found


def _document(kind: str, spec: type[SliSpec]) -> dict:
    task = "score" if "score" in spec.model.tasks and len(spec.model.tasks) == 1 else "multiclass"
    signal = {
        "name": "every",
        "description": "one SLO of a kind",
        "owner": "team",
        "oncall": "#oncall",
        "task": task,
        "model": {"id": "m", "version": "1"},
    }
    if task == "multiclass":
        signal["classes"] = ["a", "b"]
        signal["judge"] = {"labels": {"a": "an a", "b": "a b"}}
    example = {**spec.example, "sli": {**spec.example["sli"], "kind": kind}}
    return {"version": "sigwatch/v1", "signal": signal, "slos": [{"name": "x", **example}]}


def test_every_model_class_has_one_calculation_of_its_budgeting():
    calculations = registered()
    assert set(calculations) == _model_classes()
    for model, calc in calculations.items():
        expected = {
            Budgeting.OCCURRENCES: OccurrenceCalculation,
            Budgeting.TIMESLICES: TimesliceCalculation,
        }[model.budgeting]
        assert isinstance(calc, expected), f"{model.__name__}: {type(calc).__name__}"


@pytest.mark.parametrize("kind", sorted(SLI_SPECS))
def test_every_yaml_kind_validates_loads_round_trips_and_has_a_calculation(kind, tmp_path):
    spec = SLI_SPECS[kind]
    path = tmp_path / "every.yaml"
    path.write_text(yaml.safe_dump(_document(kind, spec), sort_keys=False))
    checked = check_file(path)
    assert checked.problems == [], [str(p) for p in checked.problems]
    signal = to_model(checked.document)
    sli = signal.slos[0].sli
    assert sli.kind == kind and isinstance(sli, spec.model)
    assert to_model(to_spec(signal)) == signal
    assert isinstance(calculation(sli), Calculation)
    if kind == "precision":  # the judged variant maps to its own model and calculation
        judged = {**spec.example["sli"], "labels": "judge"}
        doc = _document(kind, spec)
        doc["slos"][0]["sli"] = judged
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        again = to_model(check_file(path).document)
        assert again.slos[0].sli.labels == "judge"
        assert type(calculation(again.slos[0].sli)) is not type(calculation(sli))


def test_a_model_class_without_a_calculation_is_named():
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(frozen=True)
    class Orphan(SLIKind):
        kind: ClassVar[str] = "orphan"
        budgeting: ClassVar[Budgeting] = Budgeting.TIMESLICES

    with pytest.raises(KeyError, match=r"no calculation in monitors/slis.*Orphan"):
        calculation(Orphan())


def test_a_second_calculation_of_one_model_class_is_refused():
    from sigwatch.kinds import CoverageSLI

    with pytest.raises(TypeError, match="CoverageSLI is calculated by Coverage and Again"):

        class Again(OccurrenceCalculation):
            sli = CoverageSLI


def test_an_occurrence_kind_must_say_what_a_bad_row_is():
    """The hook has no silent default: a kind without it fails its first suspect search."""
    for model, calc in registered().items():
        if isinstance(calc, OccurrenceCalculation):
            assert type(calc).bad_rows is not OccurrenceCalculation.bad_rows, model.__name__
            assert type(calc).good_total is not OccurrenceCalculation.good_total
        else:
            assert type(calc).measure is not TimesliceCalculation.measure, model.__name__


def test_every_hook_is_declared_with_its_default_on_the_protocols():
    """Callers call hooks; they never look for them (no getattr/hasattr on a calculation)."""
    for path in (ROOT / "monitors").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value
                in {n for n, _ in inspect.getmembers(TimesliceCalculation)}
                | {n for n, _ in inspect.getmembers(OccurrenceCalculation)}
            ):
                raise AssertionError(f"{path.relative_to(ROOT)}:{node.lineno} looks a hook up")


KIND_NAMES = set(SLI_SPECS)
SEAM = {"sigwatch/kinds.py", "sigwatch/validation.py"}  # validation: the spec's error messages


def _kind_switches(path, base=ROOT) -> list[str]:
    """Comparisons of a value with an SLI kind's name (``kind == "latency"``, ``in
    ("coverage", ...)``), and tables keyed by kind names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names: list = []
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                if isinstance(side, ast.Constant):
                    names.append(side.value)
                elif isinstance(side, ast.Tuple | ast.List | ast.Set):
                    names += [e.value for e in side.elts if isinstance(e, ast.Constant)]
            attrs = [s.attr for s in [node.left, *node.comparators] if isinstance(s, ast.Attribute)]
            if not any(a in ("kind", "sli", "metric") for a in attrs):
                names = []
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            names = keys if len(set(keys) & KIND_NAMES) >= 2 else []
        hits = KIND_NAMES & {n for n in names if isinstance(n, str)}
        if hits:
            found.append(f"{path.relative_to(base)}:{node.lineno} {sorted(hits)}")
    return found


def test_no_code_outside_the_kinds_switches_on_a_kind_name():
    offenders = []
    for package in ("sigwatch", "monitors", "alerts", "console", "evaluation", "simulator"):
        for path in (ROOT / package).rglob("*.py"):
            if str(path.relative_to(ROOT)) in SEAM or path.is_relative_to(
                ROOT / "monitors" / "slis"
            ):
                continue
            offenders += _kind_switches(path)
    assert offenders == []


def test_the_switch_finder_sees_a_switch(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        'if slo.sli.kind == "latency":\n    pass\n'
        'VOLUME = {"coverage": "events", "drift": "rows"}\n'
        'if status == "ok":\n    pass\n'
    )
    assert _kind_switches(bad, tmp_path) == [
        "bad.py:1 ['latency']",
        "bad.py:3 ['coverage', 'drift']",
    ]


def test_a_kind_declares_its_facts_as_class_attributes_not_fields():
    for model in _model_classes():
        names = {f.name for f in fields(model)} if hasattr(model, "__dataclass_fields__") else set()
        assert not names & {"budgeting", "labelled", "spend", "groupable", "tasks"}, model
