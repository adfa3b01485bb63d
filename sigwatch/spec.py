"""The ``sigwatch/v1`` SLO file as pydantic models: a strict mirror of the YAML.

Unknown keys are forbidden and types are strict (``version: 2026.11`` is a number, not a string,
and is refused rather than coerced). An SLO's ``sli:`` is its kind's spec (``sigwatch.kinds``,
where each kind also says what is wrong with it given its signal). Checks that span fields (a
timeslice must be shorter than its window, ...) live in ``sigwatch.validation``; the mapping to
the internal model lives in ``sigwatch.registry``. ``Document.model_json_schema()`` is what
``sigwatch schema`` prints for editors.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sigwatch.kinds import SLI_SPECS, AnySliSpec
from sigwatch.model import DIMENSIONS, TASKS
from sigwatch.spectypes import (
    CHANNEL_HELP,
    NAME_HELP,
    Channel,
    Duration,
    Name,
    StrictSpec,
    TargetText,
    Url,
)
from sigwatch.units import TARGET_HELP

VERSION = "sigwatch/v1"


class ModelSpec(StrictSpec):
    id: Name = Field(description="the in-house model that serves the signal, e.g. content-type")
    version: str = Field(description='the model version, quoted, e.g. "2026.11"')


class JudgeExampleSpec(StrictSpec):
    text: str = Field(min_length=1, description="a post")
    label: Name = Field(description="its label: one of the judge's labels")


class JudgeSpec(StrictSpec):
    """How the LLM judge labels the signal's posts (evaluation/): one definition per class."""

    instructions: str = Field(default="", description="extra guidance for the judge")
    labels: dict[Name, str] = Field(
        min_length=2, description="class -> definition; exactly the signal's classes"
    )
    examples: list[JudgeExampleSpec] = Field(
        default_factory=list, description="few-shot examples: [{text: ..., label: ...}]"
    )


class SignalSpec(StrictSpec):
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


class AlertingSpec(StrictSpec):
    page: bool = Field(default=True, description="may this SLO page on-call (fast burn)?")
    ticket: bool = Field(default=True, description="may this SLO open a ticket (slow burn)?")
    runbook: Url | None = Field(default=None, description="the runbook's http(s) URL")


class GroupsSpec(StrictSpec):
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


class SLOSpec(StrictSpec):
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


class Document(StrictSpec):
    """One signal and its SLOs: the content of ``slo_definitions/<signal>.yaml``."""

    version: Literal[VERSION] = Field(description=f"the file format: {VERSION}")
    signal: SignalSpec = Field(description="the signal: name, owner, on-call, task, model")
    slos: list[SLOSpec] = Field(min_length=1, description="at least one SLO")


def json_schema() -> dict:
    """The JSON Schema of a ``sigwatch/v1`` file, for editors' YAML language servers."""
    schema = Document.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "sigwatch SLO definition (sigwatch/v1)"
    return schema


__all__ = ["SLI_SPECS", "AnySliSpec", "Document", "SLOSpec", "SignalSpec", "json_schema"]
