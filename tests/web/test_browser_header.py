"""The header of a logged-in page in a real browser: one row at 1280 px, the account's pages behind the e-mail."""

from __future__ import annotations

import pytest
from tests.web.test_browser import browser, server, shoot  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_a_logged_in_header_is_one_row_with_the_account_pages_behind_the_email(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """With API keys and Password beside the e-mail the header wrapped onto two rows at 1280 px (four on a phone)."""
    from playwright.sync_api import expect

    heights = {}
    for width, email in ((1280, "header.desk@example.com"), (390, "header.phone@example.com")):
        context = browser.new_context(viewport={"width": width, "height": 800})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{server}/signup")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password", exact=False).first.fill("a-long-password")
        page.get_by_label("Password again").fill("a-long-password")
        page.get_by_role("button", name="Create account").click()
        expect(page.locator("header")).to_contain_text(email, timeout=90_000)
        page.goto(f"{server}/score")
        heights[width] = page.locator("header.site").bounding_box()["height"]
        keys = page.get_by_role("link", name="API keys")
        expect(keys).to_be_hidden()
        page.locator("details.menu > summary").click()
        expect(keys).to_be_visible()
        page.keyboard.press("Escape")  # closes it, as a menu does
        expect(keys).to_be_hidden()
        page.locator("details.menu > summary").click()
        page.locator("main h1").click()  # and so does a click elsewhere
        expect(keys).to_be_hidden()
        page.locator("details.menu > summary").click()
        shoot(page, f"header-menu-{width}")
        keys.click()
        expect(page).to_have_url(f"{server}/keys")
        context.close()
    assert heights[1280] < 70, heights  # one row (~56 px): brand, every page, the e-mail and Log out side by side
    assert heights[390] < 200, heights  # it took ~210 px of a 844 px phone screen
