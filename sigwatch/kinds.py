"""SLI kinds: what each kind is (its model: a frozen dataclass with the facts the rest of
sigwatch asks of it) and how it is written (its YAML spec: a strict pydantic model), side by
side, one pair per kind. The calculation of a kind lives in ``monitors/slis/`` and is registered
by the model class; adding a kind: docs/adding-an-sli-kind.md.

The file format's union of kinds (``AnySliSpec``) and ``SLI_SPECS`` are derived from the spec
classes below, so a kind is listed nowhere else.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field

from sigwatch.model import DRIFT_COLUMNS_ANY_TASK, PREDICTION_COLUMN, TASKS, Budgeting
from sigwatch.spectypes import Duration, Name, StrictSpec, did_you_mean
from sigwatch.units import format_duration, parse_duration

if TYPE_CHECKING:
    from sigwatch.spec import SignalSpec

Loc = tuple[str | int, ...]

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


class SLIKind:
    """What every SLI kind declares. The class attributes are its facts."""

    kind: ClassVar[str]
    budgeting: ClassVar[Budgeting]
    ratio_target: ClassVar[bool] = False  # a timeslice target is a ratio in [0, 1]
    labelled: ClassVar[bool] = False  # judged against labels that arrive late
    reads_human_labels: ClassVar[bool] = False  # the monitors keep a quality table for it
    spend: ClassVar[bool] = False  # measures US dollars: slices carry cost_usd and items
    groupable: ClassVar[bool] = False  # may be evaluated per group (``Grouping``)
    tasks: ClassVar[tuple[str, ...]] = TASKS  # the signal tasks it applies to

    def describe(self) -> str:
        """The SLI in a few words (``sigwatch validate``'s table)."""
        return self.kind

    @property
    def proportion(self) -> bool:
        """Its value is a share of counted items (a binomial proportion: a difference of two
        has Newcombe's interval)."""
        return False

    def spec_fields(self) -> dict:
        """This SLI as the fields of its YAML ``sli:`` mapping."""
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}  # type: ignore[arg-type]


class SliSpec(StrictSpec):
    """An SLI kind's ``sli:`` mapping. Each subclass declares its ``kind`` literal (or
    literals), its fields, the ``model`` it maps to and an ``example`` SLO of it (the fields
    of an SLO besides its name: ``tests/monitors/test_sli_seam.py`` loads and round-trips each)."""

    model: ClassVar[type[SLIKind]]
    example: ClassVar[dict]

    def to_model(self) -> SLIKind:
        """The internal model (a kind whose fields differ from its model's overrides this)."""
        return self.model(**self.model_dump(exclude={"kind"}))

    def problems(self, signal: SignalSpec | None) -> Iterable[tuple[Loc, str]]:
        """What is wrong with this SLI given its signal (``None`` when the signal's part of
        the file is itself invalid), as (location under the SLO, message naming what is
        allowed): none by default. ``sigwatch.validation`` reports them with the rest."""
        return ()


OCCURRENCE_EXAMPLE = {"objective": 0.99, "window": "28d"}


# --- occurrence kinds: good events over the window --------------------------------------------


@dataclass(frozen=True)
class CoverageSLI(SLIKind):
    """Good = served (status ``ok``) with a score at or above the signal's serving threshold."""

    kind: ClassVar[str] = "coverage"
    budgeting: ClassVar[Budgeting] = Budgeting.OCCURRENCES
    groupable: ClassVar[bool] = True


class CoverageSpec(SliSpec):
    """Good = status ok and score at or above the serving threshold."""

    kind: Literal["coverage"]
    model: ClassVar[type[SLIKind]] = CoverageSLI
    example: ClassVar[dict] = {"sli": {"kind": "coverage"}, **OCCURRENCE_EXAMPLE}


@dataclass(frozen=True)
class ErrorRateSLI(SLIKind):
    """Good = not an ``error`` or ``timeout``."""

    kind: ClassVar[str] = "error_rate"
    budgeting: ClassVar[Budgeting] = Budgeting.OCCURRENCES
    groupable: ClassVar[bool] = True


class ErrorRateSpec(SliSpec):
    """Good = neither error nor timeout."""

    kind: Literal["error_rate"]
    model: ClassVar[type[SLIKind]] = ErrorRateSLI
    example: ClassVar[dict] = {"sli": {"kind": "error_rate"}, **OCCURRENCE_EXAMPLE}


