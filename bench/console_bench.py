"""Console: server-side render time of the Overview and Signal detail pages (streamlit's
AppTest runs the page script as the server would) over a store holding 50 signals x 90 days
of 5-minute measurements (about 3.9M rows, generated, seeded), cold (empty cache) and warm.
Baseline in the same run: a page script that only opens the store and writes a title (the
fixed cost of a run). Target: under 1 s each, cold, on 2 cores."""

from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

SIGNALS = 50
DAYS = 90
END = datetime(2026, 11, 26, tzinfo=UTC)
BUCKET = 300


def _registry(folder: Path) -> Path:
    """50 signals: the shipped five, cloned under new names."""
    from sigwatch.registry import load_registry, to_spec_dict
    from sigwatch.settings import Settings

    shipped = list(load_registry(Settings.from_env().definitions_dir))
    out = folder / "definitions"
    out.mkdir()
    for k in range(SIGNALS):
        spec = to_spec_dict(shipped[k % len(shipped)])
        spec["signal"]["name"] = f"{spec['signal']['name']}_{k:02d}"
        (out / f"{spec['signal']['name']}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return out


def _store(folder: Path, definitions: Path) -> int:
    from sigwatch.clock import FixedClock
    from sigwatch.model import Budgeting
    from sigwatch.registry import load_registry
    from sigwatch.store import SloStatus, Store, to_epoch

    registry = load_registry(definitions)
    rng = random.Random(7)
    end, start = to_epoch(END), to_epoch(END - timedelta(days=DAYS))
    rows = 0
    with Store.open(folder / "sigwatch.db", clock=FixedClock(END)) as store:
        for signal in registry:
            params, statuses = [], []
            for slo in signal.slos:
                occurrences = slo.objective.budgeting is Budgeting.OCCURRENCES
                step = BUCKET if occurrences else 86400
                for t in range(start, end, step):
                    total = rng.randint(40, 90) if occurrences else 1
                    good = total - (rng.random() < 0.05) * rng.randint(0, 3) if occurrences else 1
                    details = None if occurrences else '{"verdict": "good"}'
                    value = good / total if occurrences else rng.uniform(0.7, 0.95)
                    params.append((signal.name, slo.name, t, t + step, slo.sli.kind, good, total,
                                   value, None, None, total, details, t + step))  # fmt: skip
                for t in range(start + 3600, end + 1, 3600):  # hourly status history
                    at = datetime.fromtimestamp(t, UTC)
                    statuses.append(SloStatus(
                        signal=signal.name, slo=slo.name, at=at, sli=slo.sli.kind, state="ok",
                        objective=slo.objective.ratio, evaluated_at=at, window_end=at,
                        value=0.99, budget_remaining=0.5, burn_rates={"1h": 0.4, "5m": 0.2},
                    ))  # fmt: skip
            with store.transaction():
                store._conn.executemany(
                    "INSERT INTO measurements (signal, slo, window_start, window_end, sli, good,"
                    " total, value, ci_low, ci_high, samples, details, evaluated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    params,
                )
            store.put_status(statuses)
            rows += len(params)
    return rows


def _render(page: Path, query: dict | None = None) -> float:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(page), default_timeout=300)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    started = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - started
    assert not at.exception, [e.value for e in at.exception]
    return seconds


def main() -> None:
    from console import common

    views = Path(common.__file__).parent / "views"
    with tempfile.TemporaryDirectory(prefix="sigwatch-console-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        definitions = _registry(folder)
        rows = _store(folder, definitions)
        print(f"store: {SIGNALS} signals x {DAYS} days, {rows:,} measurements "
              f"({(folder / 'sigwatch.db').stat().st_size / 1e6:.0f} MB), generated in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        os.environ["SIGWATCH_DATA"] = str(folder)
        os.environ["SIGWATCH_DEFINITIONS"] = str(definitions)
        os.environ["SIGWATCH_CONSOLE_AT"] = END.isoformat()  # the console's now: the data's end
        baseline = folder / "baseline.py"
        baseline.write_text(
            "import streamlit as st\nfrom console import common\n"
            "st.title('baseline')\ncommon.require_data()\n"
        )
        _render(baseline)  # imports paid once, as a running server has them
        base = min(_render(baseline) for _ in range(3))
        print(f"  baseline (open the store, a title): {base * 1000:.0f} ms")
        for name, page, query in (
            ("Overview", views / "overview.py", None),
            ("Signal detail", views / "signal_detail.py", {"signal": "content_type_00"}),
        ):
            common.read.clear()
            cold = _render(page, query)
            warm = min(_render(page, query) for _ in range(3))
            verdict = "ok" if cold < 1 else "OVER"
            print(f"  {name}: cold {cold * 1000:.0f} ms ({cold / base:.1f}x baseline), warm "
                  f"{warm * 1000:.0f} ms (target < 1 s cold: {verdict})")  # fmt: skip


if __name__ == "__main__":
    main()
