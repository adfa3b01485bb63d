"""The design lives in the repository: every file or folder of it that a docstring, the README or
a page of ``docs/`` names exists, every relative link of those pages resolves, and nothing points
at a design document outside the repository."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

TOP = (
    "sigwatch",
    "monitors",
    "alerts",
    "console",
    "evaluation",
    "inference",
    "simulator",
    "tests",
    "docs",
    "bench",
    "slo_definitions",
)
# a path of the repository named in prose: a top-level folder, then anything a path holds (a
# placeholder such as <name> ends it; what it names up to there must exist)
NAMED = re.compile(rf"(?<![\w./<>:-])((?:{'|'.join(TOP)})/[\w./\-]*)")
NOT_PATHS = {"sigwatch/v1"}  # the file format's version
LINK = re.compile(r"\]\(([^)\s]+)\)")
OUTSIDE = re.compile(r"DESIGN\.md|\.\./shared/")


def sources() -> list[Path]:
    return sorted(p for top in TOP for p in (ROOT / top).rglob("*.py") if ".venv" not in p.parts)


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def docstrings(path: Path) -> str:
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = [tree, *ast.walk(tree)]
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return "\n".join(ast.get_docstring(n) or "" for n in nodes if isinstance(n, kinds))


def named(text: str) -> set[str]:
    """The repository paths ``text`` names (a trailing full stop is prose, not path)."""
    found = {m.group(1).rstrip(".") for m in NAMED.finditer(text)}
    return {p for p in found if p not in NOT_PATHS}


def missing(paths: set[str]) -> list[str]:
    return sorted(p for p in paths if not (ROOT / p).exists())


def test_the_path_finder_sees_paths_and_not_urls_or_versions():
    text = (
        "see `monitors/engine.py: Engine`, monitors/slis/<name>.py and docs/nope.md.\n"
        "https://github.com/sigwatch/sigwatch/blob/main/docs/runbooks.md; version: sigwatch/v1"
    )
    assert named(text) == {"monitors/engine.py", "monitors/slis/", "docs/nope.md"}
    assert missing(named(text)) == ["docs/nope.md"]


@pytest.mark.parametrize("path", pages(), ids=lambda p: p.name)
def test_every_path_and_link_of_a_page_exists(path):
    text = path.read_text()
    assert missing(named(text)) == [], path
    links = [m.group(1).split("#")[0] for m in LINK.finditer(text)]
    local = [link for link in links if link and "://" not in link and not link.startswith("mailto")]
    assert [link for link in local if not (path.parent / link).exists()] == [], path


def test_every_path_a_docstring_names_exists():
    broken = {}
    for path in sources():
        gone = missing(named(docstrings(path)))
        if gone:
            broken[str(path.relative_to(ROOT))] = gone
    assert broken == {}


def test_nothing_points_at_a_design_outside_the_repository():
    cited = [
        str(path.relative_to(ROOT))
        for path in [*sources(), *pages(), ROOT / "Makefile", ROOT / "pyproject.toml"]
        if OUTSIDE.search(path.read_text())
    ]
    assert cited == []


def test_the_docs_hold_the_design():
    """The architecture, the data contracts and the SLO language are pages of their own."""
    names = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert {"architecture.md", "data-contracts.md", "slo-language.md"} <= names
    readme = (ROOT / "README.md").read_text()
    for page in ("docs/architecture.md", "docs/data-contracts.md", "docs/slo-language.md"):
        assert f"({page})" in readme, f"the README does not link {page}"
