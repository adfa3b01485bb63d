"""Validation of SLO files that reports every problem, each where it is and what is allowed.

Every problem prints as ``file:line: signal/slo: field: what is wrong; what is allowed``:

    slo_definitions/sentiment.yaml:27: sentiment/precision: slos[2].sli.class: 'neutrall' is not
    one of the signal's classes; did you mean 'neutral'? allowed: negative, neutral, positive

Three passes over a file: plain YAML (``sigwatch.yamlsource``), the strict spec
(``sigwatch.spec``, pydantic), and the cross-field rules below, which run on every part that
passed the spec so one bad SLO does not hide the problems of the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from sigwatch.kinds import SLI_SPECS, kinds_for
from sigwatch.model import Budgeting
from sigwatch.spec import Document, SignalSpec, SLOSpec
from sigwatch.spectypes import NAME_PATTERN, did_you_mean
from sigwatch.units import parse_duration, parse_target
from sigwatch.yamlsource import YamlDocument, YamlIssue, read_yaml

Loc = tuple[str | int, ...]


def _timeslice_kinds() -> list[str]:
    return [k for k, spec in SLI_SPECS.items() if spec.model.budgeting is Budgeting.TIMESLICES]


_SECRET_KEY = re.compile(r"token|secret|passw|webhook|api_?key|credential", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, located to a line and a field."""

    file: str
    line: int
    context: str  # "signal" or "signal/slo", "?" when unknown
    field: str  # dotted path like slos[2].sli.class, "" for the whole file
    message: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{self.file}:{self.line}: {self.context}: {where}{self.message}"


@dataclass
class FileCheck:
    """The outcome of checking one file: the document when it is valid, and every problem."""

    path: Path
    document: Document | None = None
    problems: list[Problem] = field(default_factory=list)
    yaml: YamlDocument | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_file(path: Path) -> FileCheck:
    """Check one SLO file and collect all its problems (never raises for bad content)."""
    result = FileCheck(path=path)
    try:
        doc = read_yaml(path)
    except YamlIssue as issue:
        result.problems.append(Problem(str(path), issue.line, "?", "", issue.message))
        return result
    except OSError as exc:
        result.problems.append(
            Problem(str(path), 1, "?", "", f"cannot read file: {exc.strerror}; allowed: a file")
        )
        return result
    result.yaml = doc
    raw = doc.data
    if not isinstance(raw, dict):
        result.problems.append(
            Problem(
                str(path),
                doc.line_of(()),
                "?",
                "",
                "expected a mapping; allowed: keys version, signal, slos",
            )
        )
        return result

    locator = _Locator(path, doc, raw)
    problems: list[tuple[Loc, str]] = []
    try:
        result.document = Document.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_describe(err, raw) for err in exc.errors())
    problems.extend(_cross_field_problems(raw))
    result.problems = sorted(
        {locator.problem(loc, msg) for loc, msg in problems}, key=lambda p: (p.line, p.field)
    )
    if result.problems:
        result.document = None
    return result


def check_paths(paths: Iterable[Path]) -> list[FileCheck]:
    """Check every SLO file under ``paths`` (files, or folders of ``*.yaml``/``*.yml``).

    Also checks what only the set of files can tell: the same signal defined twice.
    """
    files = list(definition_files(paths))
    checks = [check_file(p) for p in files]
    first_seen: dict[str, FileCheck] = {}
    for check in checks:
        if check.document is None:
            continue
        name = check.document.signal.name
        if name in first_seen:
            other = first_seen[name]
            assert other.yaml is not None and check.yaml is not None
            other_line = other.yaml.line_of(("signal", "name"))
            check.problems.append(
                Problem(
                    str(check.path),
                    check.yaml.line_of(("signal", "name")),
                    name,
                    "signal.name",
                    f"signal {name!r} is also defined in {other.path}:{other_line}; "
                    "allowed: each signal in one file",
                )
            )
            check.document = None
        else:
            first_seen[name] = check
    return checks


