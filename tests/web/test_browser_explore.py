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
