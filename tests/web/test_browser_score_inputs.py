"""A score typed as a creator types it ("12k" subscribers, a "1:30" duration, a title with a comma as an
alternative) in Debian's Chromium: the result echoes the draft as read. Screenshots (desktop 1280x900 and phone
390x844) go to ``test-output/screenshots/``."""

from __future__ import annotations

import pytest
from tests.web.test_browser import browser, server, shoot  # noqa: F401 - the browser and server fixtures

pytestmark = pytest.mark.browser


def score_typed_draft(page, base: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/score")
    page.get_by_label("Title", exact=True).fill("Sourdough in 90 seconds")
    page.get_by_label("Duration (seconds or m:ss").fill("1:30")
    page.get_by_label("Channel subscribers").fill("12k")
    page.get_by_label("Alternative title 1").fill("Bread, butter and jam: which wins?")
    page.get_by_label("Alternative duration 1").fill("0:45")
    page.get_by_role("button", name="Score this draft").click()


def test_typed_numbers_are_echoed_as_read(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=90_000)  # the first prediction loads the model
    for name, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        score_typed_draft(page, server)
        read_as = page.locator("#read-as")
        expect(read_as).to_contain_text("subscribers 12,000")
        expect(read_as).to_contain_text("duration 1:30 (90 s)")
        expect(read_as).to_contain_text("thumbnail (none)")
        expect(page.locator("#score-result")).to_contain_text("within ×")  # the accuracy sentence
        ranked = page.locator("table.variants")
        expect(ranked).to_contain_text("title: Bread, butter and jam: which wins?")
        expect(ranked).to_contain_text("duration: 0:45")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the score result is {width}px wide on a {viewport['width']}px screen"
        read_as.scroll_into_view_if_needed()
        shoot(page, f"score-read-as-{name}")
        assert not errors, f"JavaScript errors: {errors}"
        context.close()


def test_what_if_shows_every_column_on_a_phone(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """At 390 px the What if… table showed Version and 1h-30d; the 80 % range and the viral chance sat off-screen,
    hinted at only by an edge shadow. Now each version is a card with every value under its column's name; at
    1280 px it stays a table."""
    from playwright.sync_api import expect

    expect.set_options(timeout=90_000)
    for width, height in ((390, 844), (1280, 900)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        score_typed_draft(page, server)
        table = page.locator("table.variants")
        expect(table).to_contain_text("duration: 0:45")
        assert table.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth"), width
        for cell in table.locator("tbody td, tbody th").all():
            box = cell.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (width, cell.inner_text(), box)
        first = table.locator("tbody tr").first
        labels = first.locator("td").evaluate_all("cs => cs.map(c => getComputedStyle(c, '::before').content)")
        if width == 390:
            assert '"80 % range at 30d"' in labels and '"Viral"' in labels and '"1h"' in labels, labels
        else:
            assert set(labels) == {"none"}, labels  # a table: the names are in its header
            assert first.bounding_box()["height"] < 80  # type: ignore[index]  # one line per version
        table.scroll_into_view_if_needed()
        shoot(page, f"score-what-if-{width}")
        context.close()


def test_views_so_far_score_from_the_form_as_it_opens(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """A creator who already posted opens the form, types the views read an hour and a day in, and submits: no
    publish time to set (a pre-filled hour put every reading of an hour or more in the future)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=90_000)
    page = browser.new_page()
    page.goto(f"{server}/score")
    assert page.get_by_label("Planned publish time").input_value() == ""
    page.get_by_label("Title", exact=True).fill("Mon setup gaming")
    page.get_by_label("Channel subscribers").fill("2k")
    page.locator("summary", has_text="Already published?").click()
    page.get_by_label("Views so far").fill("1:40, 20:900")
    page.get_by_role("button", name="Score this draft").click()
    result = page.locator("#score-result")
    expect(result).to_contain_text("Forecast from the views so far")
    assert "lies in the future" not in page.content()
    shoot(page, "score-views-so-far")
    page.close()
