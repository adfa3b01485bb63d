"""The ``sigwatch/v1`` SLO file as pydantic models: a strict mirror of the YAML.

Unknown keys are forbidden and types are strict (``version: 2026.11`` is a number, not a string,
and is refused rather than coerced). Checks that span fields (a class must be one of the signal's
classes, a timeslice must be shorter than its window, ...) live in ``sigwatch.validation``; the
mapping to the internal model lives in ``sigwatch.registry``. ``Document.model_json_schema()`` is
what ``sigwatch schema`` prints for editors.
"""

from __future__ import annotations

import operator
import re
from datetime import UTC, datetime
from functools import reduce
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from sigwatch import model as m
from sigwatch.model import DIMENSIONS, DRIFT_METHODS, TASKS
from sigwatch.units import DURATION_HELP, TARGET_HELP, parse_duration, parse_target

VERSION = "sigwatch/v1"

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9_.-]{0,79}|[CG][A-Z0-9]{8,})$")
_URL = re.compile(r"^https?://[^\s]+$")

NAME_HELP = "lower-case letters, digits, '_' or '-', starting with a letter (at most 63)"
CHANNEL_HELP = "a Slack channel as '#name' (lower case) or a channel id like 'C0123ABCD'"


def _check(pattern: re.Pattern[str], help_text: str, what: str):
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{what} {value!r} is not valid; allowed: {help_text}")
        return value

    return AfterValidator(check)


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


def _check_target(value: str) -> str:
    parse_target(value)
    return value


Name = Annotated[
    str,
    _check(NAME_PATTERN, NAME_HELP, "name"),
    WithJsonSchema({"type": "string", "pattern": NAME_PATTERN.pattern}),
]
Channel = Annotated[
    str,
    _check(_CHANNEL, CHANNEL_HELP, "channel"),
    WithJsonSchema({"type": "string", "pattern": _CHANNEL.pattern}),
]
Url = Annotated[
    str,
    _check(_URL, "an http(s) URL", "URL"),
    WithJsonSchema({"type": "string", "format": "uri"}),
]
Duration = Annotated[
    str,
    AfterValidator(_check_duration),
    WithJsonSchema({"type": "string", "pattern": r"^(\d+[smhdw])+$", "description": DURATION_HELP}),
]
TargetText = Annotated[
    str,
    AfterValidator(_check_target),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*(>=|<=|>|<)\s*[0-9.eE+-]+\s*$",
            "description": TARGET_HELP,
        }
    ),
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ModelSpec(_Spec):
    id: Name = Field(description="the in-house model that serves the signal, e.g. content-type")
    version: str = Field(description='the model version, quoted, e.g. "2026.11"')


class JudgeExampleSpec(_Spec):
    text: str = Field(min_length=1, description="a post")
    label: Name = Field(description="its label: one of the judge's labels")


class JudgeSpec(_Spec):
    """How the LLM judge labels the signal's posts (evaluation/): one definition per class."""

    instructions: str = Field(default="", description="extra guidance for the judge")
    labels: dict[Name, str] = Field(
        min_length=2, description="class -> definition; exactly the signal's classes"
    )
    examples: list[JudgeExampleSpec] = Field(
        default_factory=list, description="few-shot examples: [{text: ..., label: ...}]"
    )


class SignalSpec(_Spec):
    name: Name = Field(description=f"the signal's name: {NAME_HELP}")
    description: str = Field(description="one sentence: what the signal says about a post")
    owner: str = Field(min_length=1, description="the owning team, e.g. acu-signals")
    oncall: Channel = Field(description=f"where alerts go: {CHANNEL_HELP}")
    task: Literal[TASKS] = Field(description="what the model predicts: " + ", ".join(TASKS))
    classes: list[Name] | None = Field(
        default=None, description="the classes (or entity types) the model predicts"
    )
    model: ModelSpec = Field(description="the serving model: {id: ..., version: '...'}")
    consumers: list[str] = Field(default_factory=list, description="systems that use the signal")
    serving_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="predictions scoring below it are not served (abstentions): a number in [0, 1]",
    )
    schedule: Duration = Field(default="5m", description="how often monitors evaluate: 5m")
    judge: JudgeSpec | None = Field(
        default=None, description="the LLM judge's rubric (multiclass signals): labels, examples"
    )


class SliSpec(_Spec):
    """An SLI kind's ``sli:`` mapping. Each subclass declares its ``kind`` literal (or
    literals), its fields and ``to_model``; the union the file format accepts and ``SLI_SPECS``
    are derived from the subclasses, so a kind is listed nowhere else."""

    model: ClassVar[type[m.SLIKind]]  # the internal model of this kind, with its facts

    def to_model(self) -> m.SLIKind:
        """The internal model (a kind whose fields differ from its model's overrides this)."""
        return self.model(**self.model_dump(exclude={"kind"}))


class CoverageSpec(SliSpec):
    """Good = status ok and score at or above the serving threshold."""

    kind: Literal["coverage"]
    model: ClassVar[type[m.SLIKind]] = m.CoverageSLI


class ErrorRateSpec(SliSpec):
    """Good = neither error nor timeout."""

    kind: Literal["error_rate"]
    model: ClassVar[type[m.SLIKind]] = m.ErrorRateSLI


class LatencySpec(SliSpec):
    """Good = answered within threshold_ms."""

    kind: Literal["latency"]
    model: ClassVar[type[m.SLIKind]] = m.LatencySLI
    threshold_ms: float = Field(gt=0, description="a positive number of milliseconds")


