"""The internal model of signals and their SLOs: frozen dataclasses the rest of sigwatch uses.

YAML is read into ``sigwatch.spec`` (pydantic, mirrors the file) and mapped here by
``sigwatch.registry``. Monitors, alerts and the console see only these types, never raw YAML.

    Registry ─┬─ Signal (name, task, classes, model, owner, on-call, schedule)
              │    └─ SLO (name, alerting)
              │         ├─ SLI: one SLIKind subclass per kind (sigwatch.kinds: Coverage, Latency, …)
              │         └─ Objective (ratio over window; occurrences or timeslices + target)
              └─ …
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from sigwatch.units import Target, format_duration

if TYPE_CHECKING:
    from sigwatch.kinds import SLIKind

TASKS = ("multiclass", "multilabel", "entities", "score")
"""What a signal predicts: one class, a set of classes, a set of typed entities, or a score."""

# Columns of the prediction-log contract (docs/data-contracts.md) a drift SLI may compare.
# Which prediction column exists depends on the task: ``label`` for multiclass, ``labels`` for
# sets; ``score`` always.
DRIFT_COLUMNS_ANY_TASK = (
    "community",
    "item_kind",
    "language",
    "text_len",
    "score",
    "latency_ms",
    "model_version",
    "served_by",
    "status",
)
PREDICTION_COLUMN = {
    "multiclass": "label",
    "multilabel": "labels",
    "entities": "labels",
    "score": None,
}

# The log contract's dimension columns: what suspects are found among and SLOs are grouped by.
DIMENSIONS = ("community", "language", "item_kind", "model_version", "served_by")
OTHER = "(other)"  # the group that pools the values outside a ``top`` grouping
NONE = "(none)"  # a dimension column's null, as a slice or a group names it


class Budgeting(StrEnum):
    """How an SLO spends its error budget (OpenSLO's two methods).

    OCCURRENCES: good events / all events over the window (coverage, latency, errors).
    TIMESLICES: each slice is good when a metric meets a target; good slices / all slices.
    """

    OCCURRENCES = "occurrences"
    TIMESLICES = "timeslices"


# --- Objectives, SLOs, signals ---------------------------------------------------------------


@dataclass(frozen=True)
class Objective:
    """``ratio`` of good events (occurrences) or good slices (timeslices) over ``window``."""

    ratio: float
    window: timedelta
    budgeting: Budgeting
    target: Target | None = None
    timeslice: timedelta | None = None

    @property
    def error_budget(self) -> float:
        """The share of events (or slices) allowed to be bad: ``1 - ratio``."""
        return 1.0 - self.ratio

    def __str__(self) -> str:
        """``99% of events over 28d`` or ``>= 0.85 in 90% of 1d slices over 28d``."""
        ratio = f"{self.ratio * 100:g}%"
        window = format_duration(self.window)
        if self.budgeting is Budgeting.OCCURRENCES:
            return f"{ratio} of events over {window}"
        assert self.timeslice is not None
        return f"{self.target} in {ratio} of {format_duration(self.timeslice)} slices over {window}"


@dataclass(frozen=True)
class SloAlerting:
    """Which alert severities an SLO may raise, and where its runbook lives."""

    page: bool = True
    ticket: bool = True
    runbook: str | None = None


@dataclass(frozen=True)
class Grouping:
    """An SLO evaluated per value of one or two dimension columns (``by``), each group an SLO
    instance with its own budget and state. Cardinality is bounded: the ``top`` groups by
    volume over the window (the rest pooled as ``OTHER``), or ``only`` the values listed (of a
    single column). A group with fewer than ``min_events`` events over the window (occurrence
    kinds; quality kinds use their ``min_labels`` per slice) cannot be judged."""

    by: tuple[str, ...]
    top: int | None = None
    only: tuple[str, ...] | None = None
    min_events: int = 100

    def key(self, values: tuple[str, ...]) -> dict[str, str]:
        """A group as ``{"community": "headphones"}``."""
        return dict(zip(self.by, values, strict=True))

    def spec_fields(self) -> dict:
        groups: dict = {"top": self.top} if self.top is not None else {"only": list(self.only)}
        return {"group_by": list(self.by), "groups": {**groups, "min_events": self.min_events}}


def group_label(group: dict[str, str] | None) -> str:
    """``community=headphones`` (``language=de, community=x`` for two); the whole signal when
    None."""
    if not group:
        return "all"
    return ", ".join(f"{k}={v}" for k, v in group.items())


@dataclass(frozen=True)
class SLO:
    name: str
    signal: str
    sli: SLIKind  # one of the kinds of sigwatch.kinds
    objective: Objective
    alerting: SloAlerting = field(default_factory=SloAlerting)
    description: str | None = None
    grouping: Grouping | None = None

    @property
    def key(self) -> str:
        """``signal/slo``: unique across the registry."""
        return f"{self.signal}/{self.name}"


@dataclass(frozen=True)
class ModelRef:
    id: str
    version: str


@dataclass(frozen=True)
class JudgeRubric:
    """What the LLM judge is told about a signal: a definition per class and examples."""

    labels: tuple[tuple[str, str], ...]  # (class, definition)
    examples: tuple[tuple[str, str], ...] = ()  # (post, class)
    instructions: str = ""


@dataclass(frozen=True)
class Signal:
    name: str
    description: str
    owner: str
    oncall: str
    task: str
    classes: tuple[str, ...]
    model: ModelRef
    consumers: tuple[str, ...]
    serving_threshold: float
    schedule: timedelta
    slos: tuple[SLO, ...]
    source: Path | None = field(default=None, compare=False)
    judge: JudgeRubric | None = None

    @property
    def label_timeslice(self) -> timedelta | None:
        """The longest timeslice of the SLOs judged against human labels, None when none is:
        how far back late labels still change a slice measured again."""
        sliced = [s.objective.timeslice for s in self.slos if s.sli.reads_human_labels]
        return max((t for t in sliced if t is not None), default=None)

    def slo(self, name: str) -> SLO:
        for slo in self.slos:
            if slo.name == name:
                return slo
        raise KeyError(f"signal {self.name!r} has no SLO {name!r}; it has: {self._slo_names()}")

    def _slo_names(self) -> str:
        return ", ".join(s.name for s in self.slos)


@dataclass(frozen=True)
class Registry:
    """Every signal sigwatch watches, by name, in a stable (sorted) order."""

    signals: tuple[Signal, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "signals", tuple(sorted(self.signals, key=lambda s: s.name)))

    def __iter__(self):
        return iter(self.signals)

    def __len__(self) -> int:
        return len(self.signals)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.signals)

    def get(self, name: str) -> Signal:
        for signal in self.signals:
            if signal.name == name:
                return signal
        raise KeyError(f"no signal {name!r} in the registry; known: {', '.join(self.names)}")

    @property
    def slos(self) -> tuple[SLO, ...]:
        return tuple(slo for signal in self.signals for slo in signal.slos)
