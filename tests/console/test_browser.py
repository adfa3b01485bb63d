"""The console in a real browser: ``streamlit run`` on 127.0.0.1 and Playwright driving
Debian's Chromium. Every page loads without an exception box; the spot-check returns
predictions for typed text; a screenshot of each page is written to the test's folder."""

from __future__ import annotations

import pytest

from tests.console.conftest import console_args, serving
from tests.postgres import free_port

# Streamlit is done when its "running" status widget and the placeholders are gone.
DONE = """() => !document.querySelector('[data-testid="stStatusWidget"]')
             && !document.querySelector('[data-testid="stSkeleton"]')"""
PAGES = {
    "overview": ("", "Overview"),  # the default page answers at /
    "signal": ("signal?signal=content_type", "Signal detail"),
    "trends": ("trends", "SLO trends"),
    "alerts": ("alerts", "Alerts"),
    "registry": ("registry", "Registry"),
    "spotcheck": ("spotcheck", "Spot-check"),
}


@pytest.fixture(scope="module")
def console_url(console_data, tmp_path_factory):
    url = f"http://127.0.0.1:{(port := free_port())}"
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with serving(console_args(console_data, port), f"{url}/_stcore/health", log):
        yield url


def _open(browser, url: str, title: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("heading", name=title).first.wait_for(timeout=120_000)
    page.wait_for_function(DONE, timeout=120_000)
    if page.locator('[data-testid="stDataFrame"]').count():
        page.locator('[data-testid="stDataFrame"] canvas').first.wait_for(timeout=30_000)
        page.wait_for_timeout(500)  # the grid paints its canvas after mounting
    return page


@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_without_an_exception_and_is_screenshotted(name, browser, console_url, tmp_path):
    path, title = PAGES[name]
    page = _open(browser, f"{console_url}/{path}", title)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def test_overview_shows_the_open_alerts_and_the_grid(browser, console_url):
    page = _open(browser, f"{console_url}/", "Overview")
    # the alerts section renders after the grid; on a loaded machine it can lag behind
    page.get_by_text("Open alerts").first.wait_for(timeout=30_000)
    assert page.get_by_text("Open alerts").count() >= 1
    # ... and so can the second grid's mount: wait for it, then there are exactly two
    page.locator('[data-testid="stDataFrame"]').nth(1).wait_for(timeout=30_000)
    assert page.locator('[data-testid="stDataFrame"]').count() == 2
    # an operations console: no "Deploy" button (``--client.toolbarMode minimal``)
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    assert page.get_by_role("button", name="Deploy").count() == 0
    page.close()


def test_spot_check_returns_predictions_for_typed_text(browser, console_url, tmp_path):
    page = _open(browser, f"{console_url}/spotcheck", "Spot-check")
    box = page.locator("textarea").first
    box.fill("Which blender should I buy for smoothies under $100? Vitamix or Ninja?")
    box.press("Control+Enter")  # commit the value before clicking
    page.get_by_role("button", name="Run every signal's model").click()
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for(timeout=120_000)
    page.get_by_text("served: the score is at or above").wait_for(timeout=120_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(tmp_path / "spotcheck-predictions.png"), full_page=True)
    page.close()