def definition_files(paths: Iterable[Path]) -> Iterable[Path]:
    """The SLO files named by ``paths``: files as given, folders searched for YAML, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        else:
            yield path


# --- locating and naming problems --------------------------------------------------------------


class _Locator:
    def __init__(self, path: Path, doc: YamlDocument, raw: dict[str, Any]) -> None:
        self.path, self.doc, self.raw = path, doc, raw

    def problem(self, loc: Loc, message: str) -> Problem:
        return Problem(
            str(self.path), self.doc.line_of(loc), self._context(loc), _field_path(loc), message
        )

    def _context(self, loc: Loc) -> str:
        signal = _get(self.raw, ("signal", "name"))
        signal = signal if isinstance(signal, str) and NAME_PATTERN.match(signal) else "?"
        if len(loc) >= 2 and loc[0] == "slos" and isinstance(loc[1], int):
            slo = _get(self.raw, ("slos", loc[1], "name"))
            return f"{signal}/{slo if isinstance(slo, str) else f'slos[{loc[1]}]'}"
        return signal


def _get(data: Any, loc: Loc) -> Any:
    for elem in loc:
        found = (isinstance(data, dict) and elem in data) or (
            isinstance(data, list) and isinstance(elem, int) and 0 <= elem < len(data)
        )
        if not found:
            return None
        data = data[elem]
    return data


def _strip_tags(loc: Sequence[str | int]) -> Loc:
    """Drop the discriminator tags pydantic inserts after ``sli`` (``('sli', 'latency', ...)``)."""
    out: list[str | int] = []
    for i, elem in enumerate(loc):
        if i > 0 and loc[i - 1] == "sli" and elem in SLI_SPECS:
            continue
        out.append(elem)
    return tuple(out)


def _field_path(loc: Loc) -> str:
    text = ""
    for elem in loc:
        text += f"[{elem}]" if isinstance(elem, int) else (f".{elem}" if text else elem)
    return text


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The spec model that a (tagged) pydantic error location points into."""
    model: type[BaseModel] | None = Document
    pending: list[type[BaseModel]] = []
    for elem in loc:
        if isinstance(elem, int):
            continue
        if pending:  # a union: the element is the discriminator tag
            model = SLI_SPECS.get(elem) if elem in SLI_SPECS else None
            pending = []
            if model is not None:
                continue
        if model is None:
            return None
        fields = {(f.alias or name): f for name, f in model.model_fields.items()}
        if elem not in fields:
            return model
        models = _models_in(fields[elem].annotation)
        if len(models) == 1:
            model = models[0]
        elif models:
            pending = models
        else:
            return model
    return model


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _describe(err: dict[str, Any], raw: dict[str, Any]) -> tuple[Loc, str]:
    """Turn one pydantic error into (location, message naming what is allowed)."""
    tagged = err["loc"]
    loc = _strip_tags(tagged)
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    description = _description(tagged)
    expected = f"; allowed: {description}" if description else ""

    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = _model_at(tagged[:-1])
        allowed = _allowed_keys(model) if model else []
        if _SECRET_KEY.search(key):
            return loc, (
                f"{key!r} looks like a secret: secrets are never read from SLO files; "
                "allowed: set it in the environment (SIGWATCH_SLACK_TOKEN, "
                "SIGWATCH_SLACK_WEBHOOK_URL) and remove it from the file"
            )
        return loc, f"unknown key {key!r}; {did_you_mean(key, allowed)}allowed: " + ", ".join(
            allowed
        )
    if kind == "missing":
        return loc, f"required field is missing{expected}"
    if kind == "union_tag_invalid":
        tag = ctx.get("tag")
        return (*loc, "kind"), (
            f"unknown SLI kind {tag!r}; {did_you_mean(str(tag), SLI_SPECS)}"
            f"allowed: {', '.join(SLI_SPECS)}"
        )
    if kind == "union_tag_not_found":
        return loc, f"the SLI has no 'kind'; allowed: {', '.join(SLI_SPECS)}"
    if kind == "literal_error":
        allowed = _plain(ctx.get("expected", ""))
        hint = did_you_mean(value, allowed.split(", ")) if isinstance(value, str) else ""
        return loc, f"{value!r} is not allowed; {hint}allowed: {allowed}"
    if kind == "value_error":
        return loc, str(ctx.get("error", err["msg"]))
    if kind == "string_type":
        hint = f' (quote it: "{value}")' if isinstance(value, int | float) else ""
        return loc, f"expected text, got {_type_name(value)} {value!r}{hint}{expected}"
    if kind in ("float_type", "int_type", "bool_type"):
        wanted = {"float_type": "a number", "int_type": "a whole number", "bool_type": "true/false"}
        return loc, f"expected {wanted[kind]}, got {_type_name(value)} {value!r}{expected}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return loc, f"{value!r} is out of range ({err['msg'].lower()}){expected}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        model = _model_at(tagged)
        keys = ", ".join(_allowed_keys(model)) if model else "keys"
        return loc, f"expected a mapping, got {_type_name(value)}; allowed: a mapping of {keys}"
    if kind == "list_type":
        return loc, f"expected a list, got {_type_name(value)}{expected}"
    if kind == "too_short":
        return loc, f"the list is empty{expected}"
    return loc, f"{err['msg']}{expected}"


