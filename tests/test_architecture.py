"""The import direction of DESIGN.md, pinned: kernel <- inference, monitors <- alerts <- console;
simulator uses inference and the kernel; only sigwatch/cli/ composes everything."""

from __future__ import annotations

import ast
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
        "heavy = {'evidently', 'streamlit', 'torch', 'polars', 'pandas', 'slack_sdk'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
