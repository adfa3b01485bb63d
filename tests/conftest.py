from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "slo_definitions"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "definitions"


@pytest.fixture
def repo_root() -> Path:
    return ROOT