@dataclass(frozen=True)
class LatencySLI(SLIKind):
    """Good = answered within ``threshold_ms``."""

    threshold_ms: float
    kind: ClassVar[str] = "latency"
    budgeting: ClassVar[Budgeting] = Budgeting.OCCURRENCES
    groupable: ClassVar[bool] = True

    def describe(self) -> str:
        return f"latency < {self.threshold_ms:g} ms"


class LatencySpec(SliSpec):
    """Good = answered within threshold_ms."""

    kind: Literal["latency"]
    model: ClassVar[type[SLIKind]] = LatencySLI
    example: ClassVar[dict] = {
        "sli": {"kind": "latency", "threshold_ms": 250.0},
        **OCCURRENCE_EXAMPLE,
    }
    threshold_ms: float = Field(gt=0, description="a positive number of milliseconds")


# --- quality kinds: each slice against late labels --------------------------------------------


@dataclass(frozen=True)
class DriftReference:
    """What a slice is compared with: the ``previous`` span before it, or a fixed range."""

    previous: timedelta | None = None
    start: datetime | None = None
    end: datetime | None = None

    @property
    def is_fixed(self) -> bool:
        return self.start is not None


class ReferenceSpec(StrictSpec):
    """Either the span just before the slice (previous) or a fixed range (start and end)."""

    previous: Duration | None = Field(default=None, description="e.g. 7d: the 7 days before")
    start: datetime | None = Field(default=None, strict=False, description="fixed range start")
    end: datetime | None = Field(default=None, strict=False, description="fixed range end")


def reference_window(ref: ReferenceSpec) -> DriftReference:
    return DriftReference(
        previous=parse_duration(ref.previous) if ref.previous else None,
        start=ref.start.astimezone(UTC) if ref.start else None,
        end=ref.end.astimezone(UTC) if ref.end else None,
    )


def reference_fields(ref: DriftReference) -> dict:
    if ref.previous:
        return {"previous": format_duration(ref.previous)}
    return {"start": ref.start, "end": ref.end}


def reference_problems(ref: ReferenceSpec, loc: Loc) -> Iterable[tuple[Loc, str]]:
    """A reference window given either as ``previous`` or as a fixed range, not both."""
    fixed = ref.start is not None or ref.end is not None
    if ref.previous is not None and fixed:
        yield (
            loc,
            "reference has both 'previous' and a fixed range; allowed: either previous "
            "(e.g. 7d) or start and end",
        )
    elif ref.previous is None and not (ref.start and ref.end):
        yield (
            loc,
            "reference needs 'previous' (e.g. 7d) or both 'start' and 'end'; allowed: one of them",
        )
    elif ref.start and ref.end:
        if ref.start.tzinfo is None or ref.end.tzinfo is None:
            yield (
                loc,
                "reference start and end need a time zone; allowed: e.g. 2026-11-01T00:00:00Z",
            )
        elif ref.start >= ref.end:
            yield (*loc, "end"), "reference end is not after start"


ESTIMATE_METHODS = ("cbpe", "judge")
DEFAULT_ESTIMATE_REFERENCE = "28d"


@dataclass(frozen=True)
class Estimate:
    """How a quality slice is estimated before its labels land: ``cbpe`` from the model's
    confidence, calibrated on the labelled predictions of ``reference`` (sigwatch.cbpe); or
    ``judge`` from the LLM judge's labels rectified by the human ones (sigwatch.ppi)."""

    method: str
    reference: DriftReference | None = None  # cbpe only

    def spec_fields(self) -> dict:
        out: dict = {"method": self.method}
        if self.reference is not None:
            out["reference"] = reference_fields(self.reference)
        return out


