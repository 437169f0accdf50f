"""The Explore page's search form in a real browser (Debian's Chromium + Playwright against `miles serve`)."""

from __future__ import annotations

import pytest
from tests.web.test_browser import browser, server, shoot  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_the_platform_menu_sits_beside_its_label(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """On a desktop the Platform menu took a whole line of its own under the topic box, its label left at the end of
    the line above: now the label and its menu share a line, at 1280 px and on a phone."""
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{server}/explore?topic=sourdough")
        page.wait_for_load_state("networkidle")  # miles.js reloads the page once it has told the server the time zone
        label = page.locator("form[role=search] label[for=platform]").bounding_box()
        menu = page.locator("#platform").bounding_box()
        assert label and menu, width
        assert abs((label["y"] + label["height"] / 2) - (menu["y"] + menu["height"] / 2)) < 8, (width, label, menu)
        assert menu["x"] > label["x"] and menu["x"] + menu["width"] <= width, (width, label, menu)
        shoot(page, f"explore-form-{width}")
        context.close()


OUTLIERS = 'h2:has-text("Top outliers") + .table-wrap'


def test_top_outliers_read_on_a_phone(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """At 390 px each outlier's Multiple cell said why it was flagged in full ("(channel; thin baseline, ranked after
    the others)"), a word per line, and the Age column sat off-screen behind a sideways scroll: now each row is a
    card (the title across, each value under its column's name), the reasons said once under the table; at 1280 px
    it stays a table of one-line rows."""
    for width, height in ((390, 844), (1280, 900)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(f"{server}/explore?topic=sourdough")
        page.wait_for_load_state("networkidle")
        wrap = page.locator(OUTLIERS)
        assert wrap.evaluate("n => n.scrollWidth <= n.clientWidth"), f"the outliers scroll sideways at {width} px"
        rows = wrap.locator("tbody tr")
        assert rows.count() >= 3
        tallest = max(rows.nth(i).bounding_box()["height"] for i in range(rows.count()))  # type: ignore[index]
        assert tallest < (150 if width == 390 else 80), (width, tallest)
        for cell in rows.first.locator("td").all():
            box = cell.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (width, cell.inner_text(), box)
        dates = wrap.locator("td span.nowrap")  # "published 2026-01-20" broke after "2026-" on a phone
        assert dates.count() >= 1 and all(d.evaluate("n => n.getClientRects().length") == 1 for d in dates.all())
        labels = rows.first.locator("td").evaluate_all("cs => cs.map(c => getComputedStyle(c, '::before').content)")
        header_shown = wrap.locator("thead").bounding_box()
        if width == 390:  # the column's name above each value, the header row out of sight
            assert labels == ['"Multiple"', '"Views"', '"Age when read"'], labels
            assert header_shown is not None and header_shown["height"] <= 1
        else:
            assert set(labels) == {"none"} and header_shown is not None and header_shown["height"] > 10
        flagged = page.locator("#flag-thin")
        assert "ranked after the others" in flagged.inner_text()
        page.locator("h2", has_text="Top outliers").scroll_into_view_if_needed()
        shoot(page, f"explore-outliers-{width}")
        context.close()


def test_commands_on_a_tinted_box_show_as_code_not_stray_spaces(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The empty TikTok niche read "( miles import of …": code's tint matched the box's, so its padding looked like
    spaces inside the brackets. Code on a tinted box is white with a border, and the sentence has no brackets."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{server}/explore?topic=sourdough&platform=tiktok")
    page.wait_for_load_state("networkidle")
    empty = page.locator("p.empty")
    assert "add TikTok videos: miles import reads yt-dlp .info.json files, and miles collect" in empty.inner_text()
    code = empty.locator("code").first.evaluate(
        "n => [getComputedStyle(n).backgroundColor, getComputedStyle(n.parentElement).backgroundColor,"
        " getComputedStyle(n).borderTopWidth]"
    )
    assert code[0] != code[1] and code[2] == "1px", code
    shoot(page, "phone-explore-tiktok-empty")
    context.close()