def _description(tagged: Sequence[str | int]) -> str | None:
    if not tagged or isinstance(tagged[-1], int):
        return None
    model = _model_at(tagged[:-1])
    if model is None:
        return None
    for name, f in model.model_fields.items():
        if (f.alias or name) == tagged[-1]:
            return f.description
    return None


def _plain(expected: str) -> str:
    return expected.replace("'", "").replace(" or ", ", ")


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)


# --- rules across fields -------------------------------------------------------------------


def _valid(model: type[BaseModel], data: Any) -> Any:
    """``data`` as ``model`` with unknown keys dropped (already reported), or None if invalid.

    Dropping them lets the rules across fields still run on a part with a typo in one key.
    """
    if isinstance(data, dict):
        allowed = set(_allowed_keys(model))
        data = {k: v for k, v in data.items() if k in allowed}
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _cross_field_problems(raw: dict[str, Any]) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    signal = _valid(SignalSpec, raw.get("signal"))
    if signal is not None:
        problems.extend(_signal_problems(signal))
    raw_slos = raw.get("slos") if isinstance(raw.get("slos"), list) else []
    first_line_of: dict[str, int] = {}
    for i, raw_slo in enumerate(raw_slos):
        slo = _valid(SLOSpec, raw_slo)
        if slo is None:
            continue
        if slo.name in first_line_of:
            problems.append(
                (
                    ("slos", i, "name"),
                    f"duplicate SLO name {slo.name!r} (first at slos[{first_line_of[slo.name]}]); "
                    "allowed: names unique within a signal",
                )
            )
        else:
            first_line_of[slo.name] = i
        problems.extend((("slos", i, *loc), msg) for loc, msg in _slo_problems(slo, signal))
    return problems


def _signal_problems(signal: SignalSpec) -> Iterable[tuple[Loc, str]]:
    if signal.task == "score":
        if signal.classes is not None:
            yield (
                ("signal", "classes"),
                (
                    "a score signal predicts a number, not classes; allowed: remove 'classes' "
                    "(or use task multiclass)"
                ),
            )
        return
    if not signal.classes:
        yield (
            ("signal", "classes"),
            (f"a signal of task {signal.task} needs its classes; allowed: a list of class names"),
        )
        return
    if signal.task == "multiclass" and len(signal.classes) < 2:
        yield ("signal", "classes"), "a multiclass signal needs at least 2 classes"
    seen: set[str] = set()
    for i, cls in enumerate(signal.classes):
        if cls in seen:
            yield ("signal", "classes", i), f"class {cls!r} is listed twice; allowed: each once"
        seen.add(cls)
    yield from _judge_problems(signal)


def _judge_problems(signal: SignalSpec) -> Iterable[tuple[Loc, str]]:
    judge = signal.judge
    if judge is None:
        return
    if signal.task != "multiclass":
        yield (
            ("signal", "judge"),
            f"a judge rubric labels one class per post; signal {signal.name!r} has task "
            f"{signal.task!r}; allowed: task multiclass (or remove 'judge')",
        )
        return
    classes = list(signal.classes or ())
    missing = [c for c in classes if c not in judge.labels]
    unknown = [c for c in judge.labels if c not in classes]
    if missing or unknown:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unknown {', '.join(unknown)}"] if unknown else []
        )
        yield (
            ("signal", "judge", "labels"),
            f"the judge's labels must be the signal's classes ({'; '.join(parts)}); "
            f"allowed: {', '.join(classes)}",
        )
    for i, example in enumerate(judge.examples):
        if example.label not in judge.labels:
            yield (
                ("signal", "judge", "examples", i, "label"),
                f"{example.label!r} is not one of the judge's labels; "
                f"allowed: {', '.join(judge.labels)}",
            )


