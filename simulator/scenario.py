"""Incidents injected into simulated traffic, on a known schedule.

Every incident has a signal, a kind, a window ``[start, end)`` and parameters. Its kind says
which SLIs it should push out of ``ok`` (``BREAKS``), which SLIs' estimates it may move
without breaking them (``ESTIMATE_SEES``) and which estimators should see a quality drop before
the labels land (``SEEN_BY``: a regressed model is unsure of its wrong answers, which CBPE
reads; a concept shift is confidently wrong, which only the judge and the audit see);
``manifest()`` turns those into ``incidents.json`` (``slos``, ``estimated``, ``seen_by``).
Everything outside these windows is healthy traffic, so an alert that no incident explains is
a false alarm.

Three kinds are confined to one slice of a signal's traffic (``where``): a coverage drop in one
community, a canary model version that is slow, a quality drop in one community. Each is
diluted enough that the signal-level SLOs stay quiet; the SLOs grouped by that column
(``group_by``) are the ones that should alert.

The default scenario places one incident of each signal-wide kind on a different signal, and
the three slice incidents on content_type and sentiment, at fixed shares of the simulated
range, counted in whole days from its first UTC midnight (so 7 and 14 days both work, ending at
any time of day); incidents judged per day (cost, drift, quality) cover whole UTC days.

A YAML scenario file lists incidents explicitly::

    incidents:
      - signal: sentiment
        kind: coverage_drop
        start: 2d          # after the simulation start, or an ISO time like 2026-11-20T06:00:00Z
        duration: 12h      # or end: (same forms as start)
        params: {abstain_share: 0.3}
      - signal: content_type
        kind: slice_coverage_drop
        where: {community: sports}   # the slice: one dimension column and its value
        start: 1d6h
        duration: 10h
      - signal: sentiment
        kind: slice_quality_regression
        where: {community: movies}
        miss: negative     # the model misses this class there (default: any class, wrongly)
        start: 2d
        duration: 2d
      - signal: sentiment
        kind: concept_shift
        miss: negative     # 90% of what it reads as the next class means negative now
        start: 4d
        duration: 2d
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sigwatch.model import Registry, Signal
from sigwatch.units import parse_duration
from sigwatch.yamlsource import YamlIssue, read_yaml

# kind -> the SLI kinds it should break
BREAKS: dict[str, tuple[str, ...]] = {
    "coverage_drop": ("coverage",),
    "latency_regression": ("latency",),
    "cost_spike": ("cost_per_1k", "latency"),  # the external API is slow as well as dear
    "input_drift": ("drift",),
    "quality_regression": ("precision", "recall", "f1", "auc"),
    "outage": ("coverage", "error_rate"),
    "slice_coverage_drop": ("coverage",),
    "canary_latency": ("latency",),
    "slice_quality_regression": ("precision", "recall", "f1"),
    "concept_shift": ("precision", "recall", "f1"),
}
# kind -> the estimators that should see its quality drop before the labels land. A regressed
# model is unsure of its wrong answers (its confidence falls), which CBPE reads from the logs;
# a concept shift leaves the model as sure as ever (the world changed, not the model), which
# only labels can show: the LLM judge's the next day, people's later — and the audit, as the
# estimate's bands stop holding the labels' values.
SEEN_BY: dict[str, tuple[str, ...]] = {
    "quality_regression": ("cbpe", "judge"),
    "slice_quality_regression": ("judge",),
    "concept_shift": ("judge",),
}
# kind -> the SLI kinds whose estimate (``estimate: {method: cbpe}``) it may move without
# breaking them: the drifted inputs make the model less sure, which CBPE reads as lower quality
# until the slice's labels withdraw (or confirm) the estimated ticket
ESTIMATE_SEES: dict[str, tuple[str, ...]] = {"input_drift": ("precision", "recall", "f1", "auc")}
SLICED = ("slice_coverage_drop", "canary_latency", "slice_quality_regression")  # need ``where``
# kind -> parameter -> (default, low, high)
PARAMS: dict[str, dict[str, tuple[Any, float, float]]] = {
    "coverage_drop": {"abstain_share": (0.5, 0.0, 1.0)},
    "latency_regression": {"factor": (4.0, 1.0, 100.0)},
    "cost_spike": {"external_share": (0.45, 0.0, 1.0)},
    "input_drift": {"share": (0.5, 0.0, 1.0)},
    "quality_regression": {"corrupt_share": (0.5, 0.0, 1.0)},
    "outage": {},
    "slice_coverage_drop": {"abstain_share": (0.7, 0.0, 1.0)},
    "canary_latency": {"factor": (2.5, 1.0, 100.0), "canary_share": (0.1, 0.0, 1.0)},
    "slice_quality_regression": {"corrupt_share": (0.6, 0.0, 1.0)},
    "concept_shift": {"share": (0.9, 0.0, 1.0)},
}
MISSES = ("slice_quality_regression", "concept_shift")  # kinds that may name the class missed
# The slice each sliced kind is confined to may be any of these columns; a canary is a version.
WHERE = {
    "slice_coverage_drop": ("community", "language", "item_kind"),
    "canary_latency": ("model_version",),
    "slice_quality_regression": ("community", "language", "item_kind"),
}
# New model versions rolled out by the incidents that are bad deploys.
BAD_VERSION = {"coverage_drop": "2026.12-rc1", "quality_regression": "2026.12-rc2"}
DRIFT_COMMUNITY = "health"
CANARY_VERSION = "2026.12-rc3"


@dataclass(frozen=True)
class Incident:
    signal: str
    kind: str
    start: datetime
    end: datetime
    params: dict[str, float] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)  # the slice it is confined to
    miss: str | None = None  # a quality regression or concept shift: the class misread

    def param(self, name: str) -> float:
        return self.params.get(name, PARAMS[self.kind][name][0])

    def slos(self, signal: Signal, judged: bool = False) -> list[str]:
        """The SLOs of ``signal`` this incident should push out of ``ok``; judge-based ones
        only when ``judged`` (the simulated judge labels the history, as in ``sigwatch demo``;
        the simulator itself writes human labels only). A slice incident breaks only the SLOs
        grouped by its slice's column: it is diluted below every signal-level threshold."""
        return [
            slo.name
            for slo in signal.slos
            if slo.sli.kind in BREAKS[self.kind]
            and (judged or getattr(slo.sli, "labels", "") != "judge")
            and (
                not self.where
                or (slo.grouping is not None and set(self.where) <= set(slo.grouping.by))
            )
        ]

    def estimated(self, signal: Signal, judged: bool = False) -> list[str]:
        """The SLOs of ``signal`` whose estimate this incident may move (``ESTIMATE_SEES``):
        an estimated ticket there is explained by it, and the labels settle it."""
        return [
            slo.name
            for slo in signal.slos
            if slo.sli.kind in ESTIMATE_SEES.get(self.kind, ())
            and getattr(slo.sli, "estimate", None) is not None
            and slo.grouping is None
            and slo.name not in self.slos(signal, judged)
        ]


