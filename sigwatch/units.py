"""Parsing of the small textual units SLO files are written in: durations and targets.

Both the spec layer (to reject bad input with a helpful message) and the model layer (to turn
text into ``timedelta`` and comparisons) use these functions, so there is one grammar for each.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^(?:\d+[smhdw])+$")
_PART = re.compile(r"(\d+)([smhdw])")

DURATION_HELP = "a whole number and a unit s, m, h, d or w, e.g. 5m, 1h, 28d (or 1h30m)"


def parse_duration(text: str) -> timedelta:
    """Turn ``"28d"`` or ``"1h30m"`` into a ``timedelta``; raise ``ValueError`` otherwise."""
    cleaned = text.strip()
    if not _DURATION.match(cleaned):
        raise ValueError(f"bad duration {text!r}; allowed: {DURATION_HELP}")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(cleaned))
    if seconds <= 0:
        raise ValueError(f"duration {text!r} is zero; allowed: a positive {DURATION_HELP}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest text ``parse_duration`` reads back to ``delta``: 28 days -> ``28d``."""
    seconds = int(delta.total_seconds())
    if seconds <= 0 or seconds != delta.total_seconds():
        raise ValueError(f"{delta!r} is not a positive whole number of seconds")
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit]
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def short_span(span: timedelta) -> str:
    """A span as people read it in a report, to the minute: ``45m``, ``9h30m``, ``2d03h``."""
    minutes = round(span.total_seconds() / 60)
    if minutes >= 24 * 60:
        return f"{minutes // 1440}d{(minutes % 1440) // 60:02d}h"
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


_COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
_TARGET = re.compile(r"^\s*(>=|<=|>|<)\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$")

TARGET_HELP = "an operator (>=, >, <=, <) and a number, e.g. '>= 0.85' or '<= 0.40'"


@dataclass(frozen=True)
class Target:
    """A threshold a per-slice metric must meet, e.g. ``>= 0.85``.

    ``holds(value)`` says whether a point value meets it. For a value known only as an interval
    ``[low, high]``, ``violated_by(low, high)`` is true only when the *whole* interval lies on the
    wrong side: a quality slice is bad only when we are confident it is.
    """

    op: str
    value: float

    @property
    def higher_is_better(self) -> bool:
        return self.op in (">=", ">")

    def holds(self, value: float) -> bool:
        return _COMPARATORS[self.op](value, self.value)

    def violated_by(self, low: float, high: float) -> bool:
        # For ">= t" the interval is wholly wrong when even its top fails; for "<= t", its bottom.
        return not self.holds(high) if self.higher_is_better else not self.holds(low)

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


def parse_target(text: str) -> Target:
    """Turn ``">= 0.85"`` into a ``Target``; raise ``ValueError`` naming what is allowed."""
    match = _TARGET.match(text)
    if not match:
        raise ValueError(f"malformed target {text!r}; allowed: {TARGET_HELP}")
    return Target(op=match.group(1), value=float(match.group(2)))
