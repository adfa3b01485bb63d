"""Loading the signals registry: SLO files -> validated spec -> the internal model.

``load_registry`` is what every command but ``validate`` calls: it refuses to hand out a
registry with any problem in it (``DefinitionError`` carries them all). ``to_model`` and
``to_spec`` are the one mapping between the file format and ``sigwatch.model``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from sigwatch import model as m
from sigwatch import spec as s
from sigwatch.units import format_duration, parse_duration, parse_target
from sigwatch.validation import Problem, check_paths

log = logging.getLogger(__name__)


class DefinitionError(Exception):
    """The SLO definitions have problems; ``problems`` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the SLO definitions:\n{lines}")


def load_registry(paths: Path | Iterable[Path]) -> m.Registry:
    """Load every SLO file under ``paths``; raise ``DefinitionError`` if any has a problem."""
    paths = [paths] if isinstance(paths, Path) else list(paths)
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise DefinitionError(
            [Problem(str(p), 1, "?", "", "no such file or folder") for p in missing]
        )
    checks = check_paths(paths)
    problems = [p for c in checks for p in c.problems]
    if problems:
        raise DefinitionError(problems)
    return m.Registry(
        signals=tuple(to_model(c.document, source=c.path) for c in checks if c.document)
    )


class Definitions:
    """A definitions folder's registry for a long-running process (``sigwatch serve``, the
    console): loaded once, and again by ``refresh`` when one of its files changed (their
    names, sizes and modification times). An edit that breaks the folder keeps the last good
    registry, and ``error`` says why (logged once per edit) until the folder is good again;
    with no good registry yet, the ``DefinitionError`` is raised."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.error: DefinitionError | None = None
        self._good: m.Registry | None = None
        self._stamp: tuple | None = None
        self._lock = threading.Lock()

    def current(self) -> m.Registry:
        """The registry in use (loaded on first use)."""
        return self._good if self._good is not None else self.refresh()

    def refresh(self) -> m.Registry:
        """The registry, loaded again if a file changed since it was read."""
        stamp = self._files()
        with self._lock:
            if stamp != self._stamp or self._good is None:
                try:
                    self._good, self.error = load_registry(self.folder), None
                except DefinitionError as exc:
                    if self._good is None:
                        raise
                    if self.error is None or str(self.error) != str(exc):
                        log.error(
                            "%s; still running on the definitions last read without problems",
                            exc,
                        )
                    self.error = exc
                self._stamp = stamp
            return self._good

    def _files(self) -> tuple:
        folder = self.folder
        paths = sorted(folder.rglob("*.y*ml")) if folder.is_dir() else [folder]
        stamps = []
        for path in paths:
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed while listed
                continue
            stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)


# --- spec -> model -----------------------------------------------------------------------------


def to_model(doc: s.Document, source: Path | None = None) -> m.Signal:
    """Map a validated document to a ``Signal`` (assumes ``sigwatch.validation`` passed)."""
    sig = doc.signal
    return m.Signal(
        name=sig.name,
        description=sig.description,
        owner=sig.owner,
        oncall=sig.oncall,
        task=sig.task,
        classes=tuple(sig.classes or ()),
        model=m.ModelRef(id=sig.model.id, version=sig.model.version),
        consumers=tuple(sig.consumers),
        serving_threshold=sig.serving_threshold,
        schedule=parse_duration(sig.schedule),
        slos=tuple(_slo_to_model(slo, sig.name) for slo in doc.slos),
        source=source,
        judge=m.JudgeRubric(
            labels=tuple(sig.judge.labels.items()),
            examples=tuple((e.text, e.label) for e in sig.judge.examples),
            instructions=sig.judge.instructions,
        )
        if sig.judge
        else None,
    )


def _slo_to_model(slo: s.SLOSpec, signal: str) -> m.SLO:
    sli = slo.sli.to_model()
    return m.SLO(
        name=slo.name,
        signal=signal,
        sli=sli,
        objective=m.Objective(
            ratio=slo.objective,
            window=parse_duration(slo.window),
            budgeting=sli.budgeting,
            target=parse_target(slo.target) if slo.target else None,
            timeslice=parse_duration(slo.timeslice) if slo.timeslice else None,
        ),
        alerting=m.SloAlerting(
            page=slo.alerting.page, ticket=slo.alerting.ticket, runbook=slo.alerting.runbook
        ),
        description=slo.description,
        grouping=_grouping(slo),
    )


def _grouping(slo: s.SLOSpec) -> m.Grouping | None:
    if not slo.group_by or slo.groups is None:
        return None
    groups = slo.groups
    return m.Grouping(
        by=tuple(slo.group_by),
        top=groups.top,
        only=tuple(groups.only) if groups.only else None,
        min_events=groups.min_events,
    )


# --- model -> spec (for `registry --json`, round trips, and writing files) ---------------------


def to_spec(signal: m.Signal) -> s.Document:
    """The document that ``to_model`` maps back to ``signal``."""
    return s.Document.model_validate(to_spec_dict(signal))


def to_spec_dict(signal: m.Signal) -> dict:
    """``signal`` as the plain data of its YAML file (defaults included)."""
    return {
        "version": s.VERSION,
        "signal": {
            "name": signal.name,
            "description": signal.description,
            "owner": signal.owner,
            "oncall": signal.oncall,
            "task": signal.task,
            **({"classes": list(signal.classes)} if signal.task != "score" else {}),
            "model": {"id": signal.model.id, "version": signal.model.version},
            "consumers": list(signal.consumers),
            "serving_threshold": signal.serving_threshold,
            "schedule": format_duration(signal.schedule),
            **({"judge": _judge_to_dict(signal.judge)} if signal.judge else {}),
        },
        "slos": [_slo_to_dict(slo) for slo in signal.slos],
    }


def _judge_to_dict(judge: m.JudgeRubric) -> dict:
    return {
        "instructions": judge.instructions,
        "labels": dict(judge.labels),
        "examples": [{"text": text, "label": label} for text, label in judge.examples],
    }


def _slo_to_dict(slo: m.SLO) -> dict:
    obj = slo.objective
    out: dict = {"name": slo.name}
    if slo.description is not None:
        out["description"] = slo.description
    out["sli"] = slo.sli.spec_fields()
    out["objective"] = obj.ratio
    out["window"] = format_duration(obj.window)
    if obj.target is not None:
        out["target"] = str(obj.target)
    if obj.timeslice is not None:
        out["timeslice"] = format_duration(obj.timeslice)
    alerting = {"page": slo.alerting.page, "ticket": slo.alerting.ticket}
    if slo.alerting.runbook:
        alerting["runbook"] = slo.alerting.runbook
    out["alerting"] = alerting
    if slo.grouping is not None:
        out.update(slo.grouping.spec_fields())
    return out