class ScenarioError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def default_scenario(start: datetime, days: int, registry: Registry) -> list[Incident]:
    """One incident of each kind, each on another signal (those of the shipped registry)."""
    if days < 7:
        raise ScenarioError(
            [
                f"the default scenario needs at least 7 days, got {days}; allowed: --days 7 "
                "or more, or --scenario none for healthy traffic only"
            ]
        )
    day = timedelta(days=1)
    # Incidents judged per UTC day (cost, drift, quality) must cover whole days: count days
    # from the first midnight of the range.
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    first = midnight if midnight == start else midnight + day

    def at(share: float) -> datetime:
        return first + round(share * (days - 1)) * day

    plan = [
        (
            "product_category",
            "latency_regression",
            at(0.15) + timedelta(hours=14),
            timedelta(hours=10),
        ),
        ("content_type", "cost_spike", at(0.3), day),
        ("sentiment", "coverage_drop", at(0.45) + timedelta(hours=12), timedelta(hours=12)),
        ("product_entities", "input_drift", at(0.55), 2 * day),
        ("content_type", "quality_regression", at(0.7), 2 * day),
        ("commercial_intent", "outage", at(0.85) + timedelta(hours=9), timedelta(hours=3)),
    ]
    sliced = [
        # sports carries 7% of content_type's traffic: 70% of it unserved burns its group's
        # 7% budget at 10x, and the signal's 3% at about 2x
        (
            "content_type",
            "slice_coverage_drop",
            {"community": "sports"},
            at(0.1) + timedelta(hours=6),
            timedelta(hours=10),
        ),
        # a canary on 10% of traffic, 2.5x slower: about 15% of its answers over 100 ms, a
        # 15x burn in its group and 1.5x at the signal level, for 8 hours
        (
            "sentiment",
            "canary_latency",
            {"model_version": CANARY_VERSION},
            at(0.7) + timedelta(hours=6),
            timedelta(hours=8),
        ),
        # movies holds about a quarter of sentiment's negatives: the model misses 60% of them
        # there (its negative recall 0.5 -> 0.2), the signal's recall stays above its target
        # (two days: late labels judge the first inside the incident)
        ("sentiment", "slice_quality_regression", {"community": "movies"}, at(0.2), 2 * day),
    ]
    known = set(registry.names)
    missed = {"slice_quality_regression": "negative"}
    # a concept shift: half the posts the model reads as reviews are something else now (a new
    # kind of sponsored post, "other"); it reads them as before, as surely as before: only
    # labels (and the judge) see it. Its SLOs are not those of the days it shares.
    shift = Incident(
        "content_type", "concept_shift", at(0.2), at(0.2) + 2 * day, {"share": 0.5}, miss="other"
    )
    return (
        [Incident(s, k, t, t + d) for s, k, t, d in plan if s in known]
        + ([shift] if shift.signal in known else [])
        + [
            Incident(s, k, t, t + d, where=dict(w), miss=missed.get(k))
            for s, k, w, t, d in sliced
            if s in known
        ]
    )


