"""End to end in a real browser: the app served by `streamlit run`, driven in headless Chromium.

Debian's Chromium (/usr/bin/chromium) through the Python Playwright package; no browser is
downloaded. Run alone with ``python -m pytest -m e2e``. Screenshots of every step go to
``artifacts/e2e/``; the timings are printed at the end of the run (not asserted).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import E2E_TIMINGS, FAILED, ROOT, shared_zip

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("RECO_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = ROOT / "artifacts" / "e2e"
TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1500, "height": 1750}
SLIDERS = "input[aria-label='Your rating']"
IDLE = """() => !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-stale="true"]')"""
AGE_GROUP = "25-34"
CHART_CHANGED = """([chart, before]) => {
    const bars = [...document.querySelectorAll(`.st-key-${chart} svg .mark-rect path[aria-label]`)];
    return bars.length > 0 && bars.map(b => b.getAttribute('aria-label')).join('|') !== before;
}"""

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - only where requirements-dev is not installed
    sync_playwright = None


def _missing_browser() -> str | None:
    if sync_playwright is None:
        return "the playwright package is not installed (requirements-dev.txt)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    missing = _missing_browser()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests, but {missing}")
        pytest.skip(missing)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run` on a free port over a data folder with ml-100k and its index built."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    data = tmp_path_factory.mktemp("e2e-data")
    shutil.copy(shared_zip("ml-100k"), data / "ml-100k.zip")
    env = {**os.environ, "RECO_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    env.pop("QDRANT_URL", None)
    subprocess.run(
        [sys.executable, "-m", "reco", "build", "--dataset", "ml-100k"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    log = (data / "streamlit.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "streamlit_app.py"),
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--server.fileWatcherType=none",
            "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server, data / "streamlit.log")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(data / "streamlit.log", ARTIFACTS / "streamlit.log")


def _wait_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"streamlit did not become healthy in 60 s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    if request.node.stash.get(FAILED, False):
        shot(opened, f"FAILED-{request.node.name}")
    context.close()


@pytest.fixture
def timings(request: pytest.FixtureRequest) -> dict[str, list[float]]:
    """Seconds measured by the tests, printed by the terminal summary in conftest."""
    return request.config.stash.setdefault(E2E_TIMINGS, {})


# --------------------------------------------------------------------------- page helpers


def wait_idle(page: Page) -> None:
    """The script run has finished: no running indicator, no stale element left."""
    page.wait_for_function(IDLE, timeout=TIMEOUT_MS)


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def headings(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("h3").all_inner_texts()]


def wait_for_count(page: Page, rated: int) -> None:
    expect(page.locator("h3", has_text=f"My ratings ({rated})")).to_be_visible()
    wait_idle(page)


def bar_labels(page: Page, chart: str) -> list[str]:
    """The accessible labels Vega gives each bar of a chart (``recommendation-chart`` or the
    shown tab of ``neighbour-charts``)."""
    bars = page.locator(f".st-key-{chart} svg .mark-rect path[aria-label]")
    return bars.evaluate_all("paths => paths.map(p => p.getAttribute('aria-label'))")


def wait_for_chart(page: Page, chart: str, before: list[str] | None = None) -> list[str]:
    """Wait until the chart has bars (different from ``before``, when given); return them."""
    page.wait_for_function(CHART_CHANGED, arg=[chart, "|".join(before or [])])
    wait_idle(page)
    return bar_labels(page, chart)


def recommended_titles(page: Page) -> list[str]:
    """The recommended movies as the chart shows them, top to bottom; fails unless the bars
    are in rank order (scores falling), as in the table."""
    bars = page.locator(".st-key-recommendation-chart svg .mark-rect path[aria-label]")
    shown = bars.evaluate_all(
        "paths => paths.map(p => [p.getBoundingClientRect().top, p.getAttribute('aria-label')])"
    )
    labels = [label for _, label in sorted(shown)]
    scores = [float(re.search(r"Score: ([-\d.]+)", label).group(1)) for label in labels]
    assert scores == sorted(scores, reverse=True), labels
    return [re.search(r"Movie: (.*?);", label).group(1) for label in labels]


def neighbours_by_age(page: Page) -> dict[str, int]:
    """Age group -> neighbours in it (groups with any), read from the age-group chart's bars."""
    counts = {}
    for label in bar_labels(page, "neighbour-charts"):
        if "Who: Your neighbours" in label:
            group = re.search(r"Age group: ([^;]+);", label).group(1)
            counts[group] = int(re.search(r"Users: (\d+)", label).group(1))
    return {group: users for group, users in counts.items() if users}


def search(page: Page, text: str) -> None:
    page.get_by_label("Title").fill(text)
    page.get_by_label("Title").press("Enter")
    expect(page.locator(".st-key-search-results")).to_be_visible()
    wait_idle(page)


def result_rows(page: Page):
    return page.locator(".st-key-search-results [data-testid='stHorizontalBlock']")


def rate_result(page: Page, index: int, *, drag: bool = False) -> str:
    """Give the ``index``-th search result 5 stars, by keyboard (End) or by dragging the
    slider's thumb to the end of its track with the mouse; return the title."""
    row = result_rows(page).nth(index)
    title = row.locator("strong").first.inner_text()
    if drag:
        thumb = row.locator(SLIDERS).locator("xpath=..").bounding_box()
        track = row.locator("[data-testid='stSlider']").bounding_box()
        y = thumb["y"] + thumb["height"] / 2
        page.mouse.move(thumb["x"] + thumb["width"] / 2, y)
        page.mouse.down()
        page.mouse.move(track["x"] + track["width"] + 20, y, steps=10)
        page.mouse.up()
    else:
        row.locator(SLIDERS).focus()
        page.keyboard.press("End")
    return title


def rate_three_star_wars_results(page: Page, timings: dict[str, list[float]]) -> list[str]:
    search(page, "star wars")
    titles = []
    for rated in (1, 2, 3):
        started = time.perf_counter()
        titles.append(rate_result(page, rated - 1, drag=rated == 2))
        wait_for_count(page, rated)
        timings.setdefault("slider change -> page updated", []).append(
            time.perf_counter() - started
        )
    expect(page.locator("h3", has_text="Recommended for you")).to_be_visible()
    wait_for_chart(page, "recommendation-chart")
    return titles


# --------------------------------------------------------------------------- scenarios


def test_first_visit_shows_onboarding(app_url: str, page: Page, timings) -> None:
    started = time.perf_counter()
    page.goto(app_url)
    expect(page.locator(f"[class*='st-key-quick-'] {SLIDERS}")).to_have_count(12)
    wait_idle(page)
    timings.setdefault("first render (index on disk)", []).append(time.perf_counter() - started)
    shot(page, "01-onboarding")

    found = headings(page)
    assert any("Quick start" in h for h in found), found
    assert any("Popular movies" in h for h in found), found
    assert not any("Recommended for you" in h for h in found), found
    assert page.get_by_text("Not personalised yet: rate 3 more movies").is_visible()
    values = page.locator(f"[class*='st-key-quick-'] {SLIDERS}").evaluate_all(
        "sliders => sliders.map(s => s.getAttribute('aria-valuetext'))"
    )
    assert values == ["Not rated"] * 12


def test_search_rate_three_and_get_recommendations(app_url: str, page: Page, timings) -> None:
    page.goto(app_url)
    wait_idle(page)
    search(page, "star wars")
    shot(page, "02-search")
    first = result_rows(page).first.inner_text()
    assert first.startswith("Star Wars (1977)"), first
    assert result_rows(page).count() >= 3

    titles = rate_three_star_wars_results(page, timings)
    shot(page, "03-recommendations")
    assert titles[0] == "Star Wars"
    assert re.search(r"[?&]r=50(%3A|:)5", page.url), page.url
    recommended = recommended_titles(page)
    assert len(recommended) == 10, recommended
    assert not any(title in r for r in recommended for title in titles), recommended
    mine = page.locator(f"[class*='st-key-mine-'] {SLIDERS}").evaluate_all(
        "sliders => sliders.map(s => s.getAttribute('aria-valuetext'))"
    )
    assert mine == ["5 ★"] * 3

    # one more rating: the time until the recommendation chart itself has changed
    before = bar_labels(page, "recommendation-chart")
    started = time.perf_counter()
    rate_result(page, 3)
    wait_for_chart(page, "recommendation-chart", before)
    timings.setdefault("slider change -> new recommendations", []).append(
        time.perf_counter() - started
    )
    expect(page.locator("h3", has_text="My ratings (4)")).to_be_visible()
    assert recommended_titles(page) != recommended


def test_age_group_changes_the_neighbour_chart(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/?r=50:5,172:5,181:5")
    wait_for_count(page, 3)
    labels = wait_for_chart(page, "neighbour-charts")
    bars = wait_for_chart(page, "recommendation-chart")
    before = neighbours_by_age(page)
    recommended = recommended_titles(page)
    assert sum(before.values()) == 100 and len(before) > 1, before

    page.locator(".st-key-age_groups-ml-100k").click()
    page.get_by_role("option", name=AGE_GROUP, exact=True).click()
    page.keyboard.press("Escape")
    expect(page.get_by_text(f"most like yours ({AGE_GROUP})")).to_be_visible()
    wait_for_chart(page, "neighbour-charts", labels)
    wait_for_chart(page, "recommendation-chart", bars)
    shot(page, "04-age-group")
    assert recommended_titles(page) != recommended  # in rank order, not the old chart's order

    after = neighbours_by_age(page)
    assert after == {AGE_GROUP: 100}, after
    assert after != before


def test_link_restores_ratings_in_a_fresh_browser_and_survives_reload(
    app_url: str, browser: Browser, page: Page, timings
) -> None:
    page.goto(app_url)
    wait_idle(page)
    rate_three_star_wars_results(page, timings)
    link = page.url
    recommended = recommended_titles(page)
    assert "r=" in link, link

    fresh = browser.new_context(viewport=VIEWPORT)
    fresh.set_default_timeout(TIMEOUT_MS)
    other = fresh.new_page()
    try:
        started = time.perf_counter()
        other.goto(link)
        wait_for_count(other, 3)
        wait_for_chart(other, "recommendation-chart")
        timings.setdefault("render from a shared link", []).append(time.perf_counter() - started)
        shot(other, "05-shared-link")
        assert recommended_titles(other) == recommended

        other.reload()
        wait_for_count(other, 3)
        wait_for_chart(other, "recommendation-chart")
        shot(other, "06-reloaded")
        assert recommended_titles(other) == recommended
        assert other.url == link
    finally:
        fresh.close()
