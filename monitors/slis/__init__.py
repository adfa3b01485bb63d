"""SLI kinds' calculations, one module (or more) per kind in this package: each defines a
subclass of ``OccurrenceCalculation`` or ``TimesliceCalculation`` (``monitors.slis.base``) for
the model class it calculates, and is registered by it. ``calculation(slo.sli)`` finds it.
Adding a kind: docs/adding-an-sli-kind.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from monitors.slis.base import calculation, registered


@cache
def load() -> None:
    """Import every module of the package, so every calculation is registered."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


__all__ = ["calculation", "load", "registered"]