class EstimateSpec(StrictSpec):
    """{method: cbpe, reference: {previous: 28d}} or {method: judge}."""

    method: Literal[ESTIMATE_METHODS] = Field(
        description="cbpe (the model's calibrated confidence) or judge (the LLM judge's labels,"
        " rectified by the human ones)"
    )
    reference: ReferenceSpec | None = Field(
        default=None,
        description="cbpe: the labelled window its calibration is fitted on, {previous: 28d}"
        " (the default) or {start: ..., end: ...}",
    )

    def to_model(self) -> Estimate:
        if self.method != "cbpe":
            return Estimate(self.method)
        reference = self.reference or ReferenceSpec(previous=DEFAULT_ESTIMATE_REFERENCE)
        return Estimate(self.method, reference_window(reference))

    def problems(
        self, signal: SignalSpec | None, metric: str, cls: str | None
    ) -> Iterable[tuple[Loc, str]]:
        loc: Loc = ("sli", "estimate")
        if self.method == "judge":
            if self.reference is not None:
                yield (
                    (*loc, "reference"),
                    "a reference is what cbpe calibrates on; the judge's estimate has none; "
                    "allowed: omit it",
                )
            if signal is not None and signal.judge is None:
                yield (
                    (*loc, "method"),
                    f"method: judge needs a judge rubric, and signal {signal.name!r} has none; "
                    "allowed: cbpe (or add 'judge:' to the signal)",
                )
            if cls is None:
                yield (
                    (*loc, "method"),
                    f"method: judge estimates one class's {metric} (the judge labels one class "
                    "per post); allowed: a class, or method: cbpe for a macro average",
                )
            return
        if signal is not None and signal.task not in SCORED:
            yield (
                (*loc, "method"),
                f"method: cbpe reads the model's scores, which a {signal.task} signal does not "
                f"log; allowed: judge, or tasks {', '.join(SCORED)}",
            )
        if self.reference is None:
            return
        problems = list(reference_problems(self.reference, (*loc, "reference")))
        yield from problems
        if problems:
            return
        window = reference_window(self.reference)
        span = window.previous if window.previous else window.end - window.start
        if span < timedelta(days=1):
            yield (
                (*loc, "reference"),
                f"a reference of {format_duration(span)} is too short to calibrate on; "
                "allowed: one day or more (e.g. previous: 28d)",
            )


# The column each task's confidence is logged in (docs/data-contracts.md): what cbpe reads.
SCORED = {
    "multiclass": "scores",
    "score": "score",
    "multilabel": "label_scores",
    "entities": "label_scores",
}


LABELLED_TASKS = ("multiclass", "multilabel", "entities")


@dataclass(frozen=True)
class QualitySLI(SLIKind):
    """Precision, recall or F1 against human labels: of one class, or macro-averaged when
    ``cls`` is None. A slice with fewer than ``min_labels`` labelled predictions is
    ``insufficient_labels``."""

    metric: str  # precision | recall | f1
    cls: str | None
    min_labels: int
    estimate: Estimate | None = None  # how a slice without enough labels is estimated
    budgeting: ClassVar[Budgeting] = Budgeting.TIMESLICES
    ratio_target: ClassVar[bool] = True
    labelled: ClassVar[bool] = True
    reads_human_labels: ClassVar[bool] = True
    groupable: ClassVar[bool] = True
    tasks: ClassVar[tuple[str, ...]] = LABELLED_TASKS
    labels: ClassVar[str] = "human"  # whose labels (the YAML's ``labels``)

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.metric

    def describe(self) -> str:
        estimated = f", estimated by {self.estimate.method}" if self.estimate else ""
        return f"{self.metric} ({self.cls or 'macro'}){estimated}"

    @property
    def proportion(self) -> bool:
        return self.cls is not None and self.metric in ("precision", "recall")

    def spec_fields(self) -> dict:
        out: dict = {"kind": self.kind, "min_labels": self.min_labels}
        if self.cls is not None:
            out["class"] = self.cls
        if self.labels != "human":
            out["labels"] = self.labels
        if self.estimate is not None:
            out["estimate"] = self.estimate.spec_fields()
        return out


@dataclass(frozen=True)
class JudgedQualitySLI(QualitySLI):
    """One class's precision from the LLM judge's daily sample, corrected for the judge's
    error on the gold set (``labels: judge``)."""

    reads_human_labels: ClassVar[bool] = False
    labels: ClassVar[str] = "judge"


