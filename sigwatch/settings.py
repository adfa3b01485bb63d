"""Settings from the environment, with the embedded defaults.

Secrets (the Slack token and webhook URL) come only from the environment, never from SLO files,
and are wrapped in ``Secret`` so that printing settings, logging them or putting them in an
error message shows ``***`` instead of the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sigwatch.store.connection import SQLITE, StoreURL, StoreURLError
from sigwatch.units import parse_duration

ENV_VARS = {
    "SIGWATCH_DATA": "data folder: prediction logs, labels, the SQLite store (default ./var)",
    "SIGWATCH_STORE_URL": "the store: sqlite:///path (default: <data>/sigwatch.db) or "
    "postgresql://user@host:port/database for a team; the password from PGPASSWORD, never "
    "printed",
    "SIGWATCH_DEFINITIONS": "folder of SLO files (default ./slo_definitions)",
    "SIGWATCH_PROMETHEUS_URL": "Prometheus base URL; unset: latency and cost come from the logs",
    "SIGWATCH_ENGINE": "where the monitors compute the partial tables from the logs: polars "
    "(embedded, default) or spark (the `spark` extra and Java 17+)",
    "SIGWATCH_SPARK_MASTER": "the Spark engine's cluster: spark://host:7077, yarn, local[N], or "
    "Spark Connect sc://host:15002 (a ;token= in it is never printed); default: the master "
    "spark-submit gave, else local[*]",
    "SIGWATCH_SPARK_LOGS": "the prediction logs' root as Spark reads it: file://, s3a://, gs://, "
    "abfss:// (default <data>/predictions)",
    "SIGWATCH_SPARK_CONF": "more Spark settings, key=value separated by ';' "
    "(values may be secret: never printed)",
    "SIGWATCH_SLACK_TOKEN": "Slack bot token (secret); unset: alerts go to the outbox only",
    "SIGWATCH_SLACK_WEBHOOK_URL": "Slack incoming-webhook URL (secret), for teams without a bot",
    "SIGWATCH_SLACK_API_URL": "Slack Web API base URL (default https://slack.com/api/)",
    "SIGWATCH_SLACK_SIGNING_SECRET": "the Slack app's signing secret (secret); set: alert "
    "messages carry Acknowledge and Silence 1h buttons and `serve` answers Slack's "
    "interactivity requests, verified with it",
    "SIGWATCH_OIDC_METADATA_URL": "the console's sign-in: the OIDC provider's "
    "/.well-known/openid-configuration URL (with the three below and SIGWATCH_CONSOLE_URL)",
    "SIGWATCH_OIDC_CLIENT_ID": "the console's client id at the OIDC provider",
    "SIGWATCH_OIDC_CLIENT_SECRET": "the console's client secret at the OIDC provider (secret)",
    "SIGWATCH_CONSOLE_COOKIE_SECRET": "the key that signs the console's sign-in cookie (secret; "
    "a long random string)",
    "SIGWATCH_ROLES": "YAML file of who is viewer, oncall (for which signals) or admin, for the "
    "console's sign-in and Slack's buttons",
    "SIGWATCH_ADMINS": "comma list of admins' identities (e-mails), beside SIGWATCH_ROLES",
    "SIGWATCH_ONCALL": "comma list of identities on call for every signal, beside SIGWATCH_ROLES",
    "SIGWATCH_CONSOLE_URL": "the console's public URL, for links in alerts",
    "SIGWATCH_RUNBOOKS_URL": "the runbooks page the alerts sigwatch raises about itself link "
    "to (a failing monitor: #monitor); default this repository's docs/runbooks.md on GitHub",
    "SIGWATCH_CONSOLE_AT": "the time the console takes as now (ISO 8601, e.g. "
    "2026-11-26T01:00:00+00:00; default: the wall clock); `sigwatch console --at` sets it",
    "SIGWATCH_RETENTION": "how long the store keeps statuses, measurements, runs, resolved "
    "alerts and sent notifications (the daily prune; default 400d)",
    "SIGWATCH_STATUS_DETAIL": "how long statuses keep every evaluation; older ones are "
    "compacted to one an hour and every change of state (the daily prune; default 7d)",
    "SIGWATCH_BUCKET_RETENTION": "how long the partial tables keep 5-minute buckets; older "
    "days are kept as one row each (default 90d)",
    "SIGWATCH_ALERT_HOLD": "how long a condition must stay clear before its alert resolves "
    "(default 15m)",
    "SIGWATCH_ALERT_RENOTIFY": "how often a still-firing page is re-announced (default 2h)",
    "SIGWATCH_PAGE_MENTION": "who a page mentions, e.g. <!subteam^S0123|ml-oncall> (default none)",
    "SIGWATCH_DIGEST_CHANNEL": "channel of the daily digest (default #ml-signals-leadership)",
    "SIGWATCH_DIGEST_AT": "when `serve` posts the daily digest, HH:MM UTC (default 09:00)",
    "SIGWATCH_WEEKLY_AT": "when `serve` posts the weekly SLO review of the week before, "
    "DAY HH:MM UTC (default mon 09:00); to SIGWATCH_DIGEST_CHANNEL",
    "SIGWATCH_JUDGE_URL": "base URL of an OpenAI-compatible chat-completions server (LLM judge)",
    "SIGWATCH_JUDGE_MODEL": "the judge's model name on that server",
    "SIGWATCH_JUDGE_KEY": "the judge server's API key (secret), if it needs one",
    "SIGWATCH_JUDGE_FORMAT": "how the judge's JSON schema is asked for: json_schema (OpenAI, "
    "vLLM, Ollama; default) or json_object (llama-cpp-python's server)",
    "SIGWATCH_JUDGE_PRICE_IN": "judge price, $ per 1k prompt tokens (default 0)",
    "SIGWATCH_JUDGE_PRICE_OUT": "judge price, $ per 1k completion tokens (default 0)",
    "SIGWATCH_JUDGE_PRICE_HOUR": "a self-hosted judge's machine, $ per hour, charged by call "
    "latency (default 0; the embedded judge: 0.10)",
    "SIGWATCH_JUDGE_WEIGHTS": "the embedded judge's weights when no URL is set: "
    "qwen2.5-coder-0.5b (default) or qwen2.5-coder-1.5b",
    "SIGWATCH_JUDGE_DAILY_CALLS": "the daily judge job's budget in calls (default 200)",
    "SIGWATCH_JUDGE_DAILY_DOLLARS": "the daily judge job's budget in dollars (default 1.00)",
}


class Secret:
    """A value that must not leak: ``str()``/``repr()`` show ``***``; ``reveal()`` returns it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# docs/runbooks.md as published with the code; SIGWATCH_RUNBOOKS_URL points at a team's copy
