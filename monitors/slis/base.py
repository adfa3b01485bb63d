"""What a timeslice SLI measurement returns, and the context it runs in."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sigwatch.model import Signal
from sigwatch.states import Verdict
from sigwatch.store import Store


@dataclass(frozen=True)
class SliValue:
    """One slice's measurement. ``unknown`` says why a slice cannot be judged
    (``Verdict.NO_DATA`` or ``Verdict.INSUFFICIENT_LABELS``); otherwise ``value`` is set."""

    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    samples: int | None = None
    unknown: Verdict | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What an evaluation of one signal needs; it also keeps the serving partials it has read,
    so the SLOs of one run share one read of the store."""

    data_dir: Path
    store: Store
    signal: Signal
    seed: int = 0
    reports_dir: Path | None = None
    _serving: list = field(default_factory=list, repr=False)
    _serving_span: tuple[datetime, datetime] | None = field(default=None, repr=False)
    _starts: list[datetime] = field(default_factory=list, repr=False)

    def serving(self, start: datetime, end: datetime) -> list:
        """Serving partials starting in ``[start, end)``, read once per widest span asked."""
        span = self._serving_span
        if span is None or start < span[0] or end > span[1]:
            lo = start if span is None else min(start, span[0])
            hi = end if span is None else max(end, span[1])
            self.prime(self.store.partials(self.signal.name, "serving", lo, hi), lo, hi)
        return self._serving[bisect_left(self._starts, start) : bisect_left(self._starts, end)]

    def prime(self, parts: list, start: datetime, end: datetime) -> None:
        """Use ``parts`` (oldest first) as the serving partials of ``[start, end)``: the ones
        just computed and stored, sparing a read of the store."""
        self._serving, self._serving_span = list(parts), (start, end)
        self._starts = [p.start for p in self._serving]
