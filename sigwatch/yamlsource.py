"""Safe, bounded reading of YAML files that keeps each value's line for error messages.

Only plain data is accepted: no tags that construct objects (PyYAML's safe loader), no anchors or
aliases (they can expand a small file into a huge document), no duplicate keys (PyYAML would keep
the last one silently), and files no larger than ``MAX_BYTES``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class YamlIssue(Exception):
    """Why a file could not be read as plain YAML, and at which line (1-based)."""

    line: int
    message: str


@dataclass(frozen=True)
class YamlDocument:
    data: Any
    root: Node

    def line_of(self, loc: Sequence[str | int]) -> int:
        """The 1-based line of the deepest key or item of ``loc`` that exists in the file.

        Path elements the file does not have (a missing key, a discriminator tag inserted by
        pydantic) are skipped, so a "missing" error points at the mapping that should hold it.
        """
        node: Node = self.root
        line = node.start_mark.line
        for elem in loc:
            if isinstance(node, MappingNode) and isinstance(elem, str):
                for key, value in node.value:
                    if isinstance(key, ScalarNode) and key.value == elem:
                        node, line = value, key.start_mark.line
                        break
            elif (
                isinstance(node, SequenceNode) and isinstance(elem, int) and elem < len(node.value)
            ):
                node = node.value[elem]
                line = node.start_mark.line
        return line + 1


def read_yaml(path: Path) -> YamlDocument:
    """Read one YAML document from ``path``; raise ``YamlIssue`` for anything but plain data."""
    with path.open("rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise YamlIssue(1, f"file is larger than {MAX_BYTES} bytes; allowed: at most {MAX_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlIssue(line, "file is not UTF-8 text; allowed: UTF-8") from None
    return parse_yaml(text)


def parse_yaml(text: str) -> YamlDocument:
    loader = yaml.SafeLoader(text)
    try:
        _refuse_aliases(text)
        root = loader.get_single_node()
        if root is None:
            raise YamlIssue(1, "file is empty; allowed: a sigwatch/v1 document")
        _refuse_duplicate_keys(root)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or str(exc)
        if "could not determine a constructor" in what:
            what = f"{what.strip()}; allowed: plain YAML data, no tags that construct objects"
        else:
            what = f"YAML syntax error: {what}; allowed: valid YAML"
        raise YamlIssue(line, what) from None
    except yaml.YAMLError as exc:
        raise YamlIssue(1, f"YAML error: {exc}; allowed: valid YAML") from None
    finally:
        loader.dispose()
    return YamlDocument(data=data, root=root)


def _refuse_aliases(text: str) -> None:
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise YamlIssue(
                event.start_mark.line + 1,
                f"alias *{event.anchor} is not allowed; allowed: plain values (no anchors/aliases)",
            )


def _refuse_duplicate_keys(node: Node) -> None:
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise YamlIssue(
                        line,
                        f"duplicate key {key.value!r} (first at line {seen[key.value]}); "
                        "allowed: each key once",
                    )
                seen[key.value] = line
            _refuse_duplicate_keys(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item)
