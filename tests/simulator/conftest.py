from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulator.run import simulate

END = datetime(2026, 11, 26, tzinfo=UTC)
RATE = 6000


@pytest.fixture(scope="session")
def simulated(registry, corpus_cache, tmp_path_factory):
    """Seven days of default-scenario traffic at a reduced rate."""
    data = tmp_path_factory.mktemp("sim")
    result = simulate(registry, data, days=7, seed=1, end=END, rate=RATE, cache_dir=corpus_cache)
    return data, result
