"""Every flow in a real browser: Debian's Chromium driven by Playwright against `miles serve` on 127.0.0.1.

Screenshots of each page (desktop 1280x900 and phone 390x844) go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from tests.conftest import ROOT, skip_or_fail
from tests.serve.test_uvicorn import free_port
from tests.web.conftest import NICHE_VIDEOS, model_dir, seed_niche

from miles.config import Settings

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SHOTS = ROOT / "test-output" / "screenshots"


@pytest.fixture
def server(sqlite_settings: Settings, tmp_path: Path) -> Iterator[str]:
    seed_niche(sqlite_settings)
    port = free_port()
    env = {
        **os.environ,
        "MILES_DATA_DIR": str(sqlite_settings.data_dir),
        "MILES_ENV": "test",
        "MILES_MODEL_DIR": str(model_dir()),
        "MILES_CACHE_DIR": str(sqlite_settings.cache_dir),
        "HF_HUB_OFFLINE": "1",
    }
    for name in ("MILES_DATABASE_URL", "MILES_LLM_BASE_URL", "MILES_LLM_API_KEY", "MILES_LLM_MODEL"):
        env.pop(name, None)
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("miles")), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                pytest.fail(f"miles serve exited: {(tmp_path / 'server.log').read_text()[-2000:]}")
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        skip_or_fail("Chromium is not installed at /usr/bin/chromium (make browser-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def thumbnail_png(path: Path) -> Path:
    img = Image.new("RGB", (640, 360), (250, 200, 60))
    for x in range(160, 480):
        for y in range(90, 270):
            img.putpixel((x, y), (200, 40, 40))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    path.write_bytes(buf.getvalue())
    return path


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_every_flow_in_a_real_browser(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    expect.set_options(timeout=90_000)  # the first prediction loads the model

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(60_000)

    page.goto(f"{server}/signup")
    page.get_by_label("E-mail").fill("baker@example.com")
    page.get_by_label("Password", exact=False).first.fill("a-long-password")
    page.get_by_label("Password again").fill("a-long-password")
    shoot(page, "01-signup")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("header")).to_contain_text("baker@example.com")

    page.goto(f"{server}/score")
    page.get_by_label("Title", exact=True).fill("Sourdough in 60 seconds")
    page.get_by_label("Duration (seconds or m:ss").fill("45")
    page.get_by_label("Channel subscribers").fill("2000")
    page.get_by_label("Alternative title 1").fill("Why is my sourdough so dense?")
    page.get_by_label("Alternative posting hour 1").fill("9")
    page.get_by_label("Alternative posting hour 2").fill("18")
    page.get_by_label("Thumbnail (JPEG, PNG, WebP or GIF, optional)").set_input_files(
        str(thumbnail_png(tmp_path / "thumb.png"))
    )
    expect(page.locator("#thumb-preview")).to_be_visible()
    page.get_by_role("button", name="Score this draft").click()
    result = page.locator("#score-result")
    expect(result).to_contain_text("Forecast")
    expect(result).to_contain_text("viral chance")
    expect(result).to_contain_text("What drove it")
    expect(result).to_contain_text("your draft")
    expect(result.locator(".chart .main-svg").first).to_be_visible()
    shoot(page, "02-score")

    page.goto(f"{server}/track")
    expect(page.locator("main")).to_contain_text("not tracking any videos yet")
    page.get_by_label("YouTube or TikTok video URL").fill("https://www.youtube.com/shorts/sourdough20")
    page.get_by_role("button", name="Track", exact=True).click()
    tracked = page.locator("article.tracked").first
    expect(tracked).to_contain_text("views at")
    expect(tracked.locator(".chart .main-svg").first).to_be_visible()
    shoot(page, "04-track")

    page.goto(f"{server}/explore?topic=sourdough")
    expect(page.locator("main")).to_contain_text(f"{NICHE_VIDEOS} videos match")
    expect(page.locator(".chart.js-plotly-plot")).to_have_count(3)
    shoot(page, "05-explore")

    page.goto(f"{server}/model")
    expect(page.locator("main")).to_contain_text("Metrics beside the baselines")
    expect(page.locator("main")).to_contain_text("What the model does not know")
    expect(page.locator("main")).to_contain_text("Training data")
    expect(page.locator(".chart .main-svg").first).to_be_visible()
    shoot(page, "06-model")

    page.goto(f"{server}/history")
    expect(page.locator("main")).to_contain_text("Sourdough in 60 seconds")
    shoot(page, "07-history")

    page.goto(f"{server}/keys")
    page.get_by_label("Name of the new key").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("miles_")
    assert httpx.get(f"{server}/api/v1/history", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    shoot(page, "08-keys")
    page.get_by_role("link", name="Revoke key laptop…").click()  # a confirmation page first
    page.get_by_role("button", name="Revoke key laptop").click()
    expect(page.locator("main")).to_contain_text("is revoked")

    page.keyboard.press("Tab")  # the skip link is the first stop and is visible when focused
    expect(page.locator("a.skip")).to_be_focused()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state())
    mobile = phone.new_page()
    for path, name in (
        ("/", "ideas"),
        ("/score", "score"),
        ("/track", "track"),
        ("/explore?topic=sourdough", "explore"),
        ("/model", "model"),
        ("/history", "history"),
    ):
        mobile.goto(f"{server}{path}")
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide on a 390px phone"
        shoot(mobile, f"phone-{name}")
    phone.close()

    page.goto(f"{server}/")
    page.get_by_label("Topic (niche)").fill("sourdough")
    page.get_by_label("Vibe").fill("funny")
    page.get_by_role("button", name="Get ideas").click()
    ideas = page.locator("#ideas-result")
    expect(ideas).to_contain_text("Ideas for “sourdough”", timeout=120_000)
    expect(ideas).to_contain_text("Outliers in this niche")
    expect(ideas).to_contain_text("Patterns")
    expect(ideas.locator("ol.ideas > li").first).to_contain_text("views")
    shoot(page, "10-ideas")

    page.get_by_role("button", name="Log out").click()
    expect(page.locator("main")).to_contain_text("You are logged out")
    page.goto(f"{server}/history")
    expect(page).to_have_url(f"{server}/login?next=%2Fhistory")
    shoot(page, "09-logged-out")
    assert not errors, f"JavaScript errors: {errors}"
    context.close()
    shutil.copy(tmp_path / "server.log", SHOTS / "server.log") if (tmp_path / "server.log").exists() else None


def test_the_menu_shows_every_item_on_a_phone(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    """At 390 px the menu scrolled sideways inside itself, Data quality and History off-screen with no hint (the
    page's own width stayed 390 px): now it wraps, every item in view."""
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    page.goto(f"{server}/score")
    page.wait_for_load_state("networkidle")  # miles.js reloads the page once it has told the server the time zone
    links = page.locator("header.site nav a")
    assert links.count() == 7
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{links.nth(i).inner_text()}: {box}"
    overflow = page.evaluate("(n => n.scrollWidth - n.clientWidth)(document.querySelector('header.site nav'))")
    assert overflow <= 0, f"the menu scrolls {overflow}px sideways"
    shoot(page, "phone-menu")
    phone.close()


def test_a_phone_chart_has_no_tool_bar_over_its_legend(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    """At 390 px Plotly's tool bar (zoom, download) covered the chart's legend: phones draw charts without it,
    wider screens keep it (on hover)."""
    for width, bars in ((390, 0), (1280, 1)):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{server}/score")
        page.wait_for_load_state("networkidle")  # miles.js reloads the page once it has told the server the time zone
        page.locator("#title").fill("Sourdough in 60 seconds")
        page.get_by_role("button", name="Score this draft").click()
        page.locator(".result .chart .main-svg").first.wait_for(timeout=30_000)
        assert page.locator(".result .chart .modebar").count() == bars, width
        context.close()