class QualitySpec(SliSpec):
    """Precision, recall or F1 against labels, of one class or macro-averaged."""

    kind: Literal["precision", "recall", "f1"]
    model: ClassVar[type[m.SLIKind]] = m.QualitySLI
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

    def to_model(self) -> m.QualitySLI:
        return m.QualitySLI(
            metric=self.kind, cls=self.class_, min_labels=self.min_labels, labels=self.labels
        )


class AucSpec(SliSpec):
    """ROC AUC of a score signal against binary labels."""

    kind: Literal["auc"]
    model: ClassVar[type[m.SLIKind]] = m.AucSLI
    min_labels: int = Field(
        default=100, ge=1, description="labels needed in a slice to judge it: a whole number >= 1"
    )


class ReferenceSpec(_Spec):
    """Either the span just before the slice (previous) or a fixed range (start and end)."""

    previous: Duration | None = Field(default=None, description="e.g. 7d: the 7 days before")
    start: datetime | None = Field(default=None, strict=False, description="fixed range start")
    end: datetime | None = Field(default=None, strict=False, description="fixed range end")


class DriftSpec(SliSpec):
    """Share of columns whose distribution drifted from the reference (Evidently)."""

    kind: Literal["drift"]
    model: ClassVar[type[m.SLIKind]] = m.DriftSLI
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

    def to_model(self) -> m.DriftSLI:
        ref = self.reference
        return m.DriftSLI(
            columns=tuple(self.columns),
            reference=m.DriftReference(
                previous=parse_duration(ref.previous) if ref.previous else None,
                start=ref.start.astimezone(UTC) if ref.start else None,
                end=ref.end.astimezone(UTC) if ref.end else None,
            ),
            sample_size=self.sample_size,
            method=self.method,
        )


class CostPer1kSpec(SliSpec):
    """US dollars per 1,000 items."""

    kind: Literal["cost_per_1k"]
    model: ClassVar[type[m.SLIKind]] = m.CostPer1kSLI


class DailySpendSpec(SliSpec):
    """US dollars per day."""

    kind: Literal["daily_spend"]
    model: ClassVar[type[m.SLIKind]] = m.DailySpendSLI


AnySliSpec = Annotated[
    reduce(operator.or_, SliSpec.__subclasses__()),
    Field(discriminator="kind"),
]
"""The ``sli:`` mapping: one of the SLI kinds, told apart by ``kind``."""


class AlertingSpec(_Spec):
    page: bool = Field(default=True, description="may this SLO page on-call (fast burn)?")
    ticket: bool = Field(default=True, description="may this SLO open a ticket (slow burn)?")
    runbook: Url | None = Field(default=None, description="the runbook's http(s) URL")


class GroupsSpec(_Spec):
    """How many groups a grouped SLO keeps: its ``top`` by volume, or ``only`` those listed."""

    top: int | None = Field(
        default=None, gt=0, le=1000, description="the N largest groups by volume; the rest pooled"
    )
    only: list[str] | None = Field(
        default=None, min_length=1, description="only these values (group_by of one column)"
    )
    min_events: int = Field(
        default=100,
        gt=0,
        description="occurrence kinds: fewer events over the window is insufficient data",
    )


class SLOSpec(_Spec):
    name: Name = Field(description=f"unique within the signal: {NAME_HELP}")
    description: str | None = Field(default=None, description="what the SLO protects")
    sli: AnySliSpec = Field(description="what is measured: {kind: coverage | latency | ...}")
    objective: float = Field(
        gt=0,
        lt=1,
        description="share of good events or slices: a ratio strictly between 0 and 1, e.g. 0.99",
    )
    window: Duration = Field(description="the SLO window, e.g. 28d")
    target: TargetText | None = Field(
        default=None, description=f"timeslice SLOs only: {TARGET_HELP}"
    )
    timeslice: Duration | None = Field(
        default=None, description="timeslice SLOs only: the slice length, e.g. 1d"
    )
    alerting: AlertingSpec = Field(
        default_factory=AlertingSpec, description="{page: true, ticket: true, runbook: URL}"
    )
    group_by: list[Literal[DIMENSIONS]] | None = Field(
        default=None,
        min_length=1,
        max_length=2,
        description="evaluate per group of one or two columns: " + ", ".join(DIMENSIONS),
    )
    groups: GroupsSpec | None = Field(
        default=None, description="with group_by: {top: 20} or {only: [...]}, and min_events"
    )


class Document(_Spec):
    """One signal and its SLOs: the content of ``slo_definitions/<signal>.yaml``."""

    version: Literal[VERSION] = Field(description=f"the file format: {VERSION}")
    signal: SignalSpec = Field(description="the signal: name, owner, on-call, task, model")
    slos: list[SLOSpec] = Field(min_length=1, description="at least one SLO")


SLI_SPECS: dict[str, type[SliSpec]] = {
    kind: spec
    for spec in SliSpec.__subclasses__()
    for kind in spec.model_fields["kind"].annotation.__args__
}
"""Every SLI kind the file format knows, by its ``kind`` name."""


def json_schema() -> dict:
    """The JSON Schema of a ``sigwatch/v1`` file, for editors' YAML language servers."""
    schema = Document.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "sigwatch SLO definition (sigwatch/v1)"
    return schema
