"""Early views on the web: the Score page scores a published video from its views so far (early mode), the Track
page takes views the user read, switches the forecast to early mode and says how far the forecast made before
publishing was off; the browser's time zone is used for times on pages (the API stays UTC)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import csrf, sign_up

from miles.config import Settings
from miles.errors import InvalidInput
from miles.inputs import parse_early_views, parse_views
from miles.serve.app import create_app
from miles.serve.services.early import forecast_check


def test_early_views_and_counts_are_read_as_typed() -> None:
    assert parse_early_views("1:120, 6:900; 2d:15k\n30min:40") == [(0.5, 40), (1.0, 120), (6.0, 900), (48.0, 15000)]
    assert parse_views("15,000", "views") == 15000 and parse_views("1.2M", "views") == 1_200_000
    # the views read as every count is ("3.000" was 3 here and 3,000 in the views box and the API)
    assert parse_early_views("2h:500, 1d:3.000") == [(2.0, 500), (24.0, 3000)] == parse_early_views("2h:500, 1d:3 000")
    with pytest.raises(InvalidInput, match="views: is empty: type the views you read"):
        parse_views(" ", "views")
    # a comma in a count groups thousands, as in every other number box ("24:2,400" was refused: "'400' is not
    # AGE:VIEWS"); a comma before a new AGE:VIEWS still separates readings
    assert parse_early_views("1:120, 6:900, 24:2,400") == [(1.0, 120), (6.0, 900), (24.0, 2400)]
    assert parse_early_views("1:120,24:2,4k") == [(1.0, 120), (24.0, 2400)]
    # every unit the other count boxes take (the box refused "6:1.5万" that the views box read as 15,000)
    assert parse_early_views("6:1.5万; 1d:3万人, 2d:1.2 million") == [(6.0, 15000), (24.0, 30000), (48.0, 1_200_000)]
    for bad, words in (
        ("1:120, 900", "'900' is not AGE:VIEWS"),  # a reading without its age, not 120,900 views
        ("6:900, 24:100", "views fall"),
        ("abc", "is not AGE:VIEWS"),
        ("0:5", "after publishing"),
        ("2:-5", "is negative"),
        ("-2:300", "is negative"),
    ):
        with pytest.raises(InvalidInput, match=words):
            parse_early_views(bad)


def test_forecast_check_reads_the_forecast_at_the_age_of_the_views() -> None:
    horizons = [
        {"horizon_h": 1.0, "p10": 10.0, "p50": 100.0, "p90": 1000.0},
        {"horizon_h": 24.0, "p10": 300.0, "p50": 1200.0, "p90": 5000.0},
        {"horizon_h": 168.0, "p10": 900.0, "p50": 3000.0, "p90": 12000.0},
    ]
    far = forecast_check(horizons, 24.0, 15000)
    assert far is not None and far["forecast_p50"] == 1200.0 and far["off"] == "12× more"
    assert not far["inside_interval"] and "far off" in far["remark"] and "outside its 80 % range" in far["remark"]
    wide = forecast_check([{**h, "p90": h["p50"] * 20} for h in horizons], 24.0, 15000)  # far off, yet inside
    assert wide is not None and wide["inside_interval"] and "far off" in wide["remark"]
    assert "outside" not in wide["remark"] and "inside its 80 % range" in wide["remark"]  # it said "outside"
    close = forecast_check(horizons, 24.0, 1500)
    assert close is not None and close["inside_interval"] and close["remark"] is None and close["off"] == "1.2× more"
    edge = forecast_check(horizons, 24.0, 11_952)  # 9.96x: shown as 10x, and 10x off is far off
    assert edge is not None and edge["off"] == "10× more" and "far off" in (edge["remark"] or ""), edge
    fewer = forecast_check(horizons, 24.0, 121)  # 9.92x fewer
    assert fewer is not None and fewer["off"] == "9.9× fewer" and "far off" not in (fewer["remark"] or ""), fewer
    level = forecast_check(horizons, 24.0, 1150)
    assert level is not None and level["off"] == "about as forecast"  # was "1.0× fewer"
    between = forecast_check(horizons, 72.0, 2000)  # log-log between 24 h and 7 d
    assert between is not None and 1200 < between["forecast_p50"] < 3000
    assert forecast_check(horizons, 2000.0, 5) is None  # no extrapolation past the last horizon


def test_score_page_scores_in_early_mode_from_the_views_so_far(web: TestClient) -> None:
    token = csrf(web)
    published = (datetime.now(UTC) - timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M")
    form = {"title": "Sourdough in 60 seconds", "duration_s": "45", "subscribers": "2000", "csrf_token": token}
    before = web.post("/score.json", data={**form, "publish_at": published}).json()["result"]["prediction"]
    early = web.post("/score.json", data={**form, "publish_at": published, "early_views": "1:2000, 24:90k"})
    assert early.status_code == 200, early.text
    pred = early.json()["result"]["prediction"]
    assert before["mode"] == "prepublish" and pred["mode"] == "early"
    week = {h["label"]: h["p50"] for h in pred["horizons"]}
    assert week["7d"] > 90_000 > {h["label"]: h["p50"] for h in before["horizons"]}["7d"]
    page = web.post("/score", data={**form, "early_views": "1:2000, 24:90k"})
    assert page.status_code == 200 and "Forecast from the views so far" in page.text
    assert "It rests on your views so far and how old they were" in page.text  # not "no input moved it"
    caption = re.search(r"inputs given \([^)]*\): ([^;]*);", page.text)  # given, not "used"
    assert caption and "subscribers" in caption.group(1) and "_" not in caption.group(1), caption
    assert "publish" not in caption.group(1), caption  # not typed: the page had filled it in as if it were
    read = web.post("/score.json", data={**form, "early_views": "24:616"}).json()["result"]["prediction"]["draft"]
    assert read["publish_at"]["status"] == "defaulted" and "counted now" in read["publish_at"]["note"]
    future = web.post("/score", data={**form, "publish_at": published, "early_views": "48:5000"})
    assert future.status_code == 422 and "lies in the future" in html.unescape(future.text)
    assert 'id="early_views-error"' in future.text and 'value="48:5000"' in future.text
    bad = html.unescape(web.post("/score", data={**form, "early_views": "1:120, 900"}).text)
    assert "Views so far: '900' is not AGE:VIEWS" in bad  # it said "Views so far: early views: ..."


def test_views_entered_on_track_switch_the_forecast_and_say_how_far_off_it_was(web: TestClient) -> None:
    token = sign_up(web)
    web.post("/track", data={"url": "https://youtu.be/AAAAAAAAAAA", "csrf_token": token})
    item = web.get("/track.json").json()["items"][0]
    assert item["forecast"] is None and 'action="/track/' + str(item["id"]) + '/views"' in web.get("/track").text
    published = datetime.now(UTC) - timedelta(hours=30)
    missing = web.post(
        f"/track/{item['id']}/views", data={"views": "15000", "csrf_token": token, "tracked_id": item["id"]}
    )
    assert missing.url.path == "/track" and "give when it was published" in html.unescape(missing.text)
    tid = item["id"]  # each missing field's link in the summary lands on its input, which says it is invalid
    assert f'href="#title-{tid}"' in missing.text and f'href="#published_at-{tid}"' in missing.text
    assert f'id="title-{tid}-error"' in missing.text and f'id="published_at-{tid}-error"' in missing.text
    before = (published - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    early = web.post(f"/track/{tid}/views", data={"views": "10", "title": "t", "csrf_token": token, "tracked_id": tid,
                                                  "published_at": published.strftime("%Y-%m-%dT%H:%M"),
                                                  "read_at": before})  # fmt: skip
    assert early.url.path == "/track" and f'id="read_at-{tid}-error"' in early.text and "read_at:" not in early.text
    assert "Read at: " in html.unescape(early.text)  # the summary names the field in words
    added = web.post(
        f"/track/{item['id']}/views",
        data={
            "views": "500k",
            "read_at": (published + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M"),
            "title": "My sourdough starter after 30 days",
            "published_at": published.strftime("%Y-%m-%dT%H:%M"),
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    item = web.get("/track.json").json()["items"][0]
    assert item["snapshots"][0]["views"] == 500_000 and item["forecast"]["mode"] == "early"
    check = item["forecast_check"]
    assert check["age_h"] == pytest.approx(24.0, abs=0.02) and check["views"] == 500_000
    assert check["ratio"] == pytest.approx(500_000 / check["forecast_p50"], abs=0.01)  # rounded to 2 decimals
    assert check["ratio"] > 10
    assert check["remark"] and "far off" in check["remark"]
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html.unescape(web.get("/track").text)))
    assert (
        "Miles' forecast from the video's details alone, as before publishing, for 24 h" in page
        and "actual at 24 h: 500,000" in page
        and "far off" in page
    )
    assert "latest 500,000 views at 24 h (read " in page  # the latest reading and when: it said "now", months on
    assert item["details_typed"] and 'placeholder="My sourdough starter after 30 days (yours, kept if blank)"' in (
        html.unescape(web.get("/track").text)
    )  # the title and time typed are the creator's to correct (the fields had gone)
    # typed views are this creator's evidence only: never a niche's outlier, its freshness, or a public listing
    listed = web.get("/api/v1/videos", params={"q": "sourdough starter", "limit": 100}).json()["items"]
    assert listed and "AAAAAAAAAAA" not in {v["id"] for v in listed}
    niche = web.post("/api/v1/ideas", json={"topic": "sourdough starter", "language": "any"}).json()
    assert niche["candidates"] > 0 and "AAAAAAAAAAA" not in {o["video_id"] for o in niche["outliers"]}
    fall = web.post(f"/track/{item['id']}/views", data={"views": "10", "csrf_token": token, "tracked_id": item["id"]})
    assert fall.url.path == "/track" and "views only grow" in html.unescape(fall.text)
    assert 'id="views-' + str(item["id"]) + '-error"' in fall.text
    # the forecast was for a typical channel, and says so; the creator's own size makes the comparison fair
    assert item["prepublish_forecast"]["draft"]["channel_subscribers"]["status"] == "defaulted"
    assert (
        "The forecast is for the middle-sized channel of Miles' data (" in page
        and "give your channel's subscribers" in page
    )
    bad = web.post(f"/track/{item['id']}/views", data={"views": "600k", "subscribers": "lots", "csrf_token": token,
                                                       "tracked_id": item["id"]})  # fmt: skip
    assert bad.url.path == "/track" and 'id="subscribers-' + str(item["id"]) + '-error"' in bad.text
    typical = item["prepublish_forecast"]["horizons"]
    sized = web.post(f"/track/{item['id']}/views", data={"views": "600k", "subscribers": "2k", "csrf_token": token},
                     follow_redirects=False)  # fmt: skip
    assert sized.status_code == 303, sized.text
    item = web.get("/track.json").json()["items"][0]
    read = item["prepublish_forecast"]["draft"]["channel_subscribers"]
    assert read == {"value": 2000, "status": "given", "note": None} and item["snapshots"][-1]["views"] == 600_000
    assert item["prepublish_forecast"]["horizons"][-1]["p50"] < typical[-1]["p50"]  # a 2k channel, not 73,800
    track = html.unescape(web.get("/track").text)
    assert "The forecast is for the middle-sized channel" not in track
    assert 'placeholder="2,000 (kept if blank)"' in track  # the field came back blank
    minute_before = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    close = web.post(f"/track/{item['id']}/views", data={"views": "599k", "read_at": minute_before,
                                                          "csrf_token": token}, follow_redirects=False)  # fmt: skip
    assert close.status_code == 303, close.text
    after = web.get(close.headers["location"]).text  # the next reading goes in the same form: it stays open
    assert '<details class="add-views" open>' in after
    note = "1 reading less than 15 min before a later one not read (599,000 at "
    assert note in html.unescape(web.get("/track").text)  # the page says what the forecast left out, as JSON does
    fall = web.post(f"/track/{item['id']}/views", data={"views": "400k", "csrf_token": token, "tracked_id": item["id"]})
    assert fall.url.path == "/track" and "does not fit 600,000 at" in html.unescape(fall.text)  # the latest, not 500k


def test_typed_views_are_their_users_alone_and_leave_the_stored_video_as_it_was(
    web: TestClient, web_settings: Settings
) -> None:
    """A count one user typed for a collected video turned its source into web-entry (it left every public list),
    showed on every other tracker's card and vetoed their own counts ("does not fit 50,000 ... views only grow")."""
    listed = web.get("/api/v1/videos", params={"q": "sourdough", "limit": 1}).json()
    video = listed["items"][0]
    total = listed["total"]
    public = web.get(f"/api/v1/videos/{video['id']}").json()["snapshots"]
    read_at = datetime.fromisoformat(public[-1]["captured_at"].replace("Z", "+00:00")) + timedelta(hours=1)
    token = sign_up(web)
    web.post("/track", data={"url": f"https://youtu.be/{video['id']}", "csrf_token": token})
    mine = web.get("/track.json").json()["items"][0]
    typed = public[-1]["views"] + 50_000
    form = {"views": str(typed), "read_at": read_at.strftime("%Y-%m-%dT%H:%M"), "csrf_token": token}
    added = web.post(f"/track/{mine['id']}/views", data=form, follow_redirects=False)
    assert added.status_code == 303, added.text
    assert web.get("/track.json").json()["items"][0]["snapshots"][-1]["views"] == typed  # the typer sees it
    again = web.get("/api/v1/videos", params={"q": "sourdough", "limit": 1}).json()
    assert again["total"] == total and again["items"][0]["id"] == video["id"]  # still listed, source kept
    with TestClient(create_app(web_settings)) as other:
        other_token = sign_up(other, email="other@example.com")
        assert typed not in [s["views"] for s in other.get(f"/api/v1/videos/{video['id']}").json()["snapshots"]]
        other.post("/track", data={"url": f"https://youtu.be/{video['id']}", "csrf_token": other_token})
        theirs = other.get("/track.json").json()["items"][0]
        assert typed not in [p["views"] for p in theirs["snapshots"]]
        lower = typed - 10_000  # below the first user's count, above every collected one: fits this user's own
        later = (read_at + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
        form = {"views": str(lower), "read_at": later, "csrf_token": other_token}
        own = other.post(f"/track/{theirs['id']}/views", data=form, follow_redirects=False)
        assert own.status_code == 303, own.text
        assert other.get("/track.json").json()["items"][0]["snapshots"][-1]["views"] == lower
    assert lower not in [p["views"] for p in web.get("/track.json").json()["items"][0]["snapshots"]]


def test_a_publish_time_typed_for_a_video_miles_knows_is_said_to_be_unused(web: TestClient) -> None:
    """The form asks for title and publish time while Miles has not read the video; read by the time the form was
    sent, the typed values were dropped without a word."""
    video = web.get("/api/v1/videos", params={"q": "sourdough", "limit": 1}).json()["items"][0]
    known = datetime.fromisoformat(video["published_at"].replace("Z", "+00:00"))
    token = sign_up(web)
    web.post("/track", data={"url": f"https://youtu.be/{video['id']}", "csrf_token": token})
    tracked_id = web.get("/track.json").json()["items"][0]["id"]
    typed = known + timedelta(hours=5)
    read_at = datetime.fromisoformat(video["latest_captured_at"].replace("Z", "+00:00")) + timedelta(hours=1)
    form = {
        "views": str(video["latest_views"] + 1000),
        "read_at": read_at.strftime("%Y-%m-%dT%H:%M"),
        "title": "A title of my own",
        "published_at": typed.strftime("%Y-%m-%dT%H:%M"),
        "csrf_token": token,
    }
    added = web.post(f"/track/{tracked_id}/views", data=form)
    assert added.status_code == 200 and "Views added" in added.text
    notes = [html.unescape(n) for n in re.findall(r'<p class="note warn not-used" role="status">(.*?)</p>', added.text)]
    assert notes == [
        f"Miles already knows this video's publish time ({known:%Y-%m-%d %H:%M} UTC); the time you typed "
        f"({typed:%Y-%m-%d %H:%M} UTC) was not used.",
        f"Miles already knows this video's title (“{video['title']}”); the title you typed was not used.",
    ]
    assert "not-used" not in web.get("/track").text  # said once
    item = web.get("/track.json").json()["items"][0]
    assert item["published_at"].startswith(known.strftime("%Y-%m-%dT%H:%M")) and item["title"] == video["title"]
    same = {**form, "views": str(video["latest_views"] + 2000), "title": video["title"],
            "read_at": (read_at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "published_at": known.strftime("%Y-%m-%dT%H:%M")}  # fmt: skip
    assert "not-used" not in web.post(f"/track/{tracked_id}/views", data=same).text  # what Miles knows: no note
    again = web.post(f"/track/{tracked_id}/views", data=same)  # sent twice: said, not "Views added"
    assert "stored already at that time; nothing changed" in again.text and "Views added" not in again.text


def test_the_browsers_time_zone_is_used_on_pages_and_the_api_stays_utc(web: TestClient) -> None:
    token = sign_up(web)
    assert web.post("/timezone", data={"tz": "Mars/Olympus", "csrf_token": token}).status_code == 422
    assert web.post("/timezone", data={"tz": "Asia/Kolkata", "csrf_token": token}).status_code == 204
    form = {"title": "Bread", "publish_at": "2026-06-01T18:30", "alt_hour": "9", "csrf_token": token}
    result = web.post("/score.json", data=form).json()["result"]
    variant = next(v for v in result["variants"] if v["label"].startswith("posted at"))
    assert variant["label"] == "posted at 09:00 IST" and variant["changes"]["publish_at"].startswith("2026-06-01T03:30")
    history = web.get("/history.json").json()["predictions"]["items"][0]
    assert history["created_at"].endswith(("Z", "+00:00")) or "T" in history["created_at"]
    page = web.get("/history").text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d IST", page) and "Times on pages are in" in page
    assert "Planned publish time" in web.get("/score").text and "(Asia/Kolkata; blank: now)" in web.get("/score").text
    soon = (datetime.now(UTC) + timedelta(hours=2)).astimezone(ZoneInfo("Asia/Kolkata"))
    future = web.post("/score", data={**form, "publish_at": soon.strftime("%Y-%m-%dT%H:%M"), "early_views": "1:10"})
    assert future.status_code == 422 and f"published {soon:%Y-%m-%d %H:%M} IST" in html.unescape(future.text)
    explore = web.get("/explore", params={"topic": "sourdough"}).text
    assert "publish hour (Asia/Kolkata)" in explore
    # Without JavaScript: the footer's select posts the zone and comes back to the page.
    back = web.post("/timezone", data={"tz": "UTC", "next": "/history", "csrf_token": token}, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/history"
    assert "UTC" in web.get("/history").text


def test_the_score_result_previews_the_title_and_thumbnail_in_the_feeds(web: TestClient) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1280, 720), (200, 40, 40)).save(buf, format="PNG")
    token = csrf(web)
    title = "I baked sourdough every day for a year and this is what happened to my starter"
    page = web.post(
        "/score",
        data={"title": title, "channel": "@baker", "csrf_token": token},
        files={"thumbnail": ("t.png", buf.getvalue(), "image/png")},
    )
    assert page.status_code == 200
    for words in (
        "How it looks in the feed",
        "Shorts feed (phone)",
        "Home, Shorts shelf (phone)",
        "Home grid (desktop)",
    ):
        assert words in page.text
    assert page.text.count(html.escape(title)) >= 4 and "@baker" in page.text
    assert page.text.count('<img src="data:image/jpeg;base64,') >= 4
    twin = web.post("/score.json", data={"title": title, "csrf_token": token})
    assert "preview" not in twin.json() and "data:image" not in twin.text
    font = web.get("/assets/fonts/roboto.ttf")
    assert font.status_code == 200 and font.headers["content-type"] == "font/ttf" and len(font.content) > 100_000
    assert 'url("/assets/fonts/roboto.ttf")' in web.get("/static/miles.css").text


def test_the_track_page_pages_through_every_tracked_video(web: TestClient) -> None:
    """It stopped at 50 with no way on: the oldest videos could no longer get views or be stopped."""
    token = sign_up(web)
    ids = [f"PAGE{k:07d}" for k in range(23)]
    for video_id in ids:
        web.post("/track", data={"url": f"https://youtu.be/{video_id}", "csrf_token": token})
    first = web.get("/track.json").json()
    assert first["total"] == 23 and len(first["items"]) == 20 and first["next_offset"] == 20
    rest = web.get("/track.json", params={"offset": 20}).json()
    assert len(rest["items"]) == 3 and rest["next_offset"] is None
    seen = {i["video_id"] for i in first["items"]} | {i["video_id"] for i in rest["items"]}
    assert seen == set(ids)
    page = web.get("/track", params={"offset": 20}).text
    assert 'href="/track?offset=0">Newer</a>' in page and "showing 21–23" in page
    assert 'href="/track?offset=20">Older</a>' in web.get("/track").text
    assert "Back to the newest" in web.get("/track", params={"offset": 40}).text


def test_the_forecast_check_stays_once_a_video_is_past_its_last_horizon(web: TestClient) -> None:
    """Read a year on, the check against the views at 7 days vanished: it now reads the latest views the forecast
    made before publishing reaches (30 days)."""
    token = sign_up(web)
    web.post("/track", data={"url": "https://youtu.be/OLDVIDEO001", "csrf_token": token})
    item = web.get("/track.json").json()["items"][0]
    published = datetime.now(UTC) - timedelta(days=60)
    for age, views in ((timedelta(days=7), "50k"), (timedelta(days=59), "90k")):
        form = {"views": views, "read_at": (published + age).strftime("%Y-%m-%dT%H:%M"), "csrf_token": token,
                "title": "Ten sourdough mistakes", "published_at": published.strftime("%Y-%m-%dT%H:%M")}  # fmt: skip
        assert web.post(f"/track/{item['id']}/views", data=form, follow_redirects=False).status_code == 303
    check = web.get("/track.json").json()["items"][0]["forecast_check"]
    assert check is not None and check["age_h"] == pytest.approx(168.0, abs=0.02) and check["views"] == 50_000


def test_a_readings_age_is_shown_as_read_not_rounded_to_the_hour(web: TestClient) -> None:
    """A reading at 6.5 h read "latest 3,000 views at 6 h" (the '|age' filter rounds to whole hours), beside a 6 h
    horizon; the forecast's own note named it 6.5 h. Now the page names it as the notes, the CLI and the API do."""
    token = sign_up(web)
    web.post("/track", data={"url": "https://youtu.be/HALFHOUR001", "csrf_token": token})
    tracked_id = web.get("/track.json").json()["items"][0]["id"]
    published = (datetime.now(UTC) - timedelta(hours=20)).replace(second=0, microsecond=0)
    read_at = published + timedelta(hours=6, minutes=30)
    form = {"views": "3k", "read_at": read_at.strftime("%Y-%m-%dT%H:%M"), "title": "Sourdough at dawn",
            "published_at": published.strftime("%Y-%m-%dT%H:%M"), "csrf_token": token}  # fmt: skip
    assert web.post(f"/track/{tracked_id}/views", data=form, follow_redirects=False).status_code == 303
    item = web.get("/track.json").json()["items"][0]
    assert item["latest"]["age_h"] == pytest.approx(6.5) and item["forecast_check"]["age_h"] == pytest.approx(6.5)
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html.unescape(web.get("/track").text)))
    assert "latest 3,000 views at 6.5 h (read " in page
    assert "as before publishing, for 6.5 h:" in page and "actual at 6.5 h: 3,000" in page
