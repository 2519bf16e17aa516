"""End to end in a real browser: the app served by `streamlit run`, driven in headless Chromium.

Debian's Chromium (/usr/bin/chromium) through the Python Playwright package; no browser is
downloaded. Run alone with ``python -m pytest -m e2e``. Screenshots of every step go to
``artifacts/e2e/``; the timings are printed at the end of the run (not asserted).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import E2E_TIMINGS, FAILED, ROOT, shared_zip

from scripts.local_app import serving, streamlit_server

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
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORT = DESKTOP
QUICK = 8  # films in the quick-rate set (the app's QUICK_RATE)
VISITORS = 5  # new visitors timed on a warm server (the app's and Streamlit alone's)
SLIDERS = "input[type='range']"  # a star slider's thumb (keyboard-focusable)
# The run is over and everything is drawn: no running indicator, no stale element, and no
# skeleton (a widget whose script chunk is still loading is a grey placeholder until then).
IDLE = """() => !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-stale="true"]')
    && !document.querySelector('[data-testid="stSkeleton"]')"""
AGE_GROUP = "25-34"
CHART_CHANGED = """([chart, before]) => {
    const bars = [...document.querySelectorAll(`.st-key-${chart} svg .mark-rect path[aria-label]`)];
    return bars.length > 0 && bars.map(b => b.getAttribute('aria-label')).join('|') !== before;
}"""

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
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


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run` on a free port over a data folder with ml-100k and its index built,
    and ml-latest-small's zip (indexed when first chosen)."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    data = tmp_path_factory.mktemp("e2e-data")
    shutil.copy(shared_zip("ml-100k"), data / "ml-100k.zip")
    shutil.copy(shared_zip("ml-latest-small"), data / "ml-latest-small.zip")
    try:
        with serving(data, data / "streamlit.log") as (_, url):
            yield url
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(data / "streamlit.log", ARTIFACTS / "streamlit.log")


def _page(browser: Browser, request: pytest.FixtureRequest, **options) -> Iterator[Page]:
    """A page in a fresh browser context; a screenshot of it when the test failed."""
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    if request.node.stash.get(FAILED, False):
        shot(opened, f"FAILED-{request.node.name}")
    context.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from _page(browser, request, viewport=VIEWPORT)


@pytest.fixture
def phone(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from _page(browser, request, viewport=PHONE, is_mobile=True, has_touch=True)


@pytest.fixture
def timings(request: pytest.FixtureRequest) -> dict[str, list[float]]:
    """Seconds measured by the tests, printed by the terminal summary in conftest."""
    return request.config.stash.setdefault(E2E_TIMINGS, {})


# --------------------------------------------------------------------------- page helpers


def wait_idle(page: Page) -> None:
    """The script run has finished: no running indicator, no stale element left."""
    page.wait_for_function(IDLE, timeout=TIMEOUT_MS)


def shot(page: Page, name: str, *, whole: bool = True) -> None:
    """A screenshot: the first screen as a person sees it (``-screen``) and, with ``whole``,
    the whole page (Streamlit scrolls inside its main block, so the viewport is made as tall as
    the content for that shot)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(ARTIFACTS / f"{name}-screen.png"))
    if whole and size:
        height = page.evaluate(
            '() => Math.max(...[...document.querySelectorAll(\'[data-testid="stMain"], '
            '[data-testid="stMainBlockContainer"]\')].map(e => e.scrollHeight), 0)'
        )
        page.set_viewport_size(
            {"width": size["width"], "height": min(max(height, size["height"]), 12000)}
        )
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        page.set_viewport_size(size)


def headings(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("h3").all_inner_texts()]


HEADING_SAYS = """text => [...document.querySelectorAll('h3')].some(
    h => h.textContent.includes(text))"""
READY = """([selector, idle]) => {
    const found = document.querySelector(selector);
    return !!found && found.getBoundingClientRect().height > 0 && eval(idle)();
}"""


def wait_for_count(page: Page, rated: int) -> None:
    """Wait until *My ratings* counts ``rated`` and the run is over. Checked at every animation
    frame (`wait_for_function`), not by `expect`, whose retries back off to one check every
    half second and would add up to that much to a timing."""
    page.wait_for_function(HEADING_SAYS, arg=f"My ratings ({rated})")
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


CARDS = "[class*='st-key-rec-card-']"
QUICK_TITLES = "[class*='st-key-quick-'] [data-testid='stWidgetLabel'] p"  # titled sliders


def recommended_titles(page: Page) -> list[str]:
    """The recommended films as their cards list them, top to bottom (without the rank); fails
    unless the chart shows the same films in the same order."""
    cards = page.locator(f"{CARDS} strong").all_inner_texts()
    titles = [re.sub(r"^\d+\. ", "", text) for text in cards if re.match(r"^\d+\. ", text)]
    bars = page.locator(".st-key-recommendation-chart svg .mark-rect path[aria-label]")
    shown = bars.evaluate_all(
        "paths => paths.map(p => [p.getBoundingClientRect().top, p.getAttribute('aria-label')])"
    )
    charted = []
    for _, label in sorted(shown):
        movie = re.search(r"Movie: (.*?);", label).group(1)
        if movie not in charted:
            charted.append(movie)
    assert charted == titles, (charted, titles)
    return titles


def neighbours_by_age(page: Page) -> dict[str, int]:
    """Age group -> neighbours in it (groups with any), read from the age-group chart's bars."""
    counts = {}
    for label in bar_labels(page, "neighbour-charts"):
        if "Who: Your neighbours" in label:
            group = re.search(r"Age group: ([^;]+);", label).group(1)
            counts[group] = int(re.search(r"Users: (\d+)", label).group(1))
    return {group: users for group, users in counts.items() if users}


