from __future__ import annotations

from datetime import timedelta

import pytest

from sigwatch.units import Target, format_duration, parse_duration, parse_target, short_span


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(minutes=90)),
        ("28d", timedelta(days=28)),
        ("1w", timedelta(days=7)),
        (" 6h ", timedelta(hours=6)),
    ],
    ids=lambda v: repr(v),
)
def test_durations_parse(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "m5", "5 m", "5min", "1.5h", "-1d", "0m", "28 days"])
def test_bad_durations_say_what_is_allowed(text):
    with pytest.raises(ValueError, match=r"allowed: .*whole number and a unit s, m, h, d or w"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=5), "5m"),
        (timedelta(days=28), "28d"),
        (timedelta(days=7), "7d"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=1, seconds=1), "1d1s"),
    ],
)
def test_durations_format_to_text_that_parses_back(delta, text):
    assert format_duration(delta) == text
    assert parse_duration(text) == delta


def test_format_duration_refuses_what_cannot_be_written():
    with pytest.raises(ValueError):
        format_duration(timedelta(0))
    with pytest.raises(ValueError):
        format_duration(timedelta(milliseconds=1500))


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [(">= 0.85", ">=", 0.85), ("<=0.4", "<=", 0.4), ("> 1e-3", ">", 0.001), ("< 40", "<", 40)],
)
def test_targets_parse(text, op, value):
    assert parse_target(text) == Target(op, value)


@pytest.mark.parametrize("text", [">== 0.8", "0.8", "=> 0.8", ">= ", ">= -0.1", "== 1", ">= 0.8x"])
def test_malformed_targets_say_what_is_allowed(text):
    with pytest.raises(ValueError, match=r"allowed: an operator \(>=, >, <=, <\) and a number"):
        parse_target(text)


@pytest.mark.parametrize(
    ("target", "low", "high", "violated"),
    [
        # ">= 0.85": bad only when even the top of the interval is below.
        (">= 0.85", 0.70, 0.84, True),
        (">= 0.85", 0.80, 0.90, False),
        (">= 0.85", 0.86, 0.95, False),
        (">= 0.85", 0.70, 0.85, False),
        ("> 0.85", 0.70, 0.85, True),
        # "<= 0.3": bad only when even the bottom of the interval is above.
        ("<= 0.3", 0.31, 0.50, True),
        ("<= 0.3", 0.20, 0.50, False),
        ("<= 0.3", 0.30, 0.50, False),
        ("< 0.3", 0.30, 0.50, True),
    ],
    ids=lambda v: str(v),
)
def test_an_interval_violates_a_target_only_when_wholly_on_the_wrong_side(
    target, low, high, violated
):
    assert parse_target(target).violated_by(low, high) is violated


def test_target_holds_for_point_values_and_prints_back():
    target = parse_target(">= 0.85")
    assert target.holds(0.85) and not target.holds(0.849)
    assert str(target) == ">= 0.85"
    assert parse_target(str(parse_target("<=0.40"))) == parse_target("<= 0.4")


@pytest.mark.parametrize(
    ("span", "shown"),
    [
        (timedelta(seconds=20), "0m"),
        (timedelta(minutes=45), "45m"),
        (timedelta(minutes=59, seconds=40), "1h00m"),
        (timedelta(hours=9, minutes=30), "9h30m"),
        (timedelta(hours=23, minutes=59), "23h59m"),
        (timedelta(days=2, hours=3, minutes=20), "2d03h"),
    ],
)
def test_a_short_span_reads_to_the_minute_and_in_days_past_a_day(span, shown):
    assert short_span(span) == shown