RUNBOOKS = "https://github.com/sigwatch/sigwatch/blob/main/docs/runbooks.md"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    definitions_dir: Path = Path("slo_definitions")
    store_url: Secret | None = None  # None: <data>/sigwatch.db; a Secret: it may hold a password
    prometheus_url: str | None = None
    engine: str = "polars"
    spark_master: str | None = None  # None: what spark-submit gave, else local[*]
    spark_logs: str | None = None  # None: <data>/predictions
    spark_conf: tuple[tuple[str, Secret], ...] = ()
    slack_token: Secret | None = None
    slack_webhook_url: Secret | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_signing_secret: Secret | None = None
    console_url: str | None = None
    runbooks_url: str = RUNBOOKS
    console_at: datetime | None = None
    retention: timedelta = timedelta(days=400)
    bucket_retention: timedelta = timedelta(days=90)
    status_detail: timedelta = timedelta(days=7)
    alert_hold: timedelta = timedelta(minutes=15)
    alert_renotify: timedelta = timedelta(hours=2)
    monitor_failures: int = 3  # failed runs in a row of a signal's monitor that page
    heartbeat_url: Secret | None = None  # requested after each complete cycle (dead-man's switch)
    page_mention: str | None = None
    digest_channel: str = "#ml-signals-leadership"
    digest_at: tuple[int, int] = (9, 0)  # hour, minute (UTC)
    weekly_at: tuple[str, int, int] = ("mon", 9, 0)  # day of week, hour, minute (UTC)
    judge_url: str | None = None
    judge_model: str | None = None
    judge_key: Secret | None = None
    judge_format: str = "json_schema"
    judge_price_in: float = 0.0
    judge_price_out: float = 0.0
    judge_price_hour: float | None = None  # None: 0 for a configured URL, 0.10 embedded
    judge_weights: str = "qwen2.5-coder-0.5b"
    judge_daily_calls: int = 200
    judge_daily_dollars: float = 1.0

    def store(self, data_dir: Path | None = None) -> StoreURL:
        """Where the store is: ``SIGWATCH_STORE_URL``, else ``sigwatch.db`` in the data folder
        (``data_dir``, a command's ``--data``, else ``SIGWATCH_DATA``)."""
        if self.store_url is not None:
            return StoreURL.parse(self.store_url.reveal())
        return StoreURL(SQLITE, path=(data_dir or self.data_dir) / "sigwatch.db")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``SIGWATCH_*`` variables; empty values count as unset."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        token, webhook = get("SIGWATCH_SLACK_TOKEN"), get("SIGWATCH_SLACK_WEBHOOK_URL")
        return cls(
            data_dir=Path(get("SIGWATCH_DATA") or cls.data_dir),
            store_url=_store_url(get),
            definitions_dir=Path(get("SIGWATCH_DEFINITIONS") or cls.definitions_dir),
            prometheus_url=get("SIGWATCH_PROMETHEUS_URL"),
            engine=_choice(get, "SIGWATCH_ENGINE", ENGINES),
            spark_master=get("SIGWATCH_SPARK_MASTER"),
            spark_logs=get("SIGWATCH_SPARK_LOGS"),
            spark_conf=_spark_conf(get),
            slack_token=Secret(token) if token else None,
            slack_webhook_url=Secret(webhook) if webhook else None,
            slack_api_url=get("SIGWATCH_SLACK_API_URL") or cls.slack_api_url,
            slack_signing_secret=Secret(sign)
            if (sign := get("SIGWATCH_SLACK_SIGNING_SECRET"))
            else None,
            console_url=get("SIGWATCH_CONSOLE_URL"),
            runbooks_url=get("SIGWATCH_RUNBOOKS_URL") or RUNBOOKS,
            console_at=_time(get, "SIGWATCH_CONSOLE_AT"),
            retention=_duration(get, "SIGWATCH_RETENTION", cls.retention),
            bucket_retention=_duration(get, "SIGWATCH_BUCKET_RETENTION", cls.bucket_retention),
            status_detail=_duration(get, "SIGWATCH_STATUS_DETAIL", cls.status_detail),
            alert_hold=_duration(get, "SIGWATCH_ALERT_HOLD", cls.alert_hold),
            alert_renotify=_duration(get, "SIGWATCH_ALERT_RENOTIFY", cls.alert_renotify),
            monitor_failures=_count(get, "SIGWATCH_MONITOR_FAILURES", cls.monitor_failures),
            heartbeat_url=_url(get, "SIGWATCH_HEARTBEAT_URL"),
            page_mention=get("SIGWATCH_PAGE_MENTION"),
            digest_channel=get("SIGWATCH_DIGEST_CHANNEL") or cls.digest_channel,
            digest_at=_clock_time(get, "SIGWATCH_DIGEST_AT", cls.digest_at),
            weekly_at=_weekly_time(get, "SIGWATCH_WEEKLY_AT", cls.weekly_at),
            judge_url=get("SIGWATCH_JUDGE_URL"),
            judge_model=get("SIGWATCH_JUDGE_MODEL"),
            judge_key=Secret(key) if (key := get("SIGWATCH_JUDGE_KEY")) else None,
            judge_format=_choice(get, "SIGWATCH_JUDGE_FORMAT", ("json_schema", "json_object")),
            judge_price_in=_number(get, "SIGWATCH_JUDGE_PRICE_IN", 0.0),
            judge_price_out=_number(get, "SIGWATCH_JUDGE_PRICE_OUT", 0.0),
            judge_price_hour=_number(get, "SIGWATCH_JUDGE_PRICE_HOUR", None),
            judge_weights=get("SIGWATCH_JUDGE_WEIGHTS") or cls.judge_weights,
            judge_daily_calls=int(_number(get, "SIGWATCH_JUDGE_DAILY_CALLS", 200)),
            judge_daily_dollars=_number(get, "SIGWATCH_JUDGE_DAILY_DOLLARS", 1.0),
        )


