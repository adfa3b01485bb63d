"""Sign-in and roles. In Chromium, with a real OIDC flow: an OIDC provider on 127.0.0.1
(``oidc-provider-mock``), ``sigwatch console`` configured for it from the environment, and the
browser signing in through the provider's form: a signed-out browser sees only the sign-in
page; a viewer sees the pages but no ack or silence controls; on-call acknowledges and the store
records its identity; a forged or expired cookie is refused. Then the same rules through
AppTest, page by page."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from sigwatch.clock import FixedClock
from sigwatch.settings import Settings
from sigwatch.store import Store
from tests.conftest import ROOT
from tests.console.conftest import END, console_args, serving
from tests.console.test_browser import DONE
from tests.postgres import free_port

COOKIE_SECRET = "test-cookie-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
CLIENT_SECRET = "test-client-secret-do-not-print"
ROLES = """\
default: none
people:
  vic@example.com: viewer
  bob@example.com: {role: oncall, for: ["#acu-oncall"]}
  erin@example.com: {role: oncall, for: [acu-entities]}
  lead@example.com: admin
"""


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """A real OIDC provider: discovery, an authorization form, tokens, JWKS."""
    port = free_port()
    log = tmp_path_factory.mktemp("oidc") / "oidc.log"
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port)]
    with serving(args, f"{url}/.well-known/openid-configuration", log):
        yield url


@pytest.fixture(scope="module")
def signed_console(console_data, provider, tmp_path_factory):
    """``sigwatch console`` with sign-in from the environment, over a copy of the demo data."""
    folder = tmp_path_factory.mktemp("signin-data")
    shutil.copy(console_data / "sigwatch.db", folder / "sigwatch.db")
    for part in ("predictions", "labels", "partials", "reports"):
        if (console_data / part).exists():
            (folder / part).symlink_to((console_data / part).resolve())
    roles = folder / "roles.yaml"
    roles.write_text(ROLES)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SIGWATCH_OIDC_METADATA_URL": f"{provider}/.well-known/openid-configuration",
        "SIGWATCH_OIDC_CLIENT_ID": "sigwatch-console",
        "SIGWATCH_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "SIGWATCH_CONSOLE_COOKIE_SECRET": COOKIE_SECRET,
        "SIGWATCH_CONSOLE_URL": url,
        "SIGWATCH_ROLES": str(roles),
    }
    log = tmp_path_factory.mktemp("streamlit") / "console.log"
    with serving(console_args(folder, port), f"{url}/_stcore/health", log, env):
        yield url, folder, log
    said = log.read_text()
    assert "sign-in through 127.0.0.1" in said.replace("\n", "")
    assert CLIENT_SECRET not in said and COOKIE_SECRET not in said


def _settled(page) -> None:
    page.wait_for_function(DONE, timeout=120_000)


def _signin_page_only(page) -> None:
    """What a signed-out browser sees: the sign-in page, no page of the console."""
    page.get_by_role("button", name="Sign in").wait_for(timeout=120_000)
    _settled(page)
    assert page.get_by_role("heading", name="sigwatch").count() == 1
    for heading in ("Overview", "Alerts", "Signal detail"):
        assert page.get_by_role("heading", name=heading).count() == 0
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    assert page.locator('[data-testid="stDataFrame"]').count() == 0


def _sign_in(browser, url: str, identity: str):
    """A new browser that signs in as ``identity`` through the provider's form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")
    _signin_page_only(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**", timeout=60_000)
    page.fill("input[name=sub]", identity)
    page.get_by_role("button", name="Authorize").click()
    page.get_by_role("heading", name="Overview").wait_for(timeout=120_000)
    _settled(page)
    return context, page


def _open_alerts(page, url: str) -> None:
    page.goto(f"{url}/alerts", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Outbox").wait_for(timeout=120_000)  # the page's end
    _settled(page)


def test_a_signed_out_browser_sees_only_the_sign_in_page(browser, signed_console):
    url, _, _ = signed_console
    context = browser.new_context()
    page = context.new_page()
    for path in ("", "alerts", "signal?signal=content_type"):
        page.goto(f"{url}/{path}", wait_until="domcontentloaded")
        _signin_page_only(page)
    context.close()


def test_a_viewer_sees_the_pages_but_no_ack_or_silence_controls(browser, signed_console):
    url, _, _ = signed_console
    context, page = _sign_in(browser, url, "vic@example.com")
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert "vic@example.com" in sidebar.inner_text() and "viewer" in sidebar.inner_text()
    _open_alerts(page, url)
    assert page.get_by_role("heading", name="Open").count() == 1
    assert page.get_by_role("button", name="Acknowledge").count() == 0
    assert page.get_by_role("button", name="Silence").count() == 0
    assert "acknowledging and silencing alerts needs the on-call role" in page.inner_text("body")
    context.close()


def test_on_call_acknowledges_and_the_store_records_who(browser, signed_console):
    url, folder, _ = signed_console
    with Store.open(folder / "sigwatch.db", clock=FixedClock(END)) as store:
        firing = [a for a in store.alerts.open_alerts() if a.state == "firing"]
    mine = [a.key for a in firing if a.signal in ("content_type", "sentiment")]  # #acu-oncall
    assert mine, "the scenario leaves an alert of #acu-oncall firing"
    context, page = _sign_in(browser, url, "bob@example.com")
    _open_alerts(page, url)
    assert page.get_by_label("Your name").count() == 0  # the identity is not typed
    page.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("acknowledged by bob@example.com").wait_for(timeout=60_000)
    context.close()
    with Store.open(folder / "sigwatch.db", clock=FixedClock(END)) as store:
        acked = [a for a in store.alerts.open_alerts() if a.state == "acknowledged"]
    # the first alert listed (the page's order, not the store's) is one of bob's team's
    assert [a.acknowledged_by for a in acked] == ["bob@example.com"] and acked[0].key in mine


def _cookie(secret: str, url: str, payload: dict, age: timedelta = timedelta(0)) -> str:
    """Streamlit's user cookie as it signs it: JSON, signed by itsdangerous with the cookie
    secret (salted with the cookie's name), stamped ``age`` ago."""
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class Stamped(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age.total_seconds())

    body = json.dumps({"origin": url, "is_logged_in": True, **payload})
    serializer = URLSafeTimedSerializer(secret, salt="_streamlit_user", signer=Stamped)
    return serializer.dumps(body)


@pytest.mark.parametrize(
    ("case", "secret", "age", "signed_in"),
    [
        ("signed with the cookie secret, fresh", COOKIE_SECRET, timedelta(0), True),
        ("forged: signed with another secret", "a-guessed-secret", timedelta(0), False),
        ("expired: signed 40 days ago", COOKIE_SECRET, timedelta(days=40), False),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_only_a_valid_unexpired_cookie_signs_in(
    browser, signed_console, case, secret, age, signed_in
):
    url, _, _ = signed_console
    context = browser.new_context()
    claims = {"email": "lead@example.com", "email_verified": True, "sub": "lead"}
    value = _cookie(secret, url, claims, age)
    context.add_cookies([{"name": "_streamlit_user", "value": value, "url": url}])
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")
    if signed_in:  # the control: the same cookie, rightly signed, is accepted
        page.get_by_role("heading", name="Overview").wait_for(timeout=120_000)
        assert "lead@example.com" in page.locator('[data-testid="stSidebar"]').inner_text()
    else:
        _signin_page_only(page)
    context.close()


# --- the same rules, page by page through AppTest ---------------------------------------

AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": COOKIE_SECRET,
    "client_id": "sigwatch-console",
    "client_secret": CLIENT_SECRET,
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


@pytest.fixture
def roles_env(console_env, monkeypatch, tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_text(ROLES)
    monkeypatch.setenv("SIGWATCH_ROLES", str(path))
    monkeypatch.setenv("SIGWATCH_CONSOLE_MODE", "signin")
    return console_env


def _as(script: str, user: dict | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "console" / script), default_timeout=180)
    at.secrets["auth"] = AUTH
    # the provider verified the address (an unverified one is no identity: test_hostile)
    signed_in = {"is_logged_in": True, "email_verified": True, **(user or {})}
    at.user = {"is_logged_in": False} if user is None else signed_in
    return at.run()


def test_signed_out_the_app_shows_the_sign_in_page_and_stops(roles_env):
    at = _as("app.py", None)
    assert not at.exception
    assert [t.value for t in at.title] == ["sigwatch"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.dataframe


def test_named_providers_get_a_button_each(roles_env):
    at = AppTest.from_file(str(ROOT / "console" / "app.py"), default_timeout=180)
    provider = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    at.secrets["auth"] = {
        "redirect_uri": AUTH["redirect_uri"],
        "cookie_secret": COOKIE_SECRET,
        "okta": provider,
        "google": provider,
    }
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button] == ["Sign in with okta", "Sign in with google"]


def test_a_signed_in_person_without_a_role_is_refused(roles_env):
    at = _as("app.py", {"email": "stranger@else.org"})
    assert "has no role in sigwatch" in at.warning[0].value
    assert [t.value for t in at.title] == ["sigwatch"] and not at.dataframe


def test_on_call_for_one_team_acts_on_its_signals_only(roles_env):
    # the open alert is content_type's (#acu-oncall): erin, on call for acu-entities, may not
    at = _as("views/alert_center.py", {"email": "erin@example.com"})
    assert not at.exception
    assert not [s for s in at.selectbox if s.label == "Alert"]
    notes = [c.value for c in at.caption]
    with Store.open(Settings.from_env().store(roles_env), clock=FixedClock(END)) as store:
        shown = [(a.key, a.state) for a in store.alerts.open_alerts()]
    assert any("on call for acu-entities: you acknowledge and silence" in n for n in notes), (
        notes,
        shown,
    )
    signal = next(s for s in at.selectbox if s.label == "Signal")
    assert signal.options == ["product_category", "product_entities"]  # no "(any)"
    assert [t.label for t in at.text_input] == ["Reason", "For"]  # no name to type
    # bob, on call for #acu-oncall, may; the ack carries his identity
    at = _as("views/alert_center.py", {"email": "bob@example.com"})
    ack = next(s for s in at.selectbox if s.label == "Alert")
    assert ack.options and all(
        k.split("/")[0] in ("content_type", "sentiment") for k in ack.options
    )
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert f"{ack.options[0]} acknowledged by bob@example.com." in [s.value for s in at.success]


def test_an_admin_may_silence_across_signals(roles_env):
    at = _as("views/alert_center.py", {"email": "LEAD@example.com"})
    signal = next(s for s in at.selectbox if s.label == "Signal")
    assert signal.options[0] == "(any)" and len(signal.options) == 6