def load_scenario(path: Path, start: datetime, end: datetime, registry: Registry) -> list[Incident]:
    """Read and check a scenario file; every problem is reported, with file, line and field."""
    try:
        doc = read_yaml(path)
    except YamlIssue as issue:
        raise ScenarioError([f"{path}:{issue.line}: {issue.message}"]) from None
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read the scenario file: {exc.strerror}"]) from None
    raw = doc.data
    problems: list[str] = []

    def problem(loc: tuple, message: str) -> None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        problems.append(f"{path}:{doc.line_of(loc)}: {where}: {message}")

    if (
        not isinstance(raw, dict)
        or set(raw) - {"incidents"}
        or not isinstance(raw.get("incidents"), list)
    ):
        raise ScenarioError(
            [f"{path}:1: expected a mapping with one key; allowed: incidents: [...]"]
        )
    incidents = []
    for i, item in enumerate(raw["incidents"]):
        loc = ("incidents", i)
        if not isinstance(item, dict):
            problem(
                loc, "expected a mapping; allowed: signal, kind, start, duration or end, params"
            )
            continue
        keys = ("signal", "kind", "start", "duration", "end", "params", "where", "miss")
        for key in sorted(set(item) - set(keys)):
            problem((*loc, key), f"unknown key; allowed: {', '.join(keys)}")
        signal, kind = item.get("signal"), item.get("kind")
        if signal not in registry.names:
            problem(
                (*loc, "signal"), f"unknown signal {signal!r}; allowed: {', '.join(registry.names)}"
            )
        if kind not in BREAKS:
            problem((*loc, "kind"), f"unknown incident kind {kind!r}; allowed: {', '.join(BREAKS)}")
        begin = _when(item.get("start"), start, (*loc, "start"), problem)
        if "duration" in item and "end" in item:
            problem((*loc, "end"), "give duration or end, not both")
        finish = None
        if "end" in item:
            finish = _when(item.get("end"), start, (*loc, "end"), problem)
        elif "duration" in item and begin is not None:
            try:
                finish = begin + parse_duration(str(item["duration"]))
            except ValueError as exc:
                problem((*loc, "duration"), str(exc))
        else:
            problem(loc, "the incident needs duration or end; allowed: e.g. duration: 12h")
        params = item.get("params") or {}
        if kind in PARAMS and isinstance(params, dict):
            for name, value in params.items():
                if name not in PARAMS[kind]:
                    allowed = ", ".join(PARAMS[kind]) or "none"
                    problem(
                        (*loc, "params", name), f"unknown parameter for {kind}; allowed: {allowed}"
                    )
                    continue
                _, low, high = PARAMS[kind][name]
                if not isinstance(value, int | float) or not low <= value <= high:
                    problem(
                        (*loc, "params", name),
                        f"{value!r} is out of range; allowed: a number in [{low:g}, {high:g}]",
                    )
        if begin is not None and finish is not None:
            if finish <= begin:
                problem(loc, "the incident ends before it starts")
            elif begin < start or finish > end:
                problem(
                    loc,
                    f"window {begin.isoformat()} .. {finish.isoformat()} is outside the simulated "
                    f"range; allowed: within {start.isoformat()} .. {end.isoformat()}",
                )
        where = _where(item.get("where"), kind, (*loc, "where"), problem)
        miss = item.get("miss")
        if kind == "concept_shift" and miss is None and signal in registry.names:
            classes = ", ".join(registry.get(signal).classes or ("(a multiclass signal's)",))
            problem(
                loc,
                f"a concept_shift names the class the model misreads; allowed: miss: "
                f"one of {classes}",
            )
        if miss is not None and signal in registry.names:
            classes = registry.get(signal).classes
            if kind not in MISSES or registry.get(signal).task != "multiclass":
                problem(
                    (*loc, "miss"),
                    f"miss is for a {' or '.join(MISSES)} of a multiclass signal; allowed: "
                    "remove it",
                )
            elif miss not in classes:
                problem((*loc, "miss"), f"{miss!r} is not a class; allowed: {', '.join(classes)}")
        if not problems:
            incidents.append(Incident(signal, kind, begin, finish, dict(params), where, miss))
    if problems:
        raise ScenarioError(problems)
    return incidents