ENGINES = ("polars", "spark")


def _spark_conf(get) -> tuple[tuple[str, Secret], ...]:
    """``SIGWATCH_SPARK_CONF``: ``key=value`` pairs separated by ';' (a value is never shown
    in an error: it may be a cloud key)."""
    raw = get("SIGWATCH_SPARK_CONF")
    pairs = []
    for k, item in enumerate((raw or "").split(";"), start=1):
        if not item.strip():
            continue
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key.startswith("spark."):
            raise ValueError(
                f"environment variable SIGWATCH_SPARK_CONF: item {k} is not spark.<name>=<value> "
                f"(it starts {key[:24]!r}); allowed: spark.key=value pairs separated by ';'"
            )
        pairs.append((key, Secret(value.strip())))
    return tuple(pairs)


def _store_url(get) -> Secret | None:
    raw = get("SIGWATCH_STORE_URL")
    if raw is None:
        return None
    try:
        StoreURL.parse(raw)
    except StoreURLError as exc:
        raise ValueError(f"environment variable SIGWATCH_STORE_URL: {exc}") from None
    return Secret(raw)


def _clock_time(get, name: str, default: tuple[int, int]) -> tuple[int, int]:
    raw = get(name)
    if raw is None:
        return default
    hour, _, minute = raw.partition(":")
    if (
        not (hour.isdigit() and minute.isdigit() and len(minute) == 2)
        or not 0 <= int(hour) <= 23
        or not 0 <= int(minute) <= 59
    ):
        raise ValueError(f"environment variable {name}: {raw!r}; allowed: HH:MM (UTC), e.g. 09:00")
    return int(hour), int(minute)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekly_time(get, name: str, default: tuple[str, int, int]) -> tuple[str, int, int]:
    raw = get(name)
    if raw is None:
        return default
    day, _, time = raw.lower().partition(" ")
    if day[:3] not in WEEKDAYS or len(day) < 3:
        raise ValueError(
            f"environment variable {name}: {raw!r}; allowed: DAY HH:MM (UTC), e.g. mon 09:00"
        )
    hour, minute = _clock_time(lambda _: time.strip() or None, name, (9, 0))
    return day[:3], hour, minute


