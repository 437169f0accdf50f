"""In a real browser (Chromium + Playwright against `miles serve`): after revoking a key, linking a draft and
stopping tracking, the address bar shows the page the user came from with its confirmation, and a reload sends no
form again (Post/Redirect/Get). On a 390 px phone the History table shows that it scrolls sideways."""

from __future__ import annotations

import re

import pytest
from tests.web.test_browser import browser, server, shoot  # noqa: F401 - fixtures
from tests.web.test_browser_flows import signed_up

from miles.config import Settings
from miles.domain import utcnow
from miles.store.db import session_scope
from miles.store.repos import grades

pytestmark = pytest.mark.browser


def _reload_posts(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The requests a reload sends other than GET (a re-submitted form would be a POST)."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url}") if r.method != "GET" else None)
    page.reload()
    page.wait_for_load_state("networkidle")
    return sent


def test_forms_redirect_and_a_reload_resubmits_nothing(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    context, page = signed_up(browser, server)
    page.goto(f"{server}/keys")
    page.get_by_label("Name of the new key").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    page.get_by_role("link", name="Revoke key laptop…").click()
    page.get_by_role("button", name="Revoke key laptop").click()
    expect(page.locator("main")).to_contain_text("Key “laptop” is revoked")
    assert page.url == f"{server}/keys"
    assert _reload_posts(page) == []
    expect(page.locator("main")).not_to_contain_text("is revoked;")  # shown once

    page.goto(f"{server}/track")
    page.get_by_label("YouTube or TikTok video URL (or a YouTube id)").fill("https://youtu.be/sourdough20")
    page.get_by_role("button", name="Track", exact=True).click()
    expect(page.locator("main")).to_contain_text("Tracking sourdough20.")
    page.get_by_role("link", name=re.compile("^Stop tracking")).first.click()
    page.get_by_role("button", name="Stop tracking").click()
    expect(page.locator("main")).to_contain_text("Tracking stopped")
    assert page.url == f"{server}/track?stopped=1"
    assert _reload_posts(page) == []

    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    draft = {"title": "Sourdough in 60 seconds", "duration_s": "45", "subscribers": "2000", "csrf_token": token}
    pid = page.request.post(f"{server}/score.json", form=draft, timeout=120_000).json()["result"]["prediction_id"]
    page.goto(f"{server}/history/{pid}")
    page.get_by_label("The published video's URL (or YouTube id)").fill("https://youtube.com/shorts/dRaFtVid0_1")
    page.get_by_role("button", name="Link and grade").click()
    expect(page.locator("main")).to_contain_text("Linked. Miles tracks the video")
    assert page.url == f"{server}/history/{pid}?linked=1"
    assert _reload_posts(page) == []
    shoot(page, "prg-history-linked")
    context.close()


def test_the_history_table_shows_it_scrolls_on_a_phone(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    context, page = signed_up(browser, server, width=390, height=844)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    draft = {"title": "Sourdough in 60 seconds", "duration_s": "45", "subscribers": "2000", "csrf_token": token}
    assert page.request.post(f"{server}/score.json", form=draft, timeout=120_000).ok
    page.goto(f"{server}/history")
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("n => n.scrollWidth > n.clientWidth"), "the table fits: nothing to hint at"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the table scrolls, not the page
    shadows = wrap.evaluate("n => getComputedStyle(n).backgroundImage")
    assert shadows.count("radial-gradient") == 2 and shadows.count("linear-gradient") == 2, shadows
    assert wrap.get_attribute("tabindex") == "0"  # keyboard users can scroll it too
    shoot(page, "phone-history-table-scrolls")
    context.close()


def test_a_graded_forecast_scrolls_inside_its_box_on_a_phone(server: str, browser, sqlite_settings: Settings) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """ "How the forecast did" pushed a 390 px page to 406 px: the page scrolled sideways, not the table."""
    context, page = signed_up(browser, server, width=390, height=844)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    draft = {"title": "Sourdough in 60 seconds", "duration_s": "45", "subscribers": "2000", "csrf_token": token}
    scored = page.request.post(f"{server}/score.json", form=draft, timeout=120_000).json()["result"]
    pid, version = scored["prediction_id"], scored["prediction"]["model_version"]
    page.goto(f"{server}/history/{pid}")
    page.get_by_label("The published video's URL (or YouTube id)").fill("https://youtube.com/shorts/dRaFtVid0_1")
    page.get_by_role("button", name="Link and grade").click()
    with session_scope(sqlite_settings) as session:  # the grade job's rows for two horizons, as it writes them
        grades.add_grades(session=session, grades=[{
            "prediction_id": pid, "model_version": version, "video_id": "dRaFtVid0_1", "horizon_h": h, "age_h": h,
            "actual_views": views, "p10": 120.0, "p50": 1_250.0, "p90": 14_800.0, "error_log10": 0.42, "inside": True,
            "channel_subscribers": 2000, "graded_at": utcnow(),
        } for h, views in ((24.0, 3_170), (168.0, 12_400))])  # fmt: skip
    page.goto(f"{server}/history/{pid}")
    width = page.evaluate("document.documentElement.scrollWidth")
    shoot(page, "phone-history-grades-scroll")
    assert width <= 390, f"the page is {width} px wide"  # the table scrolls, not the page
    wrap = page.get_by_role("table", name="How the forecast did").locator("xpath=..")
    assert wrap.get_attribute("class") == "table-wrap" and wrap.get_attribute("tabindex") == "0"  # keyboard scrolls
    assert wrap.evaluate("n => n.scrollWidth > n.clientWidth"), "the table fits: nothing to scroll"
    context.close()