def choose(page: Page, key: str, option: str) -> None:
    """Pick ``option`` in the select box ``key``. Its list closes when anything on the page
    scrolls or moves (react-aria), so it is opened again until the option could be clicked."""
    for _ in range(5):
        page.locator(f".st-key-{key} input").click()
        try:
            # a neighbour filter's options also say how many users they hold: "25-34 · 339"
            label = re.compile(rf"^{re.escape(option)}( · [\d,]+)?$")
            page.get_by_role("option", name=label).click(timeout=3_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_idle(page)
    raise AssertionError(f"could not choose {option!r} in {key}")


def search(page: Page, text: str) -> None:
    box = page.get_by_label("Title", exact=True)
    box.fill(text)
    box.press("Enter")
    expect(page.locator(".st-key-search-results")).to_be_visible()
    wait_idle(page)


def result_rows(page: Page):
    return page.locator(".st-key-search-results [data-testid='stHorizontalBlock']")


def card(page: Page, index: int):
    """The ``index``-th recommendation card."""
    return page.locator(CARDS).nth(index)


def scroll_top(page: Page, selector: str) -> float:
    """How far down the page (in CSS px, from the top of the content) an element starts."""
    return page.locator(selector).first.evaluate(
        """e => {
            const main = document.querySelector('[data-testid="stMain"]');
            return e.getBoundingClientRect().top + (main ? main.scrollTop : 0) + window.scrollY;
        }"""
    )


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


def first_render(browser: Browser, url: str, ready: str) -> float:
    """Seconds from a new visitor (a fresh browser context: nothing cached) opening ``url``
    until ``ready`` is on the page and the script run is over."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        visitor = context.new_page()
        started = time.perf_counter()
        visitor.goto(url, wait_until="commit")
        visitor.wait_for_function(READY, arg=[ready, IDLE], timeout=TIMEOUT_MS)  # every frame
        return time.perf_counter() - started
    finally:
        context.close()


def test_first_visit_shows_onboarding(app_url: str, browser: Browser, page: Page, timings) -> None:
    started = time.perf_counter()
    page.goto(app_url)
    quick = page.locator(f"[class*='st-key-quick-'] {SLIDERS}")
    expect(quick).to_have_count(QUICK)
    wait_idle(page)
    timings.setdefault("first render (cold server: its first visitor)", []).append(
        time.perf_counter() - started
    )
    shot(page, "01-onboarding")
    for _ in range(VISITORS):  # the server has its index open: what every later visitor waits
        timings.setdefault("first render (warm server, new visitor)", []).append(
            first_render(browser, app_url, f"[class*='st-key-quick-'] {SLIDERS}")
        )

    found = headings(page)
    assert any("Quick start" in h for h in found), found
    assert any("Popular movies" in h for h in found), found
    assert not any("Recommended for you" in h for h in found), found
    assert page.get_by_text("Not personalised yet: rate 3 more movies").is_visible()
    values = quick.evaluate_all("sliders => sliders.map(s => s.getAttribute('aria-valuetext'))")
    assert values == ["Not rated"] * QUICK
    # not cramped: two films a row, titles on at most two lines, room for each half star
    track = page.locator("[class*='st-key-quick-'] [data-testid='stSlider']").first
    assert track.bounding_box()["width"] / 10 >= 20  # px per half star
    heights = page.locator(QUICK_TITLES).evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height / "
        "parseFloat(getComputedStyle(e).lineHeight))"
    )
    assert max(heights) <= 2.05, heights
    first_set = page.locator(QUICK_TITLES).all_inner_texts()
    page.get_by_role("button", name="Show me other films").click()
    expect(page.locator(QUICK_TITLES).first).not_to_have_text(first_set[0])
    wait_idle(page)
    second_set = page.locator(QUICK_TITLES).all_inner_texts()
    assert len(second_set) == QUICK and not set(second_set) & set(first_set), second_set

    # the popular films, drawn when opened, are rated in place like any other
    page.get_by_text("The most liked films meanwhile").click()
    popular = page.locator("[class*='st-key-pop-card-']")
    expect(popular).to_have_count(10)
    wait_idle(page)
    shot(page, "01b-popular")
    title = re.sub(r"\s+", " ", popular.first.locator("strong").first.inner_text())
    popular.first.locator(SLIDERS).focus()
    page.keyboard.press("End")
    wait_for_count(page, 1)
    expect(popular.first.locator("strong").first).not_to_have_text(title)
    mine = page.locator(f"[class*='st-key-mine-'] {SLIDERS}")
    expect(mine).to_have_attribute("aria-valuetext", "5 ★")
    assert popular.count() == 10  # still open, one film further down the list


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

    # one more rating, given and taken back: the time until the recommendation chart itself
    # has changed (it comes after the cards: they are redrawn by then)
    for change in range(6):
        before = bar_labels(page, "recommendation-chart")
        row = result_rows(page).nth(3).locator(SLIDERS)
        row.focus()
        started = time.perf_counter()
        page.keyboard.press("Home" if change % 2 else "End")
        page.wait_for_function(CHART_CHANGED, arg=["recommendation-chart", "|".join(before)])
        timings.setdefault("slider change -> new recommendations", []).append(
            time.perf_counter() - started
        )
        wait_for_count(page, 3 if change % 2 else 4)
        if change == 0:
            assert recommended_titles(page) != recommended
    assert recommended_titles(page) == recommended  # the fourth rating taken back


def test_rate_a_recommendation_in_place_hide_one_and_restore_it(
    app_url: str, page: Page, timings
) -> None:
    page.goto(f"{app_url}/?r=50:5,172:5,181:5")
    wait_for_count(page, 3)
    wait_for_chart(page, "recommendation-chart")
    recommended = recommended_titles(page)

    # rate the first recommendation where it is: it moves to My ratings
    before = bar_labels(page, "recommendation-chart")
    started = time.perf_counter()
    card(page, 0).locator(SLIDERS).focus()
    page.keyboard.press("End")
    wait_for_count(page, 4)
    wait_for_chart(page, "recommendation-chart", before)
    timings.setdefault("rate a recommendation -> list updated", []).append(
        time.perf_counter() - started
    )
    after = recommended_titles(page)
    assert recommended[0] not in after and after[0] == recommended[1], after
    mine = page.locator(
        f"[class*='st-key-mine-'] {SLIDERS}[aria-label={json.dumps(recommended[0])}]"
    )
    expect(mine).to_have_attribute("aria-valuetext", "5 ★")  # now under My ratings

    # not interested: it leaves, is listed, travels in the link, and comes back on restore
    hidden = after[0]
    before = bar_labels(page, "recommendation-chart")
    card(page, 0).get_by_role("button", name="Not interested").click()
    wait_for_chart(page, "recommendation-chart", before)
    assert hidden not in recommended_titles(page)
    assert re.search(r"[?&]h=\d+", page.url), page.url
    page.get_by_text("Not interested (1)").click()
    expect(page.get_by_role("button", name="Restore")).to_be_visible()
    shot(page, "04-hidden")
    before = bar_labels(page, "recommendation-chart")
    page.get_by_role("button", name="Restore").click()
    wait_for_chart(page, "recommendation-chart", before)
    assert recommended_titles(page)[0] == hidden
    assert "h=" not in page.url


def test_explanations_and_links_out(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/?r=50:5,172:5,181:5")
    wait_for_count(page, 3)
    wait_for_chart(page, "recommendation-chart")
    # four cards on a laptop's first screen, each of two lines and a row of its actions
    bottoms = page.locator(CARDS).evaluate_all(
        "cards => cards.slice(0, 4).map(c => c.getBoundingClientRect().bottom)"
    )
    assert len(bottoms) == 4 and max(bottoms) <= VIEWPORT["height"], bottoms
    first = card(page, 0)
    text = first.inner_text()
    assert re.search(r"≈ \d\.\d\s★ predicted for you", text), text
    assert re.search(r"👍 \d+ of your 100 neighbours liked it", text), text
    first.locator("[data-testid='stMarkdown'] [data-testid='stTooltipIcon']").hover()
    why = page.locator("[data-testid='stTooltipContent']").inner_text()  # the whole of it
    assert re.search(r"\d+ of your 100 neighbours rated it: 👍 \d+ liked", why), why
    assert re.search(r"5\s★ like you", why), why
    assert any(title in why for title in ("Star Wars", "Empire Strikes", "Return of the Jedi"))
    page.mouse.move(0, 0)

    link = first.get_by_role("link", name="IMDb ↗")
    assert link.get_attribute("href").startswith("https://www.imdb.com/")
    assert link.get_attribute("target") == "_blank"
    with page.expect_popup() as opened:  # a new tab (it cannot load here: no network)
        link.click()
    opened.value.close()

    page.get_by_text("Why these movies? Every neighbour's rating").click()
    why = page.locator(".st-key-why-panel [data-testid='stDataFrame']")
    expect(why).to_be_visible()
    expect(
        page.get_by_text("Neighbours who disliked it (below 3 ★) count against it")
    ).to_be_visible()

    # The panel is a fragment: choosing another film redraws it alone; a rating given in it
    # redraws the whole page (the film leaves the recommendations, joins My ratings).
    wait_idle(page)
    recommended = recommended_titles(page)
    choose(page, "why", recommended[1])
    panel = page.locator("[data-testid='stExpander']").filter(has_text="Seen it? Rate it here")
    slider = panel.locator(f"{SLIDERS}[aria-label={json.dumps(recommended[1])}]")
    expect(slider).to_be_visible()
    wait_idle(page)
    expect(panel.locator(SLIDERS)).to_have_count(1)  # the previous film's slider is gone
    slider.focus()
    page.keyboard.press("End")
    wait_for_count(page, 4)
    wait_for_chart(page, "recommendation-chart")
    assert recommended[1] not in recommended_titles(page)
    mine = page.locator(f"[class*='st-key-mine-'] {SLIDERS}").evaluate_all(
        "sliders => sliders.map(s => s.getAttribute('aria-label'))"
    )
    assert any(recommended[1] in label for label in mine), mine
    expect(why).to_be_visible()  # the panel stays open, on another film
    shot(page, "05-why")


def test_age_group_changes_the_neighbour_chart(app_url: str, page: Page, timings) -> None:
    page.goto(f"{app_url}/?r=50:5,172:5,181:5")
    wait_for_count(page, 3)
    expect(page.locator(".st-key-neighbour-charts")).to_have_count(0)  # drawn when opened
    page.get_by_text("Your neighbours: who they are, against everyone").click()
    labels = wait_for_chart(page, "neighbour-charts")
    bars = wait_for_chart(page, "recommendation-chart")
    before = neighbours_by_age(page)
    recommended = recommended_titles(page)
    assert sum(before.values()) == 100 and len(before) > 1, before

    sections = page.locator("[data-testid='stSidebar'] [data-testid='stExpander']")
    expect(sections.first).to_have_text(re.compile("MovieLens release: ml-100k"))
    filters = sections.filter(has_text="Age group, gender, occupation")
    expect(page.locator(".st-key-age_groups-ml-100k")).to_have_count(0)  # drawn when opened
    filters.get_by_text("Age group, gender, occupation").click()
    expect(page.locator(".st-key-age_groups-ml-100k")).to_be_visible()
    wait_idle(page)
    choose(page, "age_groups-ml-100k", AGE_GROUP)
    page.keyboard.press("Escape")
    expect(page.get_by_text(f"most like you ({AGE_GROUP})")).to_be_visible()
    wait_for_chart(page, "neighbour-charts", labels)
    wait_for_chart(page, "recommendation-chart", bars)
    expect(page.locator(".st-key-age_groups-ml-100k")).to_be_visible()  # open as one chooses
    filters.get_by_text("Age group, gender, occupation").click()  # closed: still on, named
    expect(page.locator(".st-key-age_groups-ml-100k")).to_have_count(0)
    expect(page.get_by_test_id("stSidebar").get_by_text(f"Filters on: {AGE_GROUP}")).to_be_visible()
    expect(filters.get_by_test_id("stExpanderDetails")).to_be_hidden()  # done folding up
    wait_idle(page)
    shot(page, "06-age-group")
    assert recommended_titles(page) != recommended  # in rank order, not the old chart's order

    after = neighbours_by_age(page)
    assert after == {AGE_GROUP: 100}, after
    assert after != before

    # Another tab redraws the neighbours' section only (a fragment): the gender chart comes up
    # while the recommendations stay as they are.
    shown = recommended_titles(page)
    for tab in ("Gender", "Occupation", "Age group"):
        labels = bar_labels(page, "neighbour-charts")
        started = time.perf_counter()
        page.get_by_role("tab", name=tab).click()
        labels = wait_for_chart(page, "neighbour-charts", labels)
        timings.setdefault("neighbour tab -> its chart", []).append(time.perf_counter() - started)
        assert any(f"{tab}: " in label for label in labels), labels[:2]
    assert recommended_titles(page) == shown
    assert neighbours_by_age(page) == after
    page.get_by_role("tab", name="Table").click()
    expect(page.locator(".st-key-neighbour-charts [data-testid='stDataFrame']")).to_be_visible()


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
        shot(other, "07-shared-link", whole=False)
        assert recommended_titles(other) == recommended

        other.reload()
        wait_for_count(other, 3)
        wait_for_chart(other, "recommendation-chart")
        assert recommended_titles(other) == recommended
        assert other.url == link
    finally:
        fresh.close()


BURSTS = 30  # bursts of key presses on one slider
PRESSES = 8  # in a burst: "Not rated" -> 4 stars, and back
WRATH_OF_KHAN = 228  # ml-100k's Star Trek: The Wrath of Khan
RATED_THREE = "?r=50:5,172:5,181:4.5"  # three Star Wars films: the page recommends
# Each film's slider at a place, by the film's id: {"228": "4 ★"}. A slider's key is
# "<place>-<movie id>", with "--<n>" once it was drawn anew (`app.state.slider_key`).
SLIDER_VALUES = """place => Object.fromEntries(
    [...document.querySelectorAll(`[class*='st-key-${place}-'] input[type='range']`)].map(i => {
        const holder = i.closest(`[class*='st-key-${place}-']`);
        const key = [...holder.classList].find(c => c.startsWith(`st-key-${place}-`));
        return [key.slice(`st-key-${place}-`.length).split('--')[0],
                i.getAttribute('aria-valuetext')];
    }))"""


def stars_of(text: str | None) -> float | None:
    """A slider's "4 ★" (or "Not rated", or no slider) as stars (or None)."""
    return None if text in (None, "Not rated") else float(text.split()[0])


def ratings_everywhere(page: Page) -> dict[str, dict[int, float | None]]:
    """Every film's rating as the search results, *My ratings* and the page's address say."""
    link = parse_qs(urlparse(page.url).query).get("r", [""])[0]
    places = {
        place: {int(m): stars_of(v) for m, v in page.evaluate(SLIDER_VALUES, place).items()}
        for place in ("search", "mine")
    }
    return {
        **places,
        "link": {int(m): float(s) for m, s in (p.split(":") for p in link.split(",") if p)},
    }


def settled(page: Page) -> dict[str, dict[int, float | None]]:
    """The ratings everywhere once the page is idle and stays as it is for half a second."""
    wait_idle(page)
    seen = ratings_everywhere(page)
    for _ in range(20):
        page.wait_for_timeout(500)
        wait_idle(page)
        again = ratings_everywhere(page)
        if again == seen:
            return seen
        seen = again
    raise AssertionError(f"the page did not settle: {seen}")


def disagreements(seen: dict, wanted: dict[int, float | None]) -> dict:
    """Where a place does not show a film's wanted rating (None: not rated, so not in *My
    ratings* nor in the link)."""
    return {
        (place, movie_id): shows.get(movie_id)
        for place, shows in seen.items()
        for movie_id, stars in wanted.items()
        if shows.get(movie_id) != stars
    }


def test_ratings_given_quickly_are_saved_as_shown(app_url: str, page: Page) -> None:
    """Bursts of key presses on one slider, then clicks on four sliders 100 ms apart: once the
    page is idle the slider, *My ratings* and the link all say the last rating chosen."""
    page.goto(app_url + RATED_THREE)
    wait_for_count(page, 3)
    search(page, "star trek")
    slider = page.locator(
        f".st-key-search-{WRATH_OF_KHAN} {SLIDERS}, "
        f"[class*='st-key-search-{WRATH_OF_KHAN}--'] {SLIDERS}"
    )
    wrong = []
    for burst in range(BURSTS):
        right = burst % 2 == 0
        slider.focus()
        for _ in range(PRESSES):
            page.keyboard.press("ArrowRight" if right else "ArrowLeft")
        wanted = {WRATH_OF_KHAN: 4.0 if right else None}
        found = disagreements(settled(page), wanted)
        if found:
            wrong.append((burst, found))
    assert not wrong, f"{len(wrong)} of {BURSTS} bursts saved or showed another rating: {wrong}"

    rows = result_rows(page)  # the Star Trek films, none rated now
    for round_, fractions in enumerate(((0.9, 0.7, 0.5, 0.3), (0.2, 0.95, 0.6, 0.45))):
        chosen = {}
        for index, fraction in enumerate(fractions):
            track = rows.nth(index).locator("[data-testid='stSlider']").bounding_box()
            page.mouse.click(
                track["x"] + track["width"] * fraction, track["y"] + 0.5 * track["height"]
            )
            page.wait_for_timeout(100)
        seen = settled(page)
        for index in range(len(fractions)):
            holder = rows.nth(index).locator("[class*='st-key-search-']").first
            key = next(c for c in holder.get_attribute("class").split() if c.startswith("st-key-"))
            movie_id = int(key.removeprefix("st-key-search-").split("--")[0])
            chosen[movie_id] = seen["search"][movie_id]
        assert all(stars is not None for stars in chosen.values()), (round_, chosen)
        assert not disagreements(seen, chosen), (round_, chosen, seen)


def switch_release(page: Page, label: str) -> None:
    """Choose a release in the sidebar's release section (opened first)."""
    page.locator("[data-testid='stSidebar'] summary", has_text="MovieLens release:").click()
    wait_idle(page)
    choose(page, "dataset", label)


def link_of(page: Page) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(page.url).query).items()}


