"""The kernel's exported members: what other packages may rely on. Changing it is deliberate."""

from __future__ import annotations

import sigwatch

EXPECTED = {
    "SLIKind",
    "SLO",
    "SloAlerting",
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
    "Secret",
    "Settings",
    "Severity",
    "Signal",
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
}


def test_kernel_exports_exactly_the_public_api():
    assert set(sigwatch.__all__) == EXPECTED
    assert len(sigwatch.__all__) == len(EXPECTED), "an export is listed twice"


def test_every_export_resolves():
    missing = [name for name in sigwatch.__all__ if not hasattr(sigwatch, name)]
    assert missing == []


def test_every_sli_kind_has_a_distinct_name_and_a_budgeting_method():
    kinds = {
        sigwatch.CoverageSLI: "coverage",
        sigwatch.ErrorRateSLI: "error_rate",
        sigwatch.LatencySLI: "latency",
        sigwatch.AucSLI: "auc",
        sigwatch.DriftSLI: "drift",
        sigwatch.CostPer1kSLI: "cost_per_1k",
        sigwatch.DailySpendSLI: "daily_spend",
    }
    for cls, kind in kinds.items():
        assert cls.kind == kind
        assert isinstance(cls.budgeting, sigwatch.Budgeting)
    quality = sigwatch.QualitySLI(metric="recall", cls=None, min_labels=10)
    assert quality.kind == "recall" and quality.budgeting is sigwatch.Budgeting.TIMESLICES