def _duration(get, name: str, default: timedelta) -> timedelta:
    raw = get(name)
    if raw is None:
        return default
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name}: {exc}") from None


def _time(get, name: str) -> datetime | None:
    raw = get(name)
    if raw is None:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise ValueError(
            f"environment variable {name}: {raw!r}; allowed: an ISO 8601 time with a zone, "
            "e.g. 2026-11-26T01:00:00+00:00"
        )
    return at.astimezone(UTC)


def _number(get, name: str, default):
    raw = get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}: {raw!r} is not a number") from None
    if value < 0:
        raise ValueError(f"environment variable {name}: {raw!r} must be >= 0")
    return value


def _url(get, name: str) -> Secret | None:
    """An http(s) URL, kept as a secret (a heartbeat URL is its own credential)."""
    raw = get(name)
    if raw is None:
        return None
    if not raw.startswith(("http://", "https://")):
        raise ValueError(f"environment variable {name}: not an http(s) URL; allowed: https://...")
    return Secret(raw)


def _count(get, name: str, default: int) -> int:
    raw = get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"environment variable {name}: {raw!r}; allowed: a whole number >= 1")
    return int(raw)


def _choice(get, name: str, allowed: tuple[str, ...]) -> str:
    raw = get(name) or allowed[0]
    if raw not in allowed:
        raise ValueError(f"environment variable {name}: {raw!r}; allowed: {', '.join(allowed)}")
    return raw