def test_every_release_keeps_its_ratings_through_a_switch_and_a_reload(
    app_url: str, page: Page
) -> None:
    """Three ratings on ml-100k, one on ml-latest-small (whose film 1 is also Toy Story: no
    rating moves between them): each release's come back after a switch and a reload."""
    page.goto(app_url + RATED_THREE)
    wait_for_count(page, 3)
    switch_release(page, "ml-latest-small (films to 2018)")
    wait_for_count(page, 0)  # indexed on first choice, then opened
    assert link_of(page) == {
        "dataset": "ml-latest-small",
        "r.ml-100k": RATED_THREE.removeprefix("?r="),
    }
    search(page, "toy story")
    title = rate_result(page, 0)
    wait_for_count(page, 1)
    assert title.startswith("Toy Story") and link_of(page)["r"] == "1:5"
    page.reload()
    wait_for_count(page, 1)
    shot(page, "12-other-release-after-reload", whole=False)
    switch_release(page, "ml-100k (films to 1998)")
    wait_for_count(page, 3)
    page.reload()
    wait_for_count(page, 3)
    assert link_of(page) == {"r": RATED_THREE.removeprefix("?r="), "r.ml-latest-small": "1:5"}


def test_back_undoes_one_change_at_a_time_and_then_leaves(app_url: str, page: Page) -> None:
    """Each rating is one entry in the browser's history: Back takes the ratings back one
    at a time (Forward gives one again), and once they are all undone Back leaves the site."""
    page.goto("about:blank")
    page.goto(app_url)
    wait_idle(page)
    rate_three_star_wars_results(page, {})
    for rated in (2, 1, 0):
        page.go_back()
        wait_for_count(page, rated)
    page.go_forward()
    wait_for_count(page, 1)
    assert len(link_of(page)["r"].split(",")) == 1
    page.go_back()
    wait_for_count(page, 0)
    page.go_back()
    page.wait_for_url("about:blank")


