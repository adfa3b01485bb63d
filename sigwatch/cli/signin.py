"""Where the console's sign-in is configured, for ``sigwatch console``.

Streamlit signs in through OIDC when its secrets hold an ``[auth]`` section (``st.login``):
``redirect_uri`` (the console's URL + ``/oauth2callback``), ``cookie_secret``, and the
provider's ``client_id``, ``client_secret`` and ``server_metadata_url`` (at the top of the
section, or in a named provider's sub-section). Where it is looked for, first found wins:

1. ``--secrets PATH``, a secrets.toml;
2. the environment: ``SIGWATCH_OIDC_METADATA_URL``, ``SIGWATCH_OIDC_CLIENT_ID``,
   ``SIGWATCH_OIDC_CLIENT_SECRET``, ``SIGWATCH_CONSOLE_COOKIE_SECRET`` and
   ``SIGWATCH_CONSOLE_URL``, written for Streamlit into a private file (0600 in a 0700 folder)
   removed when the console stops;
3. Streamlit's own places: ``.streamlit/secrets.toml`` in the working folder, then in the home
   folder.

Secret values are never printed: what is said is the file and the provider's host.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

OIDC_ENV = (
    "SIGWATCH_OIDC_METADATA_URL",
    "SIGWATCH_OIDC_CLIENT_ID",
    "SIGWATCH_OIDC_CLIENT_SECRET",
    "SIGWATCH_CONSOLE_COOKIE_SECRET",
)
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


class SigninError(ValueError):
    """Sign-in configured but unusable; the message names where and what is missing."""


@dataclass(frozen=True)
class Signin:
    secrets: Path  # the file Streamlit is given (--secrets.files)
    source: str  # where it came from, as said to the user
    provider: str  # the provider's host, from its metadata URL

    def describe(self) -> str:
        return f"sign-in through {self.provider} (OIDC; [auth] from {self.source})"


def default_places(cwd: Path | None = None) -> list[Path]:
    return [
        (cwd or Path.cwd()) / ".streamlit" / "secrets.toml",
        Path.home() / ".streamlit" / "secrets.toml",
    ]


@contextmanager
def configured(
    secrets: Path | None, environ: Mapping[str, str] | None = None, places: list[Path] | None = None
) -> Iterator[Signin | None]:
    """The sign-in to give the console, or None (local or anonymous mode)."""
    env = os.environ if environ is None else environ
    if secrets is not None:
        if not secrets.is_file():
            raise SigninError(f"--secrets {secrets}: no such file")
        auth = _auth(secrets)
        if auth is None:
            raise SigninError(f"--secrets {secrets}: no [auth] section; see README, 'Sign-in'")
        yield Signin(secrets, str(secrets), _check(auth, str(secrets)))
        return
    given = [name for name in OIDC_ENV if env.get(name, "").strip()]
    if given:
        with _from_env(env, given) as signin:
            yield signin
        return
    for place in places if places is not None else default_places():
        auth = _auth(place) if place.is_file() else None
        if auth is not None:
            yield Signin(place, str(place), _check(auth, str(place)))
            return
    yield None


@contextmanager
def _from_env(env: Mapping[str, str], given: list[str]) -> Iterator[Signin]:
    missing = [
        name for name in (*OIDC_ENV, "SIGWATCH_CONSOLE_URL") if not env.get(name, "").strip()
    ]
    if missing:
        raise SigninError(
            f"environment: sign-in is configured by {', '.join(given)} but "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; sign-in needs "
            f"all of {', '.join(OIDC_ENV)} and SIGWATCH_CONSOLE_URL (the console's URL)"
        )
    console = env["SIGWATCH_CONSOLE_URL"].strip().rstrip("/")
    auth = {
        "redirect_uri": f"{console}/oauth2callback",
        "cookie_secret": env["SIGWATCH_CONSOLE_COOKIE_SECRET"].strip(),
        "client_id": env["SIGWATCH_OIDC_CLIENT_ID"].strip(),
        "client_secret": env["SIGWATCH_OIDC_CLIENT_SECRET"].strip(),
        "server_metadata_url": env["SIGWATCH_OIDC_METADATA_URL"].strip(),
    }
    provider = _check(auth, "environment")
    folder = Path(tempfile.mkdtemp(prefix="sigwatch-console-"))  # 0700
    try:
        path = folder / "secrets.toml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("[auth]\n")
            for key, value in auth.items():
                handle.write(f"{key} = {_toml_string(value)}\n")
        yield Signin(path, "the environment (SIGWATCH_OIDC_*)", provider)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _auth(path: Path) -> dict | None:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise SigninError(f"{path}: not TOML: {exc}") from None
    auth = data.get("auth")
    return auth if isinstance(auth, dict) else None


def _check(auth: dict, where: str) -> str:
    """The provider's host, once ``auth`` has what Streamlit needs."""
    missing = [key for key in ("redirect_uri", "cookie_secret") if not auth.get(key)]
    if missing:
        raise SigninError(f"{where}: [auth] needs {', '.join(missing)}")
    if any(key in auth for key in PROVIDER_KEYS):
        providers = {"auth": auth}
    else:
        providers = {f"auth.{k}": v for k, v in auth.items() if isinstance(v, dict)}
    if not providers:
        raise SigninError(
            f"{where}: [auth] names no provider: give client_id, client_secret and "
            "server_metadata_url (or a [auth.NAME] section with them)"
        )
    for name, provider in providers.items():
        lacking = [key for key in PROVIDER_KEYS if not provider.get(key)]
        if lacking:
            raise SigninError(f"{where}: [{name}] needs {', '.join(lacking)}")
    first = next(iter(providers.values()))
    return urlparse(str(first["server_metadata_url"])).netloc or "?"


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
