"""SLI kinds, one calculation module each in this package, found by the ``KINDS`` it declares
(the ``kind`` names of ``sigwatch.model``).

An occurrence kind's module counts good events in the serving table:
``good_total(sli, signal, table) -> (good, total)`` per bucket (optionally ``errors(table)``
and ``display(ctx, at)``). A timeslice kind's module measures one slice:
``measure(ctx, slo, start, end, at) -> SliValue``. Adding a kind: docs/adding-an-sli-kind.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType


@cache
def _modules() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for kind in getattr(module, "KINDS", ()):
            if kind in found:
                raise RuntimeError(
                    f"SLI kind {kind!r} is declared by {found[kind].__name__} and {module.__name__}"
                )
            found[kind] = module
    return found


def module(kind: str) -> ModuleType:
    """The module that calculates SLI ``kind``."""
    try:
        return _modules()[kind]
    except KeyError:
        raise KeyError(
            f"no module in monitors/slis declares SLI kind {kind!r}; declared: "
            f"{', '.join(sorted(_modules()))}"
        ) from None


def kinds() -> list[str]:
    return sorted(_modules())