KEPT = "() => (localStorage.getItem('reco-kept-v1') || '').includes(%s)"


def test_ratings_come_back_in_the_same_browser_until_forget_me(
    app_url: str, browser: Browser
) -> None:
    """Ratings are kept in the browser's own storage: a later visit without the link has
    them; a link of other ratings asks which to keep; *Forget me* clears the browser's copy."""
    first = browser.new_context(viewport=VIEWPORT)
    first.set_default_timeout(TIMEOUT_MS)
    page = first.new_page()
    page.goto(app_url)
    wait_idle(page)
    rate_three_star_wars_results(page, {})
    rated = link_of(page)["r"]
    page.locator(".st-key-view button", has_text="Movie night").click()
    expect(page.get_by_text("Add at least two people")).to_be_visible()
    wait_idle(page)
    add_person(page, "Ann", f"{app_url}/?r={FAMILY}")
    add_person(page, "Sam", f"{app_url}/?r=50:5,172:5,181:5")
    expect(page.locator(GROUP_CARDS)).to_have_count(10)
    page.wait_for_function(KEPT % json.dumps(rated))
    page.wait_for_function(KEPT % json.dumps('"Sam"'))
    kept = first.storage_state()
    first.close()

    later = browser.new_context(viewport=VIEWPORT, storage_state=kept)  # the same browser
    later.set_default_timeout(TIMEOUT_MS)
    try:
        again = later.new_page()
        again.goto(app_url)  # no link
        wait_for_count(again, 3)
        assert link_of(again)["r"] == rated
        expect(again.get_by_text("Kept in this browser (its own storage")).to_be_visible()
        expect(again.get_by_text("Welcome back")).to_be_visible()
        expect(again.locator(GROUP_CARDS).first).to_contain_text("Sam ≈")  # movie night
        shot(again, "13-kept-in-this-browser", whole=False)
        again.locator(".st-key-view button", has_text="For me").click()
        wait_idle(again)

        friend = later.new_page()
        friend.goto(app_url + "?r=1:5")  # someone else's link, in this browser
        wait_for_count(friend, 1)
        expect(friend.get_by_text("This browser keeps other ratings")).to_be_visible()
        friend.get_by_role("button", name="Mine, kept here").click()
        wait_for_count(friend, 3)
        assert link_of(friend)["r"] == rated

        friend.get_by_role("button", name="Forget me in this browser").click()
        friend.wait_for_function("() => localStorage.getItem('reco-kept-v1') === null")
        forgotten = later.storage_state()
    finally:
        later.close()
    fresh = browser.new_context(viewport=VIEWPORT, storage_state=forgotten)
    fresh.set_default_timeout(TIMEOUT_MS)
    try:
        visit = fresh.new_page()
        visit.goto(app_url)
        wait_for_count(visit, 0)
        visit.wait_for_timeout(1000)  # the browser's (empty) answer has come
        wait_for_count(visit, 0)
    finally:
        fresh.close()


