"""The one place the typed values of an evaluation and an alert become JSON and come back.

The store keeps a status's, a measurement's and an alert's protocol (the bad slice, the
suspects, a grouped SLO's groups, the verdict, the alert's snapshot, the groups it lists, its
inhibitor…) in a JSON ``details`` column beside the kind's free-form display extras. This
module writes those keys and reads them back into ``sigwatch.states`` and
``sigwatch.store.alerts`` dataclasses; the JSON interfaces (``status --json``,
``alerts --json``) print them through it too. ``tests/test_codec.py`` fails if a protocol key
is read by string anywhere else.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from sigwatch.states import (
    AlertingGroup,
    AlertState,
    EstimateCheck,
    Fired,
    Gap,
    GapSide,
    GroupSummary,
    LabelledSlice,
    ListedGroup,
    MonitorFailure,
    Notified,
    Outcome,
    Severity,
    SliceCost,
    SliceEstimate,
    SloState,
    Snapshot,
    Suspect,
    Verdict,
    VerdictFrom,
)

if TYPE_CHECKING:
    from sigwatch.store import Measurement, SloStatus
    from sigwatch.store.alerts import Alert

# The keys of the protocol in the details column: read by string only in this module.
STATUS_KEYS = (
    "slice",
    "suspects",
    "group_by",
    "groups",
    "alerting",
    "worst",
    "unknown",
    "gap",
    "verdict_from",
    "estimated",
    "labelled_slices",
)
COST_KEYS = ("cost_usd", "items", "external_cost_usd", "source", "external_share")
MEASUREMENT_KEYS = ("verdict", "estimated", *COST_KEYS)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _when(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


# --- the pieces ------------------------------------------------------------------------------


def _flat(value: Any) -> dict[str, Any]:
    """A dataclass of plain fields (text, numbers, a StrEnum) as JSON: each field by its name,
    an enum as its word. Read back with ``cls(**raw)``."""
    return {
        f.name: v.value if isinstance(v, Enum) else v
        for f in fields(value)
        for v in [getattr(value, f.name)]
    }


def fired_json(fired: Fired) -> dict[str, Any]:
    return _flat(fired)


def fired_from(raw: dict[str, Any]) -> Fired:
    return Fired(**{**raw, "severity": Severity(raw["severity"])})


def suspect_json(suspect: Suspect) -> dict[str, Any]:
    return _flat(suspect)


def suspect_from(raw: dict[str, Any]) -> Suspect:
    return Suspect(**raw)


def _alerting_json(g: AlertingGroup) -> dict[str, Any]:
    out = {
        "group": g.group,
        "state": g.state.value,
        "severity": g.severity.value,
        "burn": g.burn,
        "value": g.value,
    }
    if g.slice is not None:
        out["slice"] = g.slice.isoformat()
    return out


def _alerting_from(raw: dict[str, Any]) -> AlertingGroup:
    return AlertingGroup(
        group=raw["group"],
        state=SloState(raw["state"]),
        severity=Severity(raw["severity"]),
        burn=raw.get("burn"),
        value=raw.get("value"),
        slice=_when(raw.get("slice")),
    )


def _side_json(side: GapSide) -> dict[str, Any]:
    return {
        "group": side.group,
        "value": side.value,
        "ci_low": side.ci_low,
        "ci_high": side.ci_high,
        "samples": side.samples,
        "slice": _iso(side.slice),
    }


def _side_from(raw: dict[str, Any]) -> GapSide:
    return GapSide(
        group=raw["group"],
        value=raw["value"],
        ci_low=raw.get("ci_low"),
        ci_high=raw.get("ci_high"),
        samples=raw.get("samples"),
        slice=_when(raw.get("slice")),
    )


def gap_json(gap: Gap) -> dict[str, Any]:
    return {
        "best": _side_json(gap.best),
        "worst": _side_json(gap.worst),
        "difference": gap.difference,
        "ci_low": gap.ci_low,
        "ci_high": gap.ci_high,
        "method": gap.method,
    }


def _gap_from(raw: dict[str, Any]) -> Gap:
    return Gap(
        best=_side_from(raw["best"]),
        worst=_side_from(raw["worst"]),
        difference=raw["difference"],
        ci_low=raw.get("ci_low"),
        ci_high=raw.get("ci_high"),
        method=raw.get("method"),
    )


def group_summary_json(summary: GroupSummary) -> dict[str, Any]:
    """A grouped SLO's own row, in ``status --json``'s words."""
    out: dict[str, Any] = {
        "groups": {s.value: n for s, n in summary.counts.items()},
        "worst_group": summary.worst,
        "alerting_groups": [_alerting_json(g) for g in summary.alerting],
    }
    if summary.gap is not None:
        out["gap"] = gap_json(summary.gap)
    return out


# --- a status --------------------------------------------------------------------------------


def status_details(status: SloStatus) -> dict[str, Any]:
    """The details column of a status: its display extras and its protocol."""
    out = dict(status.details)
    if status.slice is not None:
        out["slice"] = status.slice.isoformat()
    if status.suspects:
        out["suspects"] = [suspect_json(s) for s in status.suspects]
    summary = status.grouped
    if summary is not None:
        out["group_by"] = list(summary.by)
        out["groups"] = {s.value: n for s, n in summary.counts.items()}
        out["alerting"] = [_alerting_json(g) for g in summary.alerting]
        if summary.worst is not None:
            out["worst"] = summary.worst
        if summary.unknown is not None:
            out["unknown"] = list(summary.unknown)
        if summary.gap is not None:
            out["gap"] = gap_json(summary.gap)
    if status.verdict_from is not None:
        out["verdict_from"] = status.verdict_from.value
    if status.estimated is not None:
        out["estimated"] = estimate_json(status.estimated)
    if status.labelled:
        out["labelled_slices"] = [labelled_json(x) for x in status.labelled]
    return out


def labelled_json(labelled: LabelledSlice) -> dict[str, Any]:
    return {**_flat(labelled), "start": labelled.start.isoformat()}


def _labelled_from(raw: dict[str, Any]) -> LabelledSlice:
    start = datetime.fromisoformat(raw["start"])
    return LabelledSlice(**{**raw, "start": start, "verdict": Verdict(raw["verdict"])})


def estimate_check_json(check: EstimateCheck) -> dict[str, Any]:
    out = {**_flat(check), "slice": check.slice.isoformat()}
    out["labels"] = labelled_json(check.labels) if check.labels else None
    return out


def _estimate_check_from(raw: dict[str, Any] | None) -> EstimateCheck | None:
    if not raw:
        return None
    return EstimateCheck(
        **{
            **raw,
            "method": VerdictFrom(raw["method"]),
            "slice": datetime.fromisoformat(raw["slice"]),
            "outcome": Outcome(raw["outcome"]) if raw.get("outcome") else None,
            "labels": _labelled_from(raw["labels"]) if raw.get("labels") else None,
        }
    )


def estimate_json(estimated: SliceEstimate) -> dict[str, Any]:
    return _flat(estimated)


def estimate_from(raw: dict[str, Any] | None) -> SliceEstimate | None:
    """A slice's estimate from its JSON (its verdict as a ``Verdict``)."""
    if not raw:
        return None
    verdict = raw.get("verdict")
    return SliceEstimate(**{**raw, "verdict": Verdict(verdict) if verdict else None})


