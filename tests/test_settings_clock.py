from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sigwatch.clock import FixedClock, SystemClock
from sigwatch.settings import Secret, Settings
from sigwatch.store.connection import POSTGRES, SQLITE, StoreURL, redact


def test_defaults_are_the_embedded_set_up():
    settings = Settings.from_env({})
    assert settings.data_dir == Path("var")
    assert settings.definitions_dir == Path("slo_definitions")
    assert settings.store() == StoreURL(SQLITE, path=Path("var/sigwatch.db"))
    assert settings.store(Path("/elsewhere")).path == Path("/elsewhere/sigwatch.db")
    assert settings.prometheus_url is None
    assert settings.slack_token is None and settings.slack_webhook_url is None
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.console_url is None


def test_environment_overrides_and_empty_values_count_as_unset():
    settings = Settings.from_env(
        {
            "SIGWATCH_DATA": "/srv/sigwatch",
            "SIGWATCH_DEFINITIONS": "/etc/sigwatch/slos",
            "SIGWATCH_PROMETHEUS_URL": "http://127.0.0.1:9090",
            "SIGWATCH_SLACK_TOKEN": "xoxb-secret-value",
            "SIGWATCH_SLACK_API_URL": "http://127.0.0.1:8111/api/",
            "SIGWATCH_CONSOLE_URL": "   ",
        }
    )
    assert settings.data_dir == Path("/srv/sigwatch")
    assert settings.store().path == Path("/srv/sigwatch/sigwatch.db")
    assert settings.definitions_dir == Path("/etc/sigwatch/slos")
    assert settings.prometheus_url == "http://127.0.0.1:9090"
    assert settings.slack_token == Secret("xoxb-secret-value")
    assert settings.slack_token.reveal() == "xoxb-secret-value"
    assert settings.slack_api_url == "http://127.0.0.1:8111/api/"
    assert settings.console_url is None


def test_secrets_never_show_in_repr_str_or_formatting():
    settings = Settings.from_env(
        {"SIGWATCH_SLACK_TOKEN": "xoxb-123-abc", "SIGWATCH_SLACK_WEBHOOK_URL": "https://hooks/x"}
    )
    for text in (repr(settings), str(settings), f"{settings}", f"{settings.slack_token}"):
        assert "xoxb-123-abc" not in text and "https://hooks/x" not in text
    assert "***" in repr(settings)


def test_the_store_url_names_sqlite_or_postgresql_and_never_shows_its_password():
    url = "postgresql://sw:hunter2@db.internal:5433/sigwatch?sslmode=require"
    settings = Settings.from_env({"SIGWATCH_STORE_URL": url, "SIGWATCH_DATA": "/srv/x"})
    store = settings.store(Path("/ignored"))  # the URL wins over any data folder
    assert store.dialect == POSTGRES and store.dsn == url and store.path is None
    for text in (repr(settings), str(settings), str(store), repr(str(store))):
        assert "hunter2" not in text
    assert str(store) == "postgresql://sw:***@db.internal:5433/sigwatch?sslmode=require"
    assert (
        redact("postgresql://h/db?password=x&user=sw") == "postgresql://h/db?password=***&user=sw"
    )
    assert StoreURL.parse("sqlite:////abs/s.db").path == Path("/abs/s.db")
    assert StoreURL.parse("sqlite:///rel/s.db").path == Path("rel/s.db")
    assert StoreURL.parse("postgres://sw@h/db").dsn == "postgresql://sw@h/db"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://sw:pw@h/db", "unknown store scheme 'mysql'; allowed: sqlite:///path"),
        ("postgresql:///db", "a PostgreSQL URL needs a host"),
        ("sqlite:///", "needs the database file's path"),
    ],
)
def test_a_bad_store_url_is_refused_naming_the_variable_and_what_is_allowed(url, says):
    with pytest.raises(ValueError, match="SIGWATCH_STORE_URL") as caught:
        Settings.from_env({"SIGWATCH_STORE_URL": url})
    assert says in str(caught.value) and "pw" not in str(caught.value)


def test_the_digest_time_is_a_setting_and_a_bad_one_names_the_variable():
    assert Settings.from_env({}).digest_at == (9, 0)
    assert Settings.from_env({"SIGWATCH_DIGEST_AT": "7:30"}).digest_at == (7, 30)
    for bad in ("25:00", "9", "09:5", "nine"):
        with pytest.raises(ValueError, match=r"SIGWATCH_DIGEST_AT: .*allowed: HH:MM \(UTC\)"):
            Settings.from_env({"SIGWATCH_DIGEST_AT": bad})


def test_the_weekly_review_time_is_a_setting_and_a_bad_one_names_the_variable():
    assert Settings.from_env({}).weekly_at == ("mon", 9, 0)
    assert Settings.from_env({"SIGWATCH_WEEKLY_AT": "Friday 16:30"}).weekly_at == ("fri", 16, 30)
    for bad in ("someday 09:00", "mon 9", "mon 24:00", "fr 09:00"):
        with pytest.raises(ValueError, match=r"SIGWATCH_WEEKLY_AT: .*allowed: "):
            Settings.from_env({"SIGWATCH_WEEKLY_AT": bad})


def test_the_signing_secret_is_a_secret():
    settings = Settings.from_env({"SIGWATCH_SLACK_SIGNING_SECRET": "s3cr3t-signing"})
    assert settings.slack_signing_secret.reveal() == "s3cr3t-signing"
    assert "s3cr3t" not in repr(settings)


def test_fixed_clock_stands_still_until_moved():
    start = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    clock = FixedClock(start)
    assert clock.now() == start
    assert clock.advance(timedelta(minutes=5)) == start + timedelta(minutes=5)
    assert clock.now() == start + timedelta(minutes=5)
    clock.set(datetime(2026, 11, 26, 13, 0, tzinfo=timezone(timedelta(hours=1))))
    assert clock.now() == start and clock.now().tzinfo is UTC


def test_fixed_clock_refuses_naive_times():
    with pytest.raises(ValueError, match="no time zone"):
        FixedClock(datetime(2026, 11, 26))


def test_system_clock_is_utc_aware():
    assert SystemClock().now().tzinfo is UTC


def test_floor_time_rounds_down_to_whole_steps_in_utc():
    from sigwatch.clock import floor_time

    at = datetime(2026, 11, 26, 13, 7, 42, tzinfo=timezone(timedelta(hours=1)))
    assert floor_time(at, timedelta(minutes=5)) == datetime(2026, 11, 26, 12, 5, tzinfo=UTC)
    assert floor_time(at, timedelta(days=1)) == datetime(2026, 11, 26, tzinfo=UTC)
    exact = datetime(2026, 11, 26, 12, 5, tzinfo=UTC)
    assert floor_time(exact, timedelta(minutes=5)) == exact


def test_clock_at_stands_at_a_given_time_or_follows_the_wall():
    from sigwatch.clock import clock_at

    at = datetime(2026, 11, 26, 6, tzinfo=UTC)
    assert clock_at(at).now() == at
    assert isinstance(clock_at(None), SystemClock)