class QualitySpec(SliSpec):
    """Precision, recall or F1 against labels, of one class or macro-averaged."""

    kind: Literal["precision", "recall", "f1"]
    model: ClassVar[type[SLIKind]] = QualitySLI
    example: ClassVar[dict] = {
        "sli": {"kind": "precision", "class": "a", "min_labels": 50},
        "objective": 0.9,
        "window": "28d",
        "target": ">= 0.8",
        "timeslice": "1d",
    }
    class_: Name | None = Field(
        default=None,
        alias="class",
        description="one of the signal's classes; omit for the macro average",
    )
    min_labels: int = Field(
        default=100, ge=1, description="labels needed in a slice to judge it: a whole number >= 1"
    )
    labels: Literal["human", "judge"] = Field(
        default="human",
        description="whose labels: human, or judge (the LLM judge's daily sample, corrected "
        "for its calibrated error; precision of one class only)",
    )
    estimate: EstimateSpec | None = Field(
        default=None,
        description="estimate a slice before its labels land: {method: cbpe, reference:"
        " {previous: 28d}} or {method: judge}",
    )

    def to_model(self) -> QualitySLI:
        model = JudgedQualitySLI if self.labels == "judge" else QualitySLI
        return model(
            metric=self.kind,
            cls=self.class_,
            min_labels=self.min_labels,
            estimate=self.estimate.to_model() if self.estimate else None,
        )

    def problems(self, signal: SignalSpec | None) -> Iterable[tuple[Loc, str]]:
        if self.estimate is not None:
            yield from self.estimate.problems(signal, self.kind, self.class_)
        if signal is None or signal.task not in self.model.tasks:
            return
        if self.class_ is not None and signal.classes and self.class_ not in signal.classes:
            yield (
                ("sli", "class"),
                f"{self.class_!r} is not one of the signal's classes; "
                f"{did_you_mean(self.class_, signal.classes)}"
                f"allowed: {', '.join(signal.classes)} (or omit 'class' for the macro average)",
            )
        if self.labels != "judge":
            return
        if signal.judge is None:
            yield (
                ("sli", "labels"),
                f"labels: judge needs a judge rubric, and signal {signal.name!r} has none; "
                "allowed: human (or add 'judge:' to the signal)",
            )
        if self.kind != "precision" or self.class_ is None:
            yield (
                ("sli", "labels"),
                "judge labels are corrected per class (the judge's TPR/TNR on the gold set), "
                f"which sigwatch does for one class's precision; this SLI is {self.kind} of "
                f"{self.class_ or 'all classes (macro)'}; allowed: labels: judge with kind: "
                "precision and a class, else labels: human",
            )


@dataclass(frozen=True)
class AucSLI(SLIKind):
    """ROC AUC of a ``score`` signal against binary labels: its quality SLI (no classes)."""

    min_labels: int
    estimate: Estimate | None = None  # how a slice without enough labels is estimated
    kind: ClassVar[str] = "auc"
    budgeting: ClassVar[Budgeting] = Budgeting.TIMESLICES
    ratio_target: ClassVar[bool] = True
    labelled: ClassVar[bool] = True
    reads_human_labels: ClassVar[bool] = True
    groupable: ClassVar[bool] = True
    tasks: ClassVar[tuple[str, ...]] = ("score",)

    def describe(self) -> str:
        return "auc" + (f", estimated by {self.estimate.method}" if self.estimate else "")

    def spec_fields(self) -> dict:
        out: dict = {"kind": self.kind, "min_labels": self.min_labels}
        if self.estimate is not None:
            out["estimate"] = self.estimate.spec_fields()
        return out


class AucSpec(SliSpec):
    """ROC AUC of a score signal against binary labels."""

    kind: Literal["auc"]
    model: ClassVar[type[SLIKind]] = AucSLI
    example: ClassVar[dict] = {
        "sli": {"kind": "auc", "min_labels": 50},
        "objective": 0.9,
        "window": "28d",
        "target": ">= 0.8",
        "timeslice": "1d",
    }
    min_labels: int = Field(
        default=100, ge=1, description="labels needed in a slice to judge it: a whole number >= 1"
    )
    estimate: EstimateSpec | None = Field(
        default=None,
        description="estimate a slice before its labels land: {method: cbpe, reference:"
        " {previous: 28d}}",
    )

    def to_model(self) -> AucSLI:
        return AucSLI(
            min_labels=self.min_labels,
            estimate=self.estimate.to_model() if self.estimate else None,
        )

    def problems(self, signal: SignalSpec | None) -> Iterable[tuple[Loc, str]]:
        if self.estimate is None:
            return
        if self.estimate.method == "judge":
            yield (
                ("sli", "estimate", "method"),
                "the judge labels classes, and an AUC ranks scores; allowed: cbpe",
            )
            return
        yield from self.estimate.problems(signal, "auc", None)


# --- drift ------------------------------------------------------------------------------------


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

    def describe(self) -> str:
        return f"drift ({', '.join(self.columns)})"

    def spec_fields(self) -> dict:
        out = {
            "kind": self.kind,
            "columns": list(self.columns),
            "reference": reference_fields(self.reference),
            "sample_size": self.sample_size,
        }
        if self.method:
            out["method"] = self.method
        return out


