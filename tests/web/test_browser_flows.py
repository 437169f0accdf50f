"""The creator's flows of issue 14 in a real browser (Debian's Chromium + Playwright against `miles serve`):
form problems inside the page, key creation that a reload does not repeat, confirmations, history details,
early views, the browser's time zone and the feed preview. Screenshots (desktop and 390x844) go to
``test-output/screenshots/``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.web.test_browser import browser, server, shoot  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def signed_up(chromium, base: str, *, width: int = 1280, height: int = 900, tz: str = "Europe/Berlin"):  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport={"width": width, "height": height}, timezone_id=tz)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{base}/signup")
    page.get_by_label("E-mail").fill("baker@example.com")
    page.get_by_label("Password", exact=False).first.fill("a-long-password")
    page.get_by_label("Password again").fill("a-long-password")
    page.get_by_role("button", name="Create account").click()
    from playwright.sync_api import expect

    expect(page.locator("header")).to_contain_text("baker@example.com", timeout=90_000)
    return context, page


def test_form_problems_show_inside_the_page(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    context, page = signed_up(browser, server)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/score")
    page.get_by_label("Title", exact=True).fill("Sourdough in 60 seconds")
    page.get_by_label("Duration (seconds or m:ss").fill("long")
    page.get_by_label("Channel subscribers").fill("lots")
    page.get_by_label("Alternative posting hour 1").fill("25")
    page.get_by_role("button", name="Score this draft").click()  # HTMX post: the form comes back with its problems
    expect(page.locator("#problems")).to_contain_text("3 things to fix")
    expect(page.locator("#problems")).to_be_focused()  # scrolled into view: on a phone it sat far above the button
    expect(page.locator("#problems")).to_be_in_viewport()
    expect(page.locator("#duration_s-error")).to_contain_text("'long' is not a duration")
    expect(page.locator("#subscribers-error")).to_contain_text("'lots' is not a number")
    expect(page.locator("#alt_hour-error")).to_contain_text("hours run from 0 to 23")
    expect(page.get_by_label("Title", exact=True)).to_have_value("Sourdough in 60 seconds")
    expect(page.get_by_label("Alternative posting hour 1")).to_have_value("25")
    expect(page.locator("header")).to_contain_text("baker@example.com")
    assert page.locator("h1").count() == 1
    shoot(page, "14-score-problems")
    page.get_by_label("Duration (seconds or m:ss").fill("45")
    page.get_by_label("Channel subscribers").fill("2000")
    page.get_by_label("Alternative posting hour 1").fill("9")
    page.get_by_role("button", name="Score this draft").click()  # HTMX is bound again to the new form
    expect(page.locator("#score-result")).to_contain_text("Forecast", timeout=90_000)
    expect(page.locator("#problems")).to_have_count(0)

    page.goto(f"{server}/track")
    page.get_by_label("video URL", exact=False).fill("https://example.com/video")
    page.get_by_role("button", name="Track", exact=True).click()
    expect(page.locator("#url-error")).to_contain_text("not a YouTube video URL or id")
    expect(page.get_by_label("video URL", exact=False)).to_have_value("https://example.com/video")
    assert "body.url" not in page.content()
    shoot(page, "14-track-problems")
    page.get_by_label("video URL", exact=False).fill("")
    page.locator("form[action='/track']").evaluate("form => form.noValidate = true")  # a browser that skips `required`
    page.get_by_role("button", name="Track", exact=True).click()
    expect(page.locator("#problems li")).to_have_text(["Video URL: required"])  # it said only "Field required"
    expect(page.locator("#url-error")).to_have_text("Video URL: required")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state())
    mobile = phone.new_page()
    mobile.goto(f"{server}/score")
    mobile.get_by_label("Title", exact=True).fill("Bread")
    mobile.get_by_label("Duration (seconds or m:ss").fill("long")
    mobile.get_by_role("button", name="Score this draft").click()
    expect(mobile.locator("#duration_s-error")).to_be_visible()
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(mobile, "phone-14-score-problems")
    # no TikTok model: the notice at the top takes the focus as problems do (the window stayed at the button)
    mobile.get_by_label("Duration (seconds or m:ss").fill("45")
    mobile.get_by_label("Platform", exact=False).select_option("tiktok")
    mobile.get_by_role("button", name="Score this draft").click()
    expect(mobile.locator("#platform-notice")).to_be_focused()
    expect(mobile.locator("#platform-notice")).to_be_in_viewport()
    shoot(mobile, "phone-14-score-tiktok-notice")
    phone.close()
    assert not errors, f"JavaScript errors: {errors}"
    context.close()


def test_keys_confirmations_history_early_views_time_zone_and_preview(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import httpx
    from playwright.sync_api import expect
    from tests.web.test_browser import thumbnail_png

    expect.set_options(timeout=90_000)
    context, page = signed_up(browser, server, tz="Europe/Berlin")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # The browser's time zone reaches the session (miles.js posts it), and pages show it.
    page.goto(f"{server}/score")
    expect(page.locator("label[for=publish_at]")).to_contain_text("Europe/Berlin")
    expect(page.locator("#tz-select")).to_have_value("Europe/Berlin")

    # Score with a thumbnail: the result previews it in the feeds.
    page.get_by_label("Title", exact=True).fill("I baked sourdough every day for a year and this is what happened")
    page.get_by_label("Your channel").fill("@baker")
    page.get_by_label("Alternative posting hour 1").fill("9")
    page.get_by_label("Thumbnail (JPEG, PNG, WebP or GIF, optional)").set_input_files(
        str(thumbnail_png(tmp_path / "thumb.png"))
    )
    expect(page.locator("#thumb-preview")).to_have_attribute("src", re.compile("^data:image/"))
    page.get_by_role("button", name="Score this draft").click()
    preview = page.locator(".feed-preview")
    expect(preview).to_contain_text("Shorts feed (phone)")
    expect(page.locator("#score-result")).to_contain_text("posted at 09:00 CET")
    expect(page.locator("#read-as [data-field=publish_at]")).to_contain_text("CET")  # one zone on the page
    assert preview.locator("img").first.evaluate("img => img.naturalWidth") > 0
    font = page.evaluate("document.fonts.check('16px \"Miles Roboto\"')")
    assert font, "the bundled Roboto did not load"
    tile_title = preview.locator(".pv-shelf-phone .pv-tile-title").first
    assert tile_title.evaluate("el => el.scrollHeight > el.clientHeight"), "a long title is cut at two lines"
    assert tile_title.evaluate("el => Math.round(el.clientHeight)") == 40  # two lines of 20 px, as on YouTube
    preview.scroll_into_view_if_needed()
    shoot(page, "14-score-preview")

    # Early views on the Score page.
    page.goto(f"{server}/score")
    page.get_by_label("Title", exact=True).fill("Sourdough in 60 seconds")
    published = datetime.now(ZoneInfo("Europe/Berlin")) - timedelta(hours=30)
    page.get_by_label("Planned publish time").fill(published.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_text("Already published? Add the views so far").click()
    page.get_by_label("Views so far").fill("1:2000, 24:90k")
    page.get_by_role("button", name="Score this draft").click()
    expect(page.locator("#score-result")).to_contain_text("Forecast from the views so far")

    # History rows open the full stored result.
    page.goto(f"{server}/history")
    expect(page.locator("main")).to_contain_text(re.compile(r"\d\d:\d\d CET"))
    page.get_by_role("link", name="I baked sourdough every day for a year and this is what happened").click()
    expect(page.locator("main")).to_contain_text("What was scored")
    expect(page.locator("main")).to_contain_text("@baker")
    expect(page.locator(".chart .main-svg").first).to_be_visible()
    shoot(page, "14-history-item")

    # Keys: POST-redirect-GET, shown once; a reload creates no second key; revoking asks first.
    page.goto(f"{server}/keys")
    page.get_by_label("Name of the new key").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("miles_") and page.url == f"{server}/keys"
    page.reload()
    expect(page.locator("#new-key")).to_have_count(0)
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Revoke key laptop…").click()
    expect(page.locator("h1")).to_contain_text("Revoke key “laptop”?")
    shoot(page, "14-confirm-revoke")
    page.get_by_role("link", name="Cancel, keep it").click()
    assert httpx.get(f"{server}/api/v1/history", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    page.get_by_role("link", name="Revoke key laptop…").click()
    page.get_by_role("button", name="Revoke key laptop").click()
    expect(page.locator("main")).to_contain_text("is revoked")
    assert httpx.get(f"{server}/api/v1/history", headers={"Authorization": f"Bearer {key}"}).status_code == 401

    # Track: enter views for a video Miles has not read; the forecast turns early and says how far off it was.
    page.goto(f"{server}/track")
    page.get_by_label("video URL", exact=False).fill("https://youtu.be/AAAAAAAAAAA")
    page.get_by_role("button", name="Track", exact=True).click()
    card = page.locator("article.tracked").first
    card.locator("summary", has_text="Enter views you have read").click()
    card.get_by_label("Views").fill("500k")
    card.get_by_label("Title").fill("My sourdough starter after 30 days")
    card.get_by_label("Published at").fill("2026-01-01T10:00")
    card.get_by_label("Read at").fill("2026-01-02T10:00")
    card.get_by_role("button", name="Add views").click()
    card = page.locator("article.tracked").first
    expect(card).to_contain_text("Miles' forecast from the video's details alone, as before publishing, for 24 h")
    expect(card).to_contain_text("actual at 24 h: 500,000")
    expect(card.locator(".remark")).to_contain_text("far off")
    expect(card).to_contain_text("early mode")
    shoot(page, "14-track-views")
    card.get_by_role("link", name=re.compile("^Stop tracking")).click()
    expect(page.locator("h1")).to_contain_text("Stop tracking “My sourdough starter after 30 days”?")
    page.get_by_role("button", name="Stop tracking").click()
    expect(page.locator("main")).to_contain_text("Tracking stopped")

    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state(), timezone_id="Europe/Berlin"
    )
    mobile = phone.new_page()
    mobile.goto(f"{server}/score")
    mobile.get_by_label("Title", exact=True).fill("I baked sourdough every day for a year and this is what happened")
    mobile.get_by_label("Thumbnail (JPEG, PNG, WebP or GIF, optional)").set_input_files(str(tmp_path / "thumb.png"))
    mobile.get_by_role("button", name="Score this draft").click()
    expect(mobile.locator(".feed-preview")).to_contain_text("Home grid (desktop)")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(mobile, "phone-14-score-preview")
    # a long handle, in "Read as" and the feed cards, wraps or is cut: it made the page 438 px wide
    mobile.get_by_label("Your channel").fill("@a_very_long_channel_handle_that_goes_on_and_on_and_on_and_on")
    mobile.get_by_role("button", name="Score this draft").click()
    expect(mobile.locator("#read-as")).to_contain_text("@a_very_long_channel_handle")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    for path, name in (("/history", "history"), ("/keys", "keys"), ("/track", "track")):
        mobile.goto(f"{server}{path}")
        assert mobile.evaluate("document.documentElement.scrollWidth") <= 390, path
        shoot(mobile, f"phone-14-{name}")
    phone.close()
    assert not errors, f"JavaScript errors: {errors}"
    context.close()


def test_the_time_zone_reload_never_wipes_a_form_being_filled(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The first page a browser opens posts its time zone and reloads to show local times - unless the creator has
    started typing (under load the reload used to land after the form was filled and wipe it)."""
    context = browser.new_context(timezone_id="Asia/Kolkata")
    page = context.new_page()
    page.set_default_timeout(60_000)
    held: list = []  # type: ignore[type-arg]
    page.route("**/timezone", lambda route: held.append(route))  # noqa: PLW0108 - Playwright needs a Python function
    page.goto(f"{server}/signup")
    page.wait_for_function("() => document.readyState === 'complete'")
    while not held:
        page.wait_for_timeout(50)
    page.get_by_label("E-mail").fill("baker@example.com")
    loads: list[str] = []
    page.on("load", lambda _: loads.append("load"))
    with page.expect_response("**/timezone") as answer:
        held[0].continue_()
    assert answer.value.status == 204
    page.wait_for_timeout(1500)  # room for a reload, were one coming
    assert loads == [] and page.get_by_label("E-mail").input_value() == "baker@example.com"
    context.close()

    fresh = browser.new_context(timezone_id="Asia/Kolkata").new_page()  # nothing typed: the page does reload
    fresh_loads: list[str] = []
    fresh.on("load", lambda _: fresh_loads.append("load"))
    fresh.goto(f"{server}/signup")
    for _ in range(300):
        if len(fresh_loads) >= 2:
            break
        fresh.wait_for_timeout(100)
    assert len(fresh_loads) >= 2, "the time-zone reload did not happen"


