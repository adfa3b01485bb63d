"""Values from the logs (a community, a model version) shown in the console's Markdown are
literal: no formatting, no link, no Streamlit colour or icon directive."""

from __future__ import annotations

import re

import pytest

from console.common import MARKDOWN, ZWSP, plain

ODD = [
    "<!channel>",
    "*urgent*",
    "_now_",
    "[click](https://x.example)",
    ":red[alarm] :material/bolt:",
    "`code` $x$ # heading",
    "back\\slash",
    "https://evil.example/login",
    "see www.evil.example",
    "mail admin@evil.example",
]


@pytest.mark.parametrize("value", ODD, ids=lambda v: f"a group named {v!r} is literal")
def test_every_markdown_character_is_escaped_and_nothing_is_lost(value):
    shown = plain(value)
    # unescaping gives the value back (less the zero-width spaces that stop autolinks)
    assert re.sub(r"\\(.)", r"\1", shown).replace(ZWSP, "") == value
    specials = [k for k, c in enumerate(shown) if c in MARKDOWN and c != "\\"]
    assert all(shown[k - 1] == "\\" for k in specials), shown


def test_plain_text_is_left_alone():
    assert plain("headphones 2026") == "headphones 2026"
