from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "slo_definitions"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "definitions"


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def registry():
    from sigwatch.registry import load_registry

    return load_registry(DEFINITIONS)


@pytest.fixture(scope="session")
def corpus_cache(tmp_path_factory):
    """One scored replay corpus for the whole session (embedding it is the slow part)."""
    return tmp_path_factory.mktemp("corpus-cache")
