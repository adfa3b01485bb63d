"""sigwatch's kernel: SLO files -> validated model, settings, the clock and the store.

Public API (pinned by ``tests/test_public_api.py``)::

    load_registry(path) -> Registry        # raises DefinitionError listing every problem
    check_paths([path]) -> [FileCheck]     # every problem, never raises for bad content
    Registry, Signal, SLO, Objective, Budgeting, Target and the SLI kinds (sigwatch.kinds)
    Settings.from_env(), Secret
    Clock, SystemClock, FixedClock
    SloState, Verdict, Severity, Fired   # what an evaluation says (sigwatch.states)
    Store.open(path, clock=...), Measurement
"""

from sigwatch.clock import Clock, FixedClock, SystemClock
from sigwatch.kinds import (
    AucSLI,
    CostPer1kSLI,
    CoverageSLI,
    DailySpendSLI,
    DriftReference,
    DriftSLI,
    ErrorRateSLI,
    JudgedQualitySLI,
    LatencySLI,
    QualitySLI,
    SLIKind,
)
from sigwatch.model import SLO, Budgeting, ModelRef, Objective, Registry, Signal, SloAlerting
from sigwatch.registry import DefinitionError, load_registry, to_model, to_spec
from sigwatch.settings import Secret, Settings
from sigwatch.states import Fired, Severity, SloState, Verdict
from sigwatch.store import Measurement, Store
from sigwatch.units import Target, format_duration, parse_duration, parse_target
from sigwatch.validation import FileCheck, Problem, check_paths

__version__ = "0.1.0"

__all__ = [
    "SLO",
    "AucSLI",
    "Budgeting",
    "Clock",
    "CostPer1kSLI",
    "CoverageSLI",
    "DailySpendSLI",
    "DefinitionError",
    "DriftReference",
    "DriftSLI",
    "ErrorRateSLI",
    "FileCheck",
    "Fired",
    "FixedClock",
    "JudgedQualitySLI",
    "LatencySLI",
    "Measurement",
    "ModelRef",
    "Objective",
    "Problem",
    "QualitySLI",
    "Registry",
    "SLIKind",
    "Secret",
    "Settings",
    "Severity",
    "Signal",
    "SloAlerting",
    "SloState",
    "Store",
    "SystemClock",
    "Target",
    "Verdict",
    "check_paths",
    "format_duration",
    "load_registry",
    "parse_duration",
    "parse_target",
    "to_model",
    "to_spec",
]
