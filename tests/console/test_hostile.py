"""Values from the logs are hostile, and so are links and addresses: in Chromium, a drift
report drawn from samples whose every text column holds a script runs none of it (while the
same samples in Evidently's own HTML do: the control); a crafted ``?signal=`` is shown as
text, not as a link. Through AppTest: local mode opens on a loopback address only, and an
e-mail the provider has not verified is not an identity."""

from __future__ import annotations

import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from console.common import ZWSP
from monitors.slis import drift
from sigwatch.model import DRIFT_COLUMNS_ANY_TASK
from tests.conftest import ROOT
from tests.console.conftest import console_args, serving
from tests.console.test_browser import DONE
from tests.postgres import free_port

NUMERIC = {"text_len": pl.Int32, "score": pl.Float32, "latency_ms": pl.Float32}
TEXT_COLUMNS = [c for c in (*DRIFT_COLUMNS_ANY_TASK, "label") if c not in NUMERIC]


class Beacon:
    """A local HTTP server that counts what reaches it: a payload that runs calls it."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        beacon = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                beacon.hits.append(self.path)
                self.send_response(204)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def payloads(beacon: str) -> list[str]:
    """Ways a value could try to run: close Evidently's data script, an element with a
    handler, a javascript: URL, Plotly's own link markup. Each calls the beacon and logs."""
    call = f"fetch('{beacon}/ran');console.log('PWNED')"
    return [
        f"</script><script>{call}</script>",
        f'<img src=x onerror="{call}">',
        f"<svg onload={call}>",
        f'"><iframe src="javascript:{call}"></iframe>',
        f'<a href="javascript:{call}">click</a>',
        f"</SCRIPT ><script>{call}//",
    ]


def hostile_samples(beacon: str, rows: int, shift: int) -> pl.DataFrame:
    """Samples with every column a drift report can show; every text column's values are
    the payloads (and a plain value), the numbers ordinary."""
    values = [*payloads(beacon), "plain"]
    frame = {
        c: [values[(k + j) % len(values)] for k in range(rows)] for j, c in enumerate(TEXT_COLUMNS)
    }
    frame["text_len"] = [80 + shift + k % 40 for k in range(rows)]
    frame["score"] = [(k % 100) / 100 for k in range(rows)]
    frame["latency_ms"] = [20.0 + k % 30 + shift for k in range(rows)]
    return pl.DataFrame(frame).cast(NUMERIC)


@pytest.fixture(scope="module")
def beacon():
    server = Beacon()
    yield server
    server.close()


@pytest.fixture(scope="module")
def hostile_console(console_data, beacon, tmp_path_factory):
    """``sigwatch console`` over a copy of the demo data whose content_type drift report
    samples were replaced by hostile ones."""
    folder = tmp_path_factory.mktemp("hostile-data")
    shutil.copy(console_data / "sigwatch.db", folder / "sigwatch.db")
    for part in ("predictions", "labels", "partials"):
        (folder / part).symlink_to((console_data / part).resolve())
    shutil.copytree((console_data / "reports").resolve(), folder / "reports")
    kept = drift.report_folder(folder / "reports", "content_type", "input-drift")
    assert (kept / "current.parquet").exists(), "the demo keeps content_type's drift samples"
    (kept / "report.html").unlink(missing_ok=True)
    hostile_samples(beacon.url, 600, 0).write_parquet(kept / "reference.parquet")
    hostile_samples(beacon.url, 600, 25).write_parquet(kept / "current.parquet")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("streamlit") / "hostile.log"
    with serving(console_args(folder, port), f"{url}/_stcore/health", log):
        yield url, kept


def _watch(page) -> list[str]:
    said: list[str] = []
    page.on("console", lambda m: said.append(m.text))
    page.on("dialog", lambda d: (said.append(f"dialog {d.message}"), d.dismiss()))
    return said