class DriftSpec(SliSpec):
    """Share of columns whose distribution drifted from the reference (Evidently)."""

    kind: Literal["drift"]
    model: ClassVar[type[SLIKind]] = DriftSLI
    example: ClassVar[dict] = {
        "sli": {"kind": "drift", "columns": ["community", "score"]},
        "objective": 0.9,
        "window": "28d",
        "target": "<= 0.4",
        "timeslice": "1d",
    }
    columns: list[str] = Field(min_length=1, description="prediction-log columns to compare")
    method: Literal[DRIFT_METHODS] | None = Field(
        default=None, description="an Evidently stat test; omit to let Evidently choose by size"
    )
    reference: ReferenceSpec = Field(
        default_factory=lambda: ReferenceSpec(previous="7d"),
        description="{previous: 7d} or {start: ..., end: ...}",
    )
    sample_size: int = Field(
        default=5000,
        ge=100,
        le=200_000,
        description="rows sampled (seeded) from each side: a whole number in [100, 200000]",
    )

    def to_model(self) -> DriftSLI:
        return DriftSLI(
            columns=tuple(self.columns),
            reference=reference_window(self.reference),
            sample_size=self.sample_size,
            method=self.method,
        )

    def problems(self, signal: SignalSpec | None) -> Iterable[tuple[Loc, str]]:
        known = (*DRIFT_COLUMNS_ANY_TASK, "label", "labels")
        seen: set[str] = set()
        for i, column in enumerate(self.columns):
            if column not in known:
                yield (
                    ("sli", "columns", i),
                    f"unknown column {column!r}; {did_you_mean(column, known)}"
                    f"allowed: {', '.join(known)}",
                )
            elif column in seen:
                yield (
                    ("sli", "columns", i),
                    f"column {column!r} is listed twice; allowed: each once",
                )
            elif signal is not None and column in ("label", "labels"):
                prediction = PREDICTION_COLUMN[signal.task]
                if column != prediction:
                    yield (
                        ("sli", "columns", i),
                        f"signal task {signal.task} has no {column!r} column; allowed: "
                        f"{prediction or 'score'!r} for its predictions",
                    )
            seen.add(column)
        yield from reference_problems(self.reference, ("sli", "reference"))


# --- cost -------------------------------------------------------------------------------------

COST_EXAMPLE = {"objective": 0.9, "window": "28d", "timeslice": "1d"}


@dataclass(frozen=True)
class CostPer1kSLI(SLIKind):
    """US dollars per 1,000 eligible items over a slice (in-house and external API together)."""

    kind: ClassVar[str] = "cost_per_1k"
    budgeting: ClassVar[Budgeting] = Budgeting.TIMESLICES
    spend: ClassVar[bool] = True
    groupable: ClassVar[bool] = True


class CostPer1kSpec(SliSpec):
    """US dollars per 1,000 items."""

    kind: Literal["cost_per_1k"]
    model: ClassVar[type[SLIKind]] = CostPer1kSLI
    example: ClassVar[dict] = {"sli": {"kind": "cost_per_1k"}, "target": "<= 0.5", **COST_EXAMPLE}


@dataclass(frozen=True)
class DailySpendSLI(SLIKind):
    """US dollars spent per day."""

    kind: ClassVar[str] = "daily_spend"
    budgeting: ClassVar[Budgeting] = Budgeting.TIMESLICES
    spend: ClassVar[bool] = True
    groupable: ClassVar[bool] = True


class DailySpendSpec(SliSpec):
    """US dollars per day."""

    kind: Literal["daily_spend"]
    model: ClassVar[type[SLIKind]] = DailySpendSLI
    example: ClassVar[dict] = {"sli": {"kind": "daily_spend"}, "target": "<= 200", **COST_EXAMPLE}


# --- derived: every kind the file format knows ------------------------------------------------

AnySliSpec = Annotated[
    reduce(operator.or_, SliSpec.__subclasses__()),
    Field(discriminator="kind"),
]
"""The ``sli:`` mapping: one of the SLI kinds, told apart by ``kind``."""

SLI_SPECS: dict[str, type[SliSpec]] = {
    kind: spec
    for spec in SliSpec.__subclasses__()
    for kind in spec.model_fields["kind"].annotation.__args__
}
"""Every SLI kind the file format knows, by its ``kind`` name."""


def kinds_for(task: str) -> list[str]:
    """The SLI kinds a signal of ``task`` may use."""
    return [kind for kind, spec in SLI_SPECS.items() if task in spec.model.tasks]