def status_fields(details: dict[str, Any]) -> dict[str, Any]:
    """A status's typed fields from its details column (``details``: what is left)."""
    rest = {k: v for k, v in details.items() if k not in STATUS_KEYS}
    grouped = None
    if "group_by" in details:
        grouped = GroupSummary(
            by=tuple(details["group_by"]),
            counts={SloState(s): n for s, n in details.get("groups", {}).items()},
            alerting=tuple(_alerting_from(g) for g in details.get("alerting", [])),
            worst=details.get("worst"),
            unknown=tuple(details["unknown"]) if "unknown" in details else None,
            gap=_gap_from(details["gap"]) if details.get("gap") else None,
        )
    return {
        "slice": _when(details.get("slice")),
        "suspects": tuple(suspect_from(s) for s in details.get("suspects", [])),
        "grouped": grouped,
        "verdict_from": VerdictFrom(details["verdict_from"]) if "verdict_from" in details else None,
        "estimated": estimate_from(details.get("estimated")),
        "labelled": tuple(_labelled_from(x) for x in details.get("labelled_slices", [])),
        "details": rest,
    }


# --- a measurement ---------------------------------------------------------------------------


def measurement_details(measurement: Measurement) -> dict[str, Any]:
    out = dict(measurement.details)
    if measurement.verdict is not None:
        out["verdict"] = measurement.verdict.value
    cost = measurement.cost
    if cost is not None:
        out.update(
            cost_usd=cost.cost_usd,
            items=cost.items,
            external_cost_usd=cost.external_cost_usd,
            source=cost.source,
        )
        if cost.external_share is not None:
            out["external_share"] = cost.external_share
    if measurement.estimated is not None:
        out["estimated"] = estimate_json(measurement.estimated)
    return out


def measurement_fields(details: dict[str, Any]) -> dict[str, Any]:
    verdict = details.get("verdict")
    cost = None
    if "cost_usd" in details:
        cost = SliceCost(
            cost_usd=details["cost_usd"],
            items=details["items"],
            external_cost_usd=details.get("external_cost_usd", 0.0),
            source=details.get("source", "logs"),
            external_share=details.get("external_share"),
        )
    estimated = details.get("estimated")
    return {
        "verdict": Verdict(verdict) if verdict else None,
        "cost": cost,
        "estimated": estimate_from(estimated),
        "details": {k: v for k, v in details.items() if k not in MEASUREMENT_KEYS},
    }


