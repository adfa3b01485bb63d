"""A live outage for the tests that run `sigwatch serve` on the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from sigwatch.clock import floor_time
from simulator.run import simulate
from tests.conftest import DEFINITIONS


def live_outage(
    registry,
    corpus_cache: Path,
    folder: Path,
    *,
    since: timedelta,
    ahead: timedelta,
    schedule: str | None = None,
) -> tuple[Path, Path, datetime]:
    """content_type's logs over the day before ``ahead`` past now (now floored to 5 minutes),
    with an outage from ``since`` before now to their end: written ahead, as the traffic would
    arrive while serve runs, so whichever 5-minute bucket serve evaluates during the test is
    full of the outage. And a definitions folder with content_type's occurrence SLOs only (a
    timeslice SLO's current slice would depend on the time of day), evaluated every
    ``schedule`` when given. Returns the data folder, the definitions folder and now."""
    now = floor_time(datetime.now(UTC), timedelta(minutes=5))
    end = now + ahead
    scenario = folder / "scenario.yaml"
    start = (now - since).strftime("%Y-%m-%dT%H:%M:%SZ")
    minutes = int((since + ahead).total_seconds() // 60)
    scenario.write_text(
        f"incidents:\n  - {{signal: content_type, kind: outage, start: {start}, "
        f"duration: {minutes}m}}\n"
    )
    data = folder / "data"
    traffic = {"days": 1, "seed": 9, "rate": 20_000, "cache_dir": corpus_cache}
    simulate(registry, data, end=end, scenario=scenario, **traffic)
    definitions = folder / "definitions"
    definitions.mkdir()
    spec = yaml.safe_load((DEFINITIONS / "content_type.yaml").read_text())
    spec["slos"] = [slo for slo in spec["slos"] if "timeslice" not in slo]
    if schedule is not None:
        spec["signal"]["schedule"] = schedule
    (definitions / "content_type.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return data, definitions, now
