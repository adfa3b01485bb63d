"""The import direction of docs/architecture.md, pinned: kernel <- inference, monitors <- alerts
<- console; simulator uses inference and the kernel; only sigwatch/cli/ composes everything."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("sigwatch", "inference", "simulator", "monitors", "alerts", "console", "evaluation")
ALLOWED = {
    "sigwatch": {"sigwatch"},
    "inference": {"sigwatch", "inference"},
    "monitors": {"sigwatch", "monitors"},
    "simulator": {"sigwatch", "inference", "simulator"},
    "alerts": {"sigwatch", "monitors", "alerts"},
    "console": {"sigwatch", "monitors", "alerts", "inference", "evaluation", "console"},
    "evaluation": {"sigwatch", "inference", "monitors", "evaluation"},
}
COMPOSITION_ROOT = ROOT / "sigwatch" / "cli"


def first_party_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(n.split(".")[0] for n in names if n.split(".")[0] in PACKAGES)
    return found


def modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path


@pytest.mark.parametrize(
    ("package", "path"),
    list(modules()),
    ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else v,
)
def test_module_imports_only_what_its_package_may(package, path):
    if path.is_relative_to(COMPOSITION_ROOT):
        return
    forbidden = first_party_imports(path) - ALLOWED[package]
    assert not forbidden, f"{path.relative_to(ROOT)} imports {sorted(forbidden)}"


def test_the_checker_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import polars\nfrom console.app import main\nfrom .x import y\n")
    assert first_party_imports(bad) == {"console"}


def test_importing_the_cli_loads_no_heavy_dependency():
    # `sigwatch --help` must stay fast: evidently (~5 s), streamlit and torch load lazily.
    code = (
        "import sys, sigwatch.cli\n"
        "heavy = {'evidently', 'streamlit', 'torch', 'polars', 'pandas', 'slack_sdk',\n"
        "         'pyspark', 'py4j', 'grpc'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


WALL_CLOCK_READERS = {
    ("sigwatch/clock.py", "now"),  # SystemClock itself
    ("sigwatch/clock.py", "clock_at"),  # what the composition roots (CLI, console) call
}
WALL_CLOCK_CALLS = {"SystemClock", "now", "utcnow", "today", "time", "time_ns"}


def wall_clock_reads(path: Path) -> list[tuple[str, int]]:
    """(enclosing function, line) of every call that reads the wall clock: ``SystemClock()``,
    ``datetime.now()``, ``date.today()``, ``time.time()``; ``clock.now()`` on an injected clock
    is not one."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef) else function
            if isinstance(child, ast.Call) and _reads_the_wall(child.func):
                found.append((function, child.lineno))
            visit(child, inner)

    visit(tree, "<module>")
    return found


def _reads_the_wall(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return target.id == "SystemClock"
    return (
        isinstance(target, ast.Attribute)
        and target.attr in WALL_CLOCK_CALLS
        and isinstance(target.value, ast.Name)
        and target.value.id in {"datetime", "date", "time"}
    )


def test_only_the_composition_roots_read_the_wall_clock():
    """Library code takes a clock or a time; only the CLI and the console's settings decide
    what "now" is (through ``clock_at``), so every test can pass one in."""
    offenders = []
    for _, path in modules():
        if path.is_relative_to(COMPOSITION_ROOT):
            continue
        where = str(path.relative_to(ROOT))
        for function, line in wall_clock_reads(path):
            if (where, function) not in WALL_CLOCK_READERS:
                offenders.append(f"{where}:{line} in {function}()")
    assert offenders == []


def test_the_wall_clock_checker_sees_each_way_of_reading_it(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import time\nfrom datetime import date, datetime\n"
        "def a():\n    return datetime.now()\n"
        "def b():\n    return SystemClock().now(), date.today(), time.time()\n"
        "def c(clock):\n    return clock.now(), time.perf_counter()\n"
    )
    assert wall_clock_reads(bad) == [("a", 4), ("b", 6), ("b", 6), ("b", 6)]


# SQL as our modules write it: a statement's opening words
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE|"
    r"ALTER\s+TABLE|DROP\s+TABLE)\b",
    re.IGNORECASE | re.DOTALL,
)
STORE = (ROOT / "sigwatch" / "store", ROOT / "sigwatch" / "migrations.py")


def sql_in(path: Path) -> list[str]:
    """The string literals of a module that read as SQL (docstrings left out)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        if id(node) in parts:  # a piece of an f-string, read whole below
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            text = node.value
        else:
            continue
        if SQL.search(text):
            found.append(f"line {node.lineno}: {text[:60]!r}")
    return found


@pytest.mark.parametrize(
    "path",
    [p for _, p in modules() if not any(p.is_relative_to(s) for s in STORE)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_module_outside_the_store_holds_sql(path):
    assert not sql_in(path), f"{path.relative_to(ROOT)} holds SQL: {sql_in(path)}"


def test_the_sql_checker_sees_sql_and_not_prose(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        '"""We select from the logs and update the tables."""\n'
        'A = "SELECT MAX(at) FROM slo_status"\n'
        'B = f"UPDATE outbox SET {x} WHERE id = ?"\n'
        'C = "choose the rows to update, then set them"\n'
    )
    assert [f[:7] for f in sql_in(module)] == ["line 2:", "line 3:"]
