"""docs/data-contracts.md is the input contract a team reads: its tables must be what the code
enforces, and its Polars snippet must write a day of logs the monitors accept."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime

from monitors import prometheus
from monitors.logs import CONTENT_CONTRACT, LABEL_CONTRACT, LOG_CONTRACT, TASKS, type_name
from monitors.runner import Monitor
from sigwatch.clock import FixedClock
from sigwatch.store import Store
from simulator import metrics
from tests.conftest import ROOT

ORDER = ("multiclass", "score", "multilabel", "entities")


def section() -> str:
    """The contract's inputs: docs/data-contracts.md up to what sigwatch keeps."""
    text = (ROOT / "docs" / "data-contracts.md").read_text()
    start = text.index("## Inputs")
    return text[start : text.index("\n## ", start + 1)]


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of ``text``: its body rows as cells, backticks stripped."""
    found, rows = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            rows.append([cell.strip().strip("`") for cell in line.strip().strip("|").split("|")])
        elif rows:
            found.append(rows[2:])  # drop the header and its --- line
            rows = []
    return found


def required_for(column) -> str:
    if column.tasks == TASKS:
        return "every signal"
    if column.if_present:
        return "optional: " + ", ".join(t for t in ORDER if t in column.if_present)
    return ", ".join(t for t in ORDER if t in column.tasks) or "optional"


def test_the_readme_tables_are_the_contract_the_readers_enforce():
    logs, labels, content, families = tables(section())
    for documented, contract in ((logs, LOG_CONTRACT), (labels, LABEL_CONTRACT)):
        assert [row[:3] for row in documented] == [
            [c.name, type_name(c.dtype), required_for(c)] for c in contract
        ]
    assert [row[:2] for row in content] == [[c.name, type_name(c.dtype)] for c in CONTENT_CONTRACT]
    expected = {
        prometheus.LATENCY: ("histogram", metrics.LABELS[metrics.LATENCY]),
        prometheus.REQUESTS: ("counter", metrics.LABELS[metrics.REQUESTS]),
        prometheus.COST: ("counter", metrics.LABELS[metrics.COST]),
    }
    documented = {
        name: (kind, tuple(label.strip(" `") for label in names.split(",")))
        for name, kind, names, _ in families
    }
    assert documented == expected


def test_the_readme_snippet_writes_a_day_of_logs_the_monitors_measure(registry, tmp_path):
    (code,) = re.findall(r"```python\n(.*?)```", section(), re.S)
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
    data = tmp_path / "var"
    at = datetime(2026, 11, 25, 10, tzinfo=UTC)
    clock = FixedClock(at)
    with Store.open(data / "sigwatch.db", clock=clock) as store:
        (outcome,) = Monitor(registry, data, store, clock).run(at, signals=["content_type"])
    assert outcome.ok, outcome.error
    coverage = {s.slo: s for s in outcome.statuses}["coverage"]
    # two items, one served, one abstained under the serving threshold
    assert (coverage.samples, coverage.value) == (2, 0.5)