def test_the_api_docs_work_offline(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """/docs draws Swagger UI from Miles' own /static under the site's CSP (FastAPI's default loads it from a CDN:
    a blank page offline, "SwaggerUIBundle is not defined")."""
    from playwright.sync_api import expect

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())  # no internet here either
    page.goto(f"{server}/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/predict").first).to_be_visible(timeout=30_000)
    shoot(page, "19-api-docs")
    assert not errors, errors
    page.close()


def test_a_form_sent_before_the_time_zone_is_stored_waits_for_it(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Both answers set the session cookie and the later one won: a sign-up sent at once (a password manager, a
    script; CI under load) was logged out again when the time zone's answer, read from the older cookie, came last."""
    from playwright.sync_api import expect

    context = browser.new_context(timezone_id="Asia/Kolkata")
    page = context.new_page()
    page.set_default_timeout(60_000)
    held: list = []  # type: ignore[type-arg]
    page.route("**/timezone", lambda route: held.append((route, route.fetch())))  # sent now, answered when we say
    page.goto(f"{server}/signup")
    while not held:
        page.wait_for_timeout(50)
    page.get_by_label("E-mail").fill("baker@example.com")
    page.get_by_label("Password", exact=False).first.fill("a-long-password")
    page.get_by_label("Password again").fill("a-long-password")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/signup" in r.url else None)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_timeout(500)
    assert posts == []  # the sign-up waits while the time zone's answer is out
    route, answer = held[0]
    route.fulfill(response=answer)  # its cookie (the session before signing up) lands first
    expect(page.locator("header")).to_contain_text("baker@example.com", timeout=60_000)
    assert len(posts) == 1
    context.close()