PREDICTED = re.compile(r"≈ ([\d.]+)\s★ predicted for you")


def cards_read(page: Page) -> list[tuple[str, str, float]]:
    """Each recommendation card's title, genres line and predicted stars, top to bottom."""
    found = []
    for text in page.locator(CARDS).all_inner_texts():
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        stars = PREDICTED.search(text)
        title = lines[0].split(" · ")[0]
        found.append((title, lines[1], float(stars.group(1)) if stars else 0.0))
    return found


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_explore_a_genre_and_a_decade_then_order_by_stars(
    app_url: str, request: pytest.FixtureRequest, width: str
) -> None:
    """A link narrows the recommendations to comedies of the 1990s; *Predicted stars* orders
    them by the stars shown; Back undoes that one change."""
    page: Page = request.getfixturevalue("phone" if width == "phone" else "page")
    page.goto("about:blank")
    page.goto(f"{app_url}/{RATED_THREE}&g=Comedy&y=1990-1999")
    wait_for_count(page, 3)
    expect(page.locator(CARDS)).to_have_count(10)
    for title, genres, _ in cards_read(page):
        assert re.search(r"\(199\d\)$", title), title
        assert "Comedy" in genres.split(" · ")[0], (title, genres)
    expect(page.get_by_text("only films: Comedy; 1990–1998")).to_be_visible()  # its last year
    page.get_by_role("button", name="Explore").click()
    order = page.locator(".st-key-explore-order-ml-100k")
    order.locator("button", has_text="Predicted stars").click()
    page.wait_for_function("() => new URL(location.href).searchParams.get('o') === 'stars'")
    wait_idle(page)
    stars = [predicted for _, _, predicted in cards_read(page)]
    assert len(stars) == 10 and stars == sorted(stars, reverse=True), stars
    shot(page, f"14-explore-{width}", whole=False)
    page.go_back()
    page.wait_for_function("() => !new URL(location.href).searchParams.get('o')")
    wait_idle(page)
    assert link_of(page)["g"] == "Comedy" and link_of(page)["y"] == "1990-1998"