def test_no_value_in_a_drift_report_runs_in_the_console(
    browser, hostile_console, beacon, tmp_path, monkeypatch
):
    url, kept = hostile_console
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    said = _watch(page)
    page.goto(f"{url}/signal?signal=content_type", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Signal detail").wait_for(timeout=120_000)
    page.wait_for_function(DONE, timeout=120_000)
    page.get_by_text("Latest Evidently report").click()
    page.get_by_text("Draw the report").click()
    report = page.frame_locator('iframe[title="st.iframe"]').frame_locator('iframe[title="report"]')
    report.get_by_text("Drift in column 'served_by'").wait_for(timeout=180_000)
    report.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.wait_for_timeout(3000)  # anything that would run has run
    shown = report.locator("body").inner_text()
    page.screenshot(path=str(tmp_path / "hostile-report.png"), full_page=True)
    for column in TEXT_COLUMNS:
        assert f"Drift in column '{column}'" in shown, column
    assert beacon.hits == [] and not [s for s in said if "PWNED" in s or "dialog" in s], said
    page.close()

    # The control: the same samples in Evidently's own HTML, opened as a page, run the payload
    # (so the beacon and the console log above would have seen it).
    monkeypatch.setattr(drift, "inert", lambda frame: frame)
    samples = [pl.read_parquet(kept / f) for f in ("current.parquet", "reference.parquet")]
    raw = tmp_path / "raw.html"
    raw.write_text(drift.report(*samples, None).get_html_str(as_iframe=False), "utf-8")
    control = browser.new_page()
    said = _watch(control)
    control.goto(raw.as_uri(), wait_until="load")
    control.wait_for_timeout(3000)
    control.close()
    assert any("PWNED" in s for s in said) and beacon.hits


def test_a_crafted_signal_link_is_shown_as_text(browser, hostile_console):
    url, _ = hostile_console
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    crafted = "[Sign in again](https://evil.example/login) *now*"
    page.goto(f"{url}/signal?signal={crafted}", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Signal detail").wait_for(timeout=120_000)
    page.wait_for_function(DONE, timeout=120_000)
    error = page.locator('[data-testid="stAlertContentError"]').first
    error.wait_for(timeout=30_000)
    assert crafted in error.inner_text().replace(ZWSP, "")  # shown as written
    assert page.locator('a[href*="evil.example"]').count() == 0
    assert error.locator("em, strong, a").count() == 0
    page.close()


# --- local mode and identities, page by page through AppTest -------------------------------


@pytest.mark.parametrize(
    ("bound", "opens"),
    [
        (None, False),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
    ],
    ids=lambda v: repr(v) if not isinstance(v, bool) else ("opens" if v else "refused"),
)
def test_local_mode_opens_on_a_loopback_address_only(console_env, address, bound, opens):
    address(bound)
    at = AppTest.from_file(str(ROOT / "console" / "app.py"), default_timeout=180).run()
    assert not at.exception
    if opens:
        assert [t.value for t in at.title] == ["Overview"]
        assert any("Local mode" in c.value for c in at.caption)
    else:
        assert [t.value for t in at.title] == ["sigwatch"] and not at.dataframe
        [refusal] = at.error
        assert "has no sign-in and listens on" in refusal.value
        assert "sigwatch console" in refusal.value


@pytest.mark.parametrize(
    ("claims", "identity"),
    [
        ({"email": "lead@example.com", "email_verified": True, "sub": "u1"}, "lead@example.com"),
        ({"email": "lead@example.com", "email_verified": "true", "sub": "u1"}, "lead@example.com"),
        ({"email": "lead@example.com", "email_verified": False, "sub": "u1"}, "u1"),
        ({"email": "lead@example.com", "sub": "u1"}, "u1"),
        ({"email": "lead@example.com", "email_verified": "yes", "sub": "u1"}, "u1"),
        ({"sub": "u1"}, "u1"),
    ],
    ids=[
        "verified",
        "verified as text",
        "not verified",
        "no word on it",
        "a word not true",
        "no e-mail",
    ],
)
def test_an_unverified_email_is_not_an_identity(claims, identity):
    from console.signin import identity as identity_of

    assert identity_of(claims) == identity


def test_an_admin_address_that_is_not_verified_gets_no_role(console_env, monkeypatch, tmp_path):
    from tests.console.test_signin import AUTH

    roles = tmp_path / "roles.yaml"
    roles.write_text("default: none\npeople:\n  lead@example.com: admin\n")
    monkeypatch.setenv("SIGWATCH_ROLES", str(roles))
    monkeypatch.setenv("SIGWATCH_CONSOLE_MODE", "signin")
    for verified, sees in ((False, False), (True, True)):
        at = AppTest.from_file(str(ROOT / "console" / "app.py"), default_timeout=180)
        at.secrets["auth"] = AUTH
        at.user = {
            "is_logged_in": True,
            "email": "lead@example.com",
            "sub": "mallory",
            "email_verified": verified,
        }
        at.run()
        assert not at.exception
        if sees:
            assert [t.value for t in at.title] == ["Overview"]
        else:
            assert "signed in as **mallory**, who has no role" in at.warning[0].value


def test_a_broken_definitions_banner_shows_a_hostile_value_as_text(tmp_path, monkeypatch, address):
    """An edit that breaks the definitions keeps the last good ones and says why on the page:
    the problem quotes the file's value, which is shown as text, never as markup."""
    import shutil

    from console import common

    folder = tmp_path / "defs"
    shutil.copytree(ROOT / "slo_definitions", folder)
    monkeypatch.setenv("SIGWATCH_DEFINITIONS", str(folder))
    monkeypatch.setenv("SIGWATCH_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("SIGWATCH_STORE_URL", raising=False)
    address("127.0.0.1")
    common.read.clear()
    at = AppTest.from_file(str(ROOT / "console" / "app.py"), default_timeout=180).run()
    assert not at.exception and not at.code  # the definitions are good: no banner
    payload = "</script><b>x</b> <!channel>"
    sentiment = folder / "sentiment.yaml"
    sentiment.write_text(sentiment.read_text().replace("task: multiclass", f"task: '{payload}'"))
    stat = sentiment.stat()  # a later modification time, whatever the file system's resolution
    os.utime(sentiment, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    at.run()
    assert not at.exception
    [banner] = [e for e in at.error if "last read without one" in e.value]
    assert payload not in banner.value
    [problem] = at.code
    assert payload in problem.value and "sentiment.yaml" in problem.value  # as text, verbatim
    assert not [m for m in at.markdown if payload in m.value]