def judged_in(details: dict[str, Any]) -> tuple[Verdict | None, SliceEstimate | None]:
    """The verdict and the estimate of a measurement's details column (a chart reads them)."""
    return verdict_in(details), estimate_from(details.get("estimated"))


def verdict_in(details: dict[str, Any]) -> Verdict | None:
    """The verdict of a measurement's details column (a rollup reads only that)."""
    verdict = details.get("verdict")
    return Verdict(verdict) if verdict else None


# --- an alert --------------------------------------------------------------------------------


def alert_details(alert: Alert) -> dict[str, Any]:
    """The details column of an alert: what it last fired on and what it lists."""
    out: dict[str, Any] = {}
    seen = alert.seen
    if seen is not None:
        out.update(
            sli=seen.sli,
            state=seen.state.value,
            objective=seen.objective,
            target=seen.target,
            budget_remaining=seen.budget_remaining,
            ci_low=seen.ci_low,
            ci_high=seen.ci_high,
            samples=seen.samples,
            at=seen.at.isoformat(),
            fired=[fired_json(f) for f in seen.fired],
        )
        if seen.verdict_from is not None:
            out["verdict_from"] = seen.verdict_from.value
    failure = alert.failure
    if failure is not None:
        out.update(
            reason=failure.reason,
            failures=failure.failures,
            since=failure.since.isoformat(),
            last_ok=_iso(failure.last_ok),
            at=failure.at.isoformat(),
        )
    if alert.slice is not None:
        out["slice"] = alert.slice.isoformat()
    if alert.suspects:
        out["suspects"] = [suspect_json(s) for s in alert.suspects]
    if alert.groups is not None:
        out["groups"] = [listed_group_json(g) for g in alert.groups]
    if alert.inhibited_by:
        out["inhibited_by"] = alert.inhibited_by
    if alert.tail:
        out["tail"] = True
    if alert.estimate is not None:
        out["estimate"] = estimate_check_json(alert.estimate)
    return out


def alert_fields(details: dict[str, Any]) -> dict[str, Any]:
    """An alert's typed fields from its details column."""
    seen = failure = None
    if "sli" in details:
        seen = Snapshot(
            sli=details["sli"],
            state=SloState(details["state"]),
            objective=details["objective"],
            at=datetime.fromisoformat(details["at"]),
            target=details.get("target"),
            budget_remaining=details.get("budget_remaining"),
            ci_low=details.get("ci_low"),
            ci_high=details.get("ci_high"),
            samples=details.get("samples"),
            fired=tuple(fired_from(f) for f in details.get("fired", [])),
            verdict_from=VerdictFrom(details["verdict_from"])
            if details.get("verdict_from")
            else None,
        )
    if "failures" in details:
        failure = MonitorFailure(
            reason=details.get("reason") or "unknown error",
            failures=details["failures"],
            since=datetime.fromisoformat(details["since"]),
            last_ok=_when(details.get("last_ok")),
            at=datetime.fromisoformat(details["at"]),
        )
    groups = details.get("groups")
    return {
        "seen": seen,
        "failure": failure,
        "slice": _when(details.get("slice")),
        "suspects": tuple(suspect_from(s) for s in details.get("suspects", [])),
        "groups": None if groups is None else tuple(_listed_group_from(g) for g in groups),
        "inhibited_by": details.get("inhibited_by"),
        "tail": bool(details.get("tail")),
        "estimate": _estimate_check_from(details.get("estimate")),
    }


def listed_group_json(group: ListedGroup) -> dict[str, Any]:
    out = {
        "group": group.group,
        "severity": group.severity.value,
        "burn": group.burn,
        "value": group.value,
    }
    if group.clear_since is not None:
        out["clear_since"] = group.clear_since.isoformat()
    return out


def _listed_group_from(raw: dict[str, Any]) -> ListedGroup:
    return ListedGroup(
        group=raw["group"],
        severity=Severity(raw["severity"]),
        burn=raw.get("burn"),
        value=raw.get("value"),
        clear_since=_when(raw.get("clear_since")),
    )


def notified_json(notified: Notified) -> dict[str, Any]:
    out = {
        "state": notified.state.value,
        "severity": notified.severity.value,
        "burn": notified.burn,
    }
    if notified.groups is not None:
        out["groups"] = list(notified.groups)
    if notified.outcome is not None:
        out["outcome"] = notified.outcome.value
    return out


def notified_from(raw: dict[str, Any]) -> Notified:
    groups = raw.get("groups")
    return Notified(
        state=AlertState(raw["state"]),
        severity=Severity(raw["severity"]),
        burn=raw.get("burn") or 0.0,
        groups=None if groups is None else tuple(groups),
        outcome=Outcome(raw["outcome"]) if raw.get("outcome") else None,
    )