FILM_HEADING = "h3:has-text('🎬')"
LIKE_CARDS = "[class*='st-key-like-card-']"


def film_heading(page: Page) -> str:
    return page.locator(FILM_HEADING).inner_text().removeprefix("🎬").strip()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_open_a_film_rate_it_there_and_open_one_like_it(
    app_url: str, request: pytest.FixtureRequest, timings, width: str
) -> None:
    """From a card to the film's page (its own address): how people rated it, who liked it,
    more like this; rated there, then a film like it opened; Back returns step by step."""
    page: Page = request.getfixturevalue("phone" if width == "phone" else "page")
    page.goto("about:blank")
    page.goto(f"{app_url}/{RATED_THREE}")
    wait_for_count(page, 3)
    expect(page.locator(CARDS)).to_have_count(10)
    first = card(page, 0)
    title = re.sub(r"^\d+\. ", "", first.locator("strong").first.inner_text())
    started = time.perf_counter()
    first.get_by_role("button", name="About it").click()
    page.wait_for_function(HEADING_SAYS, arg=f"🎬 {title}")
    wait_idle(page)
    timings.setdefault(f"film page from a card ({width})", []).append(time.perf_counter() - started)
    film = link_of(page)["film"]
    assert film.isdigit() and link_of(page)["r"]
    expect(page.locator(".st-key-film-stars svg.marks")).to_be_visible()
    expect(page.get_by_text("predicted for you")).to_be_visible()
    expect(page.locator(LIKE_CARDS)).to_have_count(10)
    expect(page.locator(".st-key-film-groups")).to_have_count(0)  # drawn when opened
    page.get_by_text("Who liked it: by age group, gender, occupation").click()
    expect(page.locator(".st-key-film-groups svg.marks")).to_be_visible()
    wait_idle(page)
    shot(page, f"15-film-page-{width}", whole=width == "desktop")

    page.locator(f".st-key-film-{film} {SLIDERS}").focus()
    page.keyboard.press("End")  # 5 stars, given on its page
    wait_for_count(page, 4)
    assert f"{film}:5" in link_of(page)["r"]
    like = page.locator(LIKE_CARDS).first
    other = re.sub(r"^\d+\. ", "", like.locator("strong").first.inner_text())
    like.get_by_role("button", name="Rate it").click()  # its slider, drawn when opened
    expect(page.locator(f"{SLIDERS}[aria-label={json.dumps(other)}]")).to_be_visible()
    page.keyboard.press("Escape")
    wait_idle(page)
    like.get_by_role("button", name="Its page").click()
    page.wait_for_function(HEADING_SAYS, arg=f"🎬 {other}")
    wait_idle(page)
    assert link_of(page)["film"] != film

    page.go_back()  # the first film's page again
    page.wait_for_function(HEADING_SAYS, arg=f"🎬 {title}")
    page.go_back()  # before it was rated: three ratings, its page
    wait_for_count(page, 3)
    page.go_back()  # the recommendations
    page.wait_for_function("() => !new URL(location.href).searchParams.get('film')")
    expect(page.locator(CARDS).first).to_be_visible()
    wait_idle(page)
    card(page, 1).get_by_role("button", name="About it").click()
    page.wait_for_function("() => !!new URL(location.href).searchParams.get('film')")
    wait_idle(page)
    page.get_by_role("button", name="Back", exact=True).click()  # the page's own Back
    page.wait_for_function("() => !new URL(location.href).searchParams.get('film')")
    expect(page.locator(CARDS).first).to_be_visible()


