"""What a timeslice SLI measurement returns, and the context it runs in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigwatch.model import Signal
from sigwatch.store import Store


@dataclass(frozen=True)
class SliValue:
    """One slice's measurement. ``unknown`` says why a slice cannot be judged
    (``no_data`` or ``insufficient_labels``); otherwise ``value`` is set."""

    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    samples: int | None = None
    unknown: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    data_dir: Path
    store: Store
    signal: Signal
    seed: int = 0
    reports_dir: Path | None = None