def _where(value, kind, loc: tuple, problem) -> dict[str, str]:
    """A slice incident's ``where``: one column of the kind's ``WHERE`` and its value."""
    if kind not in SLICED:
        if value is not None:
            problem(loc, f"{kind} hits the whole signal; allowed: where with {', '.join(SLICED)}")
        return {}
    columns = WHERE.get(kind, ())
    allowed = f"a mapping of one of {', '.join(columns)} to its value, e.g. {{{columns[0]}: x}}"
    if value is None:
        problem(loc[:-1], f"a {kind} incident is confined to a slice; add where: {allowed}")
        return {}
    if (
        not isinstance(value, dict)
        or len(value) != 1
        or not set(value) <= set(columns)
        or not all(isinstance(v, str) and v for v in value.values())
    ):
        problem(loc, f"cannot read {value!r}; allowed: {allowed}")
        return {}
    return dict(value)


def _when(value, start: datetime, loc: tuple, problem) -> datetime | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            problem(loc, "a time needs a zone; allowed: e.g. 2026-11-20T06:00:00Z")
            return None
        return value
    if isinstance(value, str):
        try:
            return start + parse_duration(value)
        except ValueError:
            try:
                when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                when = None
            if when is not None and when.tzinfo is not None:
                return when
    problem(
        loc,
        f"cannot read {value!r}; allowed: an offset like 2d6h or a time like 2026-11-20T06:00:00Z",
    )
    return None


def manifest(incidents: list[Incident], registry: Registry, judged: bool = False) -> list[dict]:
    """``incidents.json``: each incident with the SLOs it should break (judge-based ones too
    when the simulated judge labels the history: ``judged``)."""
    out = []
    for incident in sorted(incidents, key=lambda i: (i.start, i.signal)):
        slos = incident.slos(registry.get(incident.signal), judged)
        out.append(
            {
                "signal": incident.signal,
                "kind": incident.kind,
                "start": incident.start.isoformat(),
                "end": incident.end.isoformat(),
                "slo": slos[0] if slos else None,
                "slos": slos,
                "estimated": incident.estimated(registry.get(incident.signal), judged),
                "seen_by": list(SEEN_BY.get(incident.kind, ())),
                "params": {name: incident.param(name) for name in PARAMS[incident.kind]},
                "model_version": incident.where.get("model_version")
                or BAD_VERSION.get(incident.kind),
                "where": incident.where,
                "miss": incident.miss,
            }
        )
    return out