def test_the_page_on_a_phone(app_url: str, phone: Page) -> None:
    """390 x 844: the quick-rate set first; once three films are rated, the recommendations
    come before search and one's ratings; nothing wider than the screen; the chart readable."""
    phone.goto(app_url)
    expect(phone.locator(f"[class*='st-key-quick-'] {SLIDERS}")).to_have_count(QUICK)
    wait_idle(phone)
    shot(phone, "phone-01-onboarding")
    assert scroll_top(phone, QUICK_TITLES) < PHONE["height"]

    phone.goto(f"{app_url}/?r=50:5,172:5,181:5")
    wait_for_count(phone, 3)
    wait_for_chart(phone, "recommendation-chart")
    shot(phone, "phone-02-recommendations")
    recommendations = scroll_top(phone, "h3:has-text('Recommended for you')")
    assert recommendations < PHONE["height"], recommendations  # on the first screen
    assert recommendations < scroll_top(phone, "h3:has-text('Find movies to rate')")
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width  # no sideways scrolling

    first = card(phone, 0)
    assert first.bounding_box()["width"] <= PHONE["width"]
    assert first.locator(SLIDERS).count() == 1
    assert first.get_by_role("button", name="Not interested").is_visible()

    chart = phone.locator(".st-key-recommendation-chart svg").first
    box = chart.bounding_box()
    assert box["width"] <= PHONE["width"], box
    bars = phone.locator(".st-key-recommendation-chart svg .mark-rect path[aria-label]")
    widest = max(bars.evaluate_all("ps => ps.map(p => p.getBoundingClientRect().width)"))
    assert widest >= 60, widest  # bars long enough to read, beside shortened titles
    legend = phone.locator(".st-key-recommendation-chart svg .role-legend").bounding_box()
    plot = phone.locator(".st-key-recommendation-chart svg .mark-rect").first.bounding_box()
    assert legend["y"] >= plot["y"] + plot["height"] - 1  # the legend below the bars
    labels = phone.locator(".st-key-recommendation-chart svg .role-axis-label text")
    for box in labels.evaluate_all("ts => ts.map(t => t.getBoundingClientRect().left)"):
        assert box >= 0  # axis labels not cut at the left edge

    jumps = (("🔎 Find movies", "Find movies to rate"), ("⭐ My ratings", "My ratings"))
    for link, heading in jumps:
        phone.get_by_role("link", name=link).click()  # one tap from the top
        target = phone.locator(f"h3:has-text('{heading}')")
        phone.wait_for_function(
            "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.top < 844; }",
            arg=target.element_handle(),
        )
        phone.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")

    # rate a recommendation on the phone: it leaves the list
    title = re.sub(r"^\d+\. ", "", first.locator("strong").first.inner_text())
    first.locator(SLIDERS).focus()
    phone.keyboard.press("End")
    wait_for_count(phone, 4)
    expect(card(phone, 0).locator("strong").first).not_to_have_text(re.compile(re.escape(title)))
    shot(phone, "phone-03-rated")


# --------------------------------------------------------------------------- movie night

GROUP_CARDS = "[class*='st-key-group-card-']"
FORM_CLEARED = """() => {
    const name = document.querySelector("[data-testid='stForm'] input[aria-label='Name']");
    return !name || name.value === '';
}"""
FAMILY = "1:5,71:5,588:4.5"  # Toy Story, The Lion King, Beauty and the Beast


def add_person(page: Page, name: str, link: str) -> None:
    """Fill the add-someone form and submit it with Enter (as a person may; immune to the
    layout moving while the section unfolds), then wait for the form to be cleared."""
    form = page.locator("[data-testid='stForm']")
    if not form.is_visible():  # folded once two people are in
        page.locator("summary", has_text="Add someone").click()
        expect(form).to_be_visible()
    name_box = form.get_by_role("textbox", name="Name")
    name_box.fill(name)
    link_box = form.get_by_role("textbox", name="Their shared link")
    link_box.fill(link)
    link_box.press("Enter")
    page.wait_for_function(FORM_CLEARED)  # submitted: the form starts afresh (or folds away)
    wait_idle(page)


def add_from_file(page: Page, name: str, path: Path) -> None:
    """Add a person from their ratings CSV through the form's file chooser."""
    form = page.locator("[data-testid='stForm']")
    if not form.is_visible():
        page.locator("summary", has_text="Add someone").click()
        expect(form).to_be_visible()
    form.locator("input[type='file']").set_input_files(str(path))
    expect(form.get_by_text(path.name)).to_be_visible()
    name_box = form.get_by_role("textbox", name="Name")
    name_box.fill(name)
    name_box.press("Enter")
    page.wait_for_function(FORM_CLEARED)
    wait_idle(page)


