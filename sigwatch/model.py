"""The internal model of signals and their SLOs: frozen dataclasses the rest of sigwatch uses.

YAML is read into ``sigwatch.spec`` (pydantic, mirrors the file) and mapped here by
``sigwatch.registry``. Monitors, alerts and the console see only these types, never raw YAML.

    Registry ─┬─ Signal (name, task, classes, model, owner, on-call, schedule)
              │    └─ SLO (name, alerting)
              │         ├─ SLI: one SLIKind subclass per kind (Coverage, Latency, Quality, Drift, …)
              │         └─ Objective (ratio over window; occurrences or timeslices + target)
              └─ …
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from sigwatch.units import Target, format_duration

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

# Evidently 0.7 stat-test names a drift SLI may pin (``method``); unset, Evidently picks by size.
DRIFT_METHODS = (
    "chisquare",
    "hellinger",
    "jensenshannon",
    "kl_div",
    "ks",
    "psi",
    "wasserstein",
    "z",
)


class Budgeting(StrEnum):
    """How an SLO spends its error budget (OpenSLO's two methods).

    OCCURRENCES: good events / all events over the window (coverage, latency, errors).
    TIMESLICES: each slice is good when a metric meets a target; good slices / all slices.
    """

    OCCURRENCES = "occurrences"
    TIMESLICES = "timeslices"


# --- SLI kinds -------------------------------------------------------------------------------
# Each kind is a frozen dataclass subclassing ``SLIKind`` with its ``kind`` name and the facts
# the rest of sigwatch asks of it (how it budgets, whether it reads labels, ...): a kind
# declares them here, once. Adding a kind: docs/adding-an-sli-kind.md.


class SLIKind:
    """What every SLI kind declares. The class attributes are its facts; a kind whose fact
    depends on its fields (a quality SLI on judge labels) overrides it with a property."""

    kind: ClassVar[str]
    budgeting: ClassVar[Budgeting]
    ratio_target: ClassVar[bool] = False  # a timeslice target is a ratio in [0, 1]
    labelled: ClassVar[bool] = False  # judged against labels that arrive late
    reads_human_labels: ClassVar[bool] = False  # the monitors keep a quality table for it
    judge_based: ClassVar[bool] = False  # the LLM judge's labels, corrected for its error
    spend: ClassVar[bool] = False  # measures US dollars (the digest's and console's cost)
    groupable: ClassVar[bool] = False  # may be evaluated per group (``Grouping``)

    def spec_fields(self) -> dict:
        """This SLI as the fields of its YAML ``sli:`` mapping (``sigwatch.spec``)."""
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}  # type: ignore[arg-type]


@dataclass(frozen=True)
class CoverageSLI(SLIKind):
    """Good = served (status ``ok``) with a score at or above the signal's serving threshold."""

    kind: ClassVar[str] = "coverage"
    budgeting: ClassVar[Budgeting] = Budgeting.OCCURRENCES
    groupable: ClassVar[bool] = True


@dataclass(frozen=True)
class ErrorRateSLI(SLIKind):
    """Good = not an ``error`` or ``timeout``."""

    kind: ClassVar[str] = "error_rate"
    budgeting: ClassVar[Budgeting] = Budgeting.OCCURRENCES
    groupable: ClassVar[bool] = True


@dataclass(frozen=True)
class LatencySLI(SLIKind):
    """Good = answered within ``threshold_ms``."""

    threshold_ms: float
    kind: ClassVar[str] = "latency"
    budgeting: ClassVar[Budgeting] = Budgeting.OCCURRENCES
    groupable: ClassVar[bool] = True


@dataclass(frozen=True)
class QualitySLI(SLIKind):
    """Precision, recall or F1 against labels: of one class, or macro-averaged when ``cls`` is None.

    A slice with fewer than ``min_labels`` labelled predictions is ``insufficient_labels``.
    """

    metric: str  # precision | recall | f1
    cls: str | None
    min_labels: int
    labels: str = "human"  # human | judge
    budgeting: ClassVar[Budgeting] = Budgeting.TIMESLICES
    ratio_target: ClassVar[bool] = True
    labelled: ClassVar[bool] = True
    groupable: ClassVar[bool] = True

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.metric

    @property
    def reads_human_labels(self) -> bool:  # type: ignore[override]
        return self.labels == "human"

    @property
    def judge_based(self) -> bool:  # type: ignore[override]
        return self.labels == "judge"

    def spec_fields(self) -> dict:
        out: dict = {"kind": self.kind, "min_labels": self.min_labels}
        if self.cls is not None:
            out["class"] = self.cls
        if self.labels != "human":
            out["labels"] = self.labels
        return out


@dataclass(frozen=True)
class AucSLI(SLIKind):
    """ROC AUC of a ``score`` signal against binary labels: its quality SLI (no classes)."""

    min_labels: int
    kind: ClassVar[str] = "auc"
    budgeting: ClassVar[Budgeting] = Budgeting.TIMESLICES
    ratio_target: ClassVar[bool] = True
    labelled: ClassVar[bool] = True
    reads_human_labels: ClassVar[bool] = True
    groupable: ClassVar[bool] = True


@dataclass(frozen=True)
class DriftReference:
    """What a slice is compared with: the ``previous`` span before it, or a fixed range."""

    previous: timedelta | None = None
    start: datetime | None = None
    end: datetime | None = None

    @property
    def is_fixed(self) -> bool:
        return self.start is not None


@dataclass(frozen=True)
class DriftSLI(SLIKind):
    """Share of ``columns`` whose distribution drifted from the reference (Evidently)."""

    columns: tuple[str, ...]
    reference: DriftReference
    sample_size: int
    method: str | None = None
    kind: ClassVar[str] = "drift"
    budgeting: ClassVar[Budgeting] = Budgeting.TIMESLICES
    ratio_target: ClassVar[bool] = True
    groupable: ClassVar[bool] = True

    def spec_fields(self) -> dict:
        ref = self.reference
        reference = (
            {"previous": format_duration(ref.previous)}
            if ref.previous
            else {"start": ref.start, "end": ref.end}
        )
        out = {
            "kind": self.kind,
            "columns": list(self.columns),
            "reference": reference,
            "sample_size": self.sample_size,
        }
        if self.method:
            out["method"] = self.method
        return out


@dataclass(frozen=True)
class CostPer1kSLI(SLIKind):
    """US dollars per 1,000 eligible items over a slice (in-house and external API together)."""

    kind: ClassVar[str] = "cost_per_1k"
    budgeting: ClassVar[Budgeting] = Budgeting.TIMESLICES
    spend: ClassVar[bool] = True
    groupable: ClassVar[bool] = True


@dataclass(frozen=True)
class DailySpendSLI(SLIKind):
    """US dollars spent per day."""

    kind: ClassVar[str] = "daily_spend"
    budgeting: ClassVar[Budgeting] = Budgeting.TIMESLICES
    spend: ClassVar[bool] = True
    groupable: ClassVar[bool] = True


SLI = SLIKind
"""Any SLI kind (the subclasses of ``SLIKind``)."""


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
    sli: SLI
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