def _slo_problems(slo: SLOSpec, signal: SignalSpec | None) -> Iterable[tuple[Loc, str]]:
    kind = slo.sli.kind
    facts = slo.sli.model  # the kind's facts (sigwatch.model)
    window = parse_duration(slo.window)
    if facts.budgeting is Budgeting.OCCURRENCES:
        for key in ("target", "timeslice"):
            if getattr(slo, key) is not None:
                yield (
                    (key,),
                    (
                        f"a {kind} SLO counts good events over its window and takes no {key}; "
                        "allowed: objective and window only (target/timeslice are for "
                        f"{', '.join(_timeslice_kinds())})"
                    ),
                )
    else:
        if slo.target is None:
            yield (
                ("target",),
                (
                    f"a {kind} SLO judges each timeslice against a target, and it is missing; "
                    "allowed: e.g. target: '>= 0.85' or '<= 0.40'"
                ),
            )
        if slo.timeslice is None:
            yield (
                ("timeslice",),
                (
                    f"a {kind} SLO needs a timeslice, and it is missing; allowed: a duration "
                    "shorter than the window that divides it, e.g. 1d"
                ),
            )
    if slo.timeslice is not None:
        timeslice = parse_duration(slo.timeslice)
        if timeslice >= window:
            yield (
                ("timeslice",),
                (
                    f"timeslice {slo.timeslice} is not shorter than window {slo.window}; "
                    "allowed: a timeslice shorter than the window, e.g. 1d for 28d"
                ),
            )
        elif window % timeslice:
            yield (
                ("timeslice",),
                (
                    f"window {slo.window} is not a whole number of {slo.timeslice} timeslices; "
                    "allowed: a timeslice that divides the window"
                ),
            )
    if slo.target is not None and facts.ratio_target:
        target = parse_target(slo.target)
        if not 0 <= target.value <= 1:
            yield (
                ("target",),
                (
                    f"target {slo.target!r} is outside [0, 1] and {kind} is a ratio; "
                    "allowed: a number between 0 and 1"
                ),
            )
    yield from _group_problems(slo)
    if signal is not None:
        yield from _task_problems(slo, signal)
    yield from slo.sli.problems(signal)  # what the kind itself checks


def _group_problems(slo: SLOSpec) -> Iterable[tuple[Loc, str]]:
    """A group-by is bounded (``groups``), on distinct columns, of a kind that can be grouped."""
    groups, by = slo.groups, slo.group_by
    if by is None:
        if groups is not None:
            yield ("groups",), "groups without group_by; allowed: group_by: [community] with it"
        return
    if len(set(by)) < len(by):
        yield ("group_by",), f"group_by {by} names a column twice; allowed: distinct columns"
    if not slo.sli.model.groupable:  # a kind that has not said how a group is measured
        yield ("group_by",), f"a {slo.sli.kind} SLO cannot be grouped; allowed: no group_by"
    if groups is None:
        yield (
            ("group_by",),
            "group_by without groups is unbounded (a group per value ever seen); allowed: "
            "groups: {top: 20} (the largest by volume, the rest pooled) or groups: {only: [...]}",
        )
        return
    if (groups.top is None) == (groups.only is None):
        yield (
            ("groups",),
            "groups needs exactly one of top and only; allowed: {top: 20} or {only: [a, b]}",
        )
    if groups.only is not None and len(by) > 1:
        yield (
            ("groups", "only"),
            f"only lists values of one column, and group_by has {len(by)}; allowed: top for two",
        )


def _either(words: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return " or ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else list(words))


def _task_problems(slo: SLOSpec, signal: SignalSpec) -> Iterable[tuple[Loc, str]]:
    """An SLI of a kind the signal's task has no use for (precision of a score signal)."""
    facts = slo.sli.model
    if signal.task not in facts.tasks:
        yield (
            ("sli", "kind"),
            f"{slo.sli.kind} is for {_either(facts.tasks)} signals, and {signal.name!r} "
            f"has task {signal.task!r}; allowed for a {signal.task} signal: "
            f"{', '.join(kinds_for(signal.task))}",
        )


__all__ = ["FileCheck", "Problem", "check_file", "check_paths", "definition_files"]
