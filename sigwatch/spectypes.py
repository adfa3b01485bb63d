"""The field types of the ``sigwatch/v1`` file (names, channels, URLs, durations, targets),
each checked as it is read, and the strict base every part of the file is a model of
(``sigwatch.spec``; an SLI kind's part, ``sigwatch.kinds``)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, WithJsonSchema

from sigwatch.units import DURATION_HELP, TARGET_HELP, parse_duration, parse_target

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9_.-]{0,79}|[CG][A-Z0-9]{8,})$")
_URL = re.compile(r"^https?://[^\s]+$")

NAME_HELP = "lower-case letters, digits, '_' or '-', starting with a letter (at most 63)"
CHANNEL_HELP = "a Slack channel as '#name' (lower case) or a channel id like 'C0123ABCD'"


def _check(pattern: re.Pattern[str], help_text: str, what: str):
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{what} {value!r} is not valid; allowed: {help_text}")
        return value

    return AfterValidator(check)


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


def _check_target(value: str) -> str:
    parse_target(value)
    return value


Name = Annotated[
    str,
    _check(NAME_PATTERN, NAME_HELP, "name"),
    WithJsonSchema({"type": "string", "pattern": NAME_PATTERN.pattern}),
]
Channel = Annotated[
    str,
    _check(_CHANNEL, CHANNEL_HELP, "channel"),
    WithJsonSchema({"type": "string", "pattern": _CHANNEL.pattern}),
]
Url = Annotated[
    str,
    _check(_URL, "an http(s) URL", "URL"),
    WithJsonSchema({"type": "string", "format": "uri"}),
]
Duration = Annotated[
    str,
    AfterValidator(_check_duration),
    WithJsonSchema({"type": "string", "pattern": r"^(\d+[smhdw])+$", "description": DURATION_HELP}),
]
TargetText = Annotated[
    str,
    AfterValidator(_check_target),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*(>=|<=|>|<)\s*[0-9.eE+-]+\s*$",
            "description": TARGET_HELP,
        }
    ),
]


class StrictSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``did you mean 'x'? `` when a choice is close to ``word``, else nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return f"did you mean {close[0]!r}? " if close else ""