def group_titles(page: Page) -> list[str]:
    cards = page.locator(f"{GROUP_CARDS} strong").all_inner_texts()
    return [re.sub(r"^\d+\. ", "", text) for text in cards if re.match(r"^\d+\. ", text)]


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_movie_night_from_shared_links(
    app_url: str, request: pytest.FixtureRequest, width: str, timings, tmp_path: Path
) -> None:
    """Two people's links pasted -> films for both with each one's predicted stars; a bad
    link -> a message, the others kept; a third person from a CSV file; at both widths."""
    viewport = DESKTOP if width == "desktop" else PHONE
    page: Page = request.getfixturevalue("page" if width == "desktop" else "phone")
    page.goto(f"{app_url}/?r=50:5,172:5,181:5")
    wait_for_count(page, 3)
    page.locator(".st-key-view button", has_text="Movie night").click()
    expect(page.get_by_text("Add at least two people")).to_be_visible()
    wait_idle(page)
    add_person(page, "Ann", f"{app_url}/?r=50:5,172:5,181:5")
    started = time.perf_counter()
    add_person(page, "Sam", f"{app_url}/?r={FAMILY}&h=1")
    expect(page.locator(GROUP_CARDS)).to_have_count(10)
    timings.setdefault("movie night: second person added -> films shown", []).append(
        time.perf_counter() - started
    )
    first = page.locator(GROUP_CARDS).first.inner_text()
    assert re.search(r"Ann ≈\s\d\.\d\s★", first) and re.search(r"Sam ≈\s\d\.\d\s★", first)
    titles = group_titles(page)
    for seen in ("Star Wars (1977)", "Toy Story (1995)", "The Lion King (1994)"):
        assert seen not in titles
    expect(page.get_by_text("Films for Ann, Sam")).to_be_visible()

    add_person(page, "Bob", "https://example.org/?dataset=ml-latest-small&r=1:5")
    expect(page.get_by_text("Bob was not added: no usable ratings.")).to_be_visible()
    expect(page.get_by_text("The link holds ratings of ml-latest-small")).to_be_visible()
    expect(page.locator(GROUP_CARDS)).to_have_count(10)  # Ann and Sam kept
    assert group_titles(page) == titles

    thrillers = tmp_path / "cy-ratings.csv"  # as the app's own download writes them
    thrillers.write_text("movie_id,title,rating\n98,Silence,5\n56,Pulp Fiction,5\n12,x,4.5\n")
    add_from_file(page, "Cy", thrillers)
    expect(page.get_by_text("Films for Ann, Sam, Cy")).to_be_visible()
    expect(page.get_by_text("Cy · 3 ratings from a ratings file")).to_be_visible()
    assert re.search(r"Cy ≈\s\d\.\d\s★", page.locator(GROUP_CARDS).first.inner_text())
    assert "The Silence of the Lambs (1991)" not in group_titles(page)  # Cy rated it
    scrolled = page.evaluate("() => document.documentElement.scrollWidth")
    assert scrolled <= viewport["width"], scrolled
    name = "08-movie-night" if width == "desktop" else "phone-04-movie-night"
    shot(page, name)
    page.locator(GROUP_CARDS).first.scroll_into_view_if_needed()
    shot(page, f"{name}-films", whole=False)

    page.locator(".st-key-remove-member-0 button:visible").first.click()  # Ann leaves
    expect(page.get_by_text("Films for Sam, Cy")).to_be_visible()
    page.locator(".st-key-remove-member-0 button:visible").first.click()  # and Sam
    expect(page.get_by_text("Add at least two people")).to_be_visible()


# --------------------------------------------------------------------------- accessibility

AXE_OURS = (  # where the app's own content is drawn; everything else is Streamlit's
    "[data-testid='stMarkdownContainer']",
    "[data-testid='stCaptionContainer']",
    "[data-testid='stHeading']",
    "[data-testid='stVegaLiteChart']",
    "[data-testid='stMetric']",
)


def axe_violations(page: Page) -> list[dict]:
    """axe-core's violations on the page, each node tagged ``ours`` when it lies in the app's
    own content (markdown, captions, headings, charts, metrics)."""
    from axe_playwright_python import sync_playwright as axe_module

    script = Path(axe_module.__file__).parent / "axe.min.js"
    page.add_script_tag(path=str(script))
    found = page.evaluate(
        """async (ours) => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => {
                    const el = document.querySelector(n.target[0]);
                    return {target: n.target.join(' '), html: n.html.slice(0, 160),
                            ours: !!(el && ours.some(s => el.closest(s)))};
                }),
            }));
        }""",
        list(AXE_OURS),
    )
    return found


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_no_serious_accessibility_violation_in_the_apps_content(
    app_url: str, browser: Browser, width: str
) -> None:
    context = browser.new_context(viewport=DESKTOP if width == "desktop" else PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    report = {}
    try:
        for state, path in (("first visit", ""), ("recommendations", "/?r=50:5,172:5,181:5")):
            page.goto(f"{app_url}{path}")
            if path:
                wait_for_count(page, 3)
                wait_for_chart(page, "recommendation-chart")
            else:
                expect(page.locator(f"[class*='st-key-quick-'] {SLIDERS}")).to_have_count(QUICK)
                wait_idle(page)
            report[state] = axe_violations(page)
            # the sections drawn when opened: the popular films, the neighbours' charts
            if path:
                page.get_by_text("Your neighbours: who they are, against everyone").click()
                wait_for_chart(page, "neighbour-charts")
                if width == "desktop":  # the sidebar's (on a phone it starts collapsed)
                    sidebar = page.get_by_test_id("stSidebar")
                    for section, key in (
                        ("MovieLens release: ml-100k", "dataset"),
                        ("Age group, gender, occupation", "age_groups-ml-100k"),
                    ):
                        sidebar.get_by_text(section).click()
                        expect(page.locator(f".st-key-{key}")).to_be_visible()
                        wait_idle(page)
            else:
                page.get_by_text("The most liked films meanwhile").click()
                expect(page.locator("[class*='st-key-pop-card-']")).to_have_count(10)
                wait_idle(page)
            report[f"{state}, sections opened"] = axe_violations(page)
    finally:
        context.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{width}.json").write_text(json.dumps(report, indent=2))
    ours = [
        (state, v["id"], v["impact"], node["target"])
        for state, violations in report.items()
        for v in violations
        if v["impact"] in ("serious", "critical")
        for node in v["nodes"]
        if node["ours"]
    ]
    assert not ours, ours


def test_streamlit_alone_for_comparison(
    browser: Browser, tmp_path: Path, timings: dict[str, list[float]]
) -> None:
    """Streamlit's own cost on this machine, timed like the app: a page of one slider
    (scripts/streamlit_alone.py) under the same configuration."""
    with streamlit_server(ROOT / "scripts" / "streamlit_alone.py", tmp_path / "alone.log") as (
        _,
        url,
    ):
        first_render(browser, url, SLIDERS)  # the first visitor warms the server
        for _ in range(VISITORS):
            timings.setdefault("Streamlit alone: first render (warm server)", []).append(
                first_render(browser, url, SLIDERS)
            )
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.goto(url)
        wait_idle(page)
        for step in range(1, 6):
            started = time.perf_counter()
            page.locator(SLIDERS).focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(HEADING_SAYS, arg=f"Chosen: {step / 2:.1f}")
            wait_idle(page)
            timings.setdefault("Streamlit alone: slider change -> page updated", []).append(
                time.perf_counter() - started
            )
        context.close()
