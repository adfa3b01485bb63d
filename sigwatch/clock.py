"""Time, injected: everything that needs "now" takes a ``Clock``, so tests never read the wall.

``SystemClock`` is production's; ``FixedClock`` is set by hand and moved with ``advance``.
All times are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told to move; for tests and replays."""

    def __init__(self, at: datetime) -> None:
        self._now = _utc(at)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, at: datetime) -> None:
        self._now = _utc(at)


def clock_at(at: datetime | None) -> Clock:
    """The clock a composition root hands on: standing at ``at`` (a replay, a look at the past,
    a test) or, when ``at`` is None, the wall clock. The one place a clock is chosen."""
    return FixedClock(at) if at is not None else SystemClock()


def floor_time(at: datetime, step: timedelta) -> datetime:
    """``at`` rounded down to a whole multiple of ``step`` since the epoch (5 minutes, a day)."""
    seconds = int(at.timestamp())
    width = int(step.total_seconds())
    return datetime.fromtimestamp(seconds - seconds % width, UTC)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{at!r} has no time zone; sigwatch keeps every time in UTC")
    return at.astimezone(UTC)
