"""Both platforms side by side: Explore and /videos filter by platform; a TikTok video never gets a YouTube forecast."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.serve.conftest import make_user
from tests.web.conftest import NICHE_VIDEOS, NOW, csrf, niche_frame, sign_up
from typer.testing import CliRunner

from miles.cli.main import app
from miles.config import Settings, get_settings
from miles.errors import NoPlatformModel
from miles.store.db import session_scope
from miles.store.repos.snapshots import ingest_frame
from miles.store.tables import PredictionRecord, Video

TIKTOK_VIDEOS = 24


def tiktok_frame() -> pd.DataFrame:
    """24 TikTok sourdough videos of 6 creators (19-digit ids, no category, followers as the channel size)."""
    frame = niche_frame().head(0)
    rows = []
    for i in range(TIKTOK_VIDEOS):
        published = NOW - timedelta(hours=float(5 + i * 9))
        for age_h in (1.0, 24.0):
            if published + timedelta(hours=age_h) > NOW:
                break
            rows.append(
                {
                    "video_id": f"74600000000000{i:05d}",
                    "platform": "tiktok",
                    "channel_id": f"69000000000000{i % 6:05d}",
                    "channel_title": f"breadtok{i % 6}",
                    "title": f"sourdough crumb shot {i} #sourdough #breadtok",
                    "tags": "sourdough|breadtok",
                    "duration_s": float(10 + i),
                    "published_at": published,
                    "captured_at": published + timedelta(hours=age_h),
                    "views": int((500 + 900 * (i % 5)) * (1 + age_h / 6)),
                    "channel_subscribers": 5_000 * (1 + i % 6),
                    "source": "test-tiktok",
                    "published_at_is_date_only": False,
                    "captured_at_is_date_only": False,
                }
            )
    return pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)[list(frame.columns)]


@pytest.fixture
def both(web: TestClient, web_settings: Settings) -> TestClient:
    with session_scope(web_settings) as session:
        ingest_frame(session=session, frame=tiktok_frame())
    return web


def test_explore_shows_one_platform_at_a_time(both: TestClient) -> None:
    youtube = both.get("/explore.json", params={"topic": "sourdough"}).json()
    tiktok = both.get("/explore.json", params={"topic": "sourdough", "platform": "tiktok"}).json()
    assert (youtube["platform"], youtube["videos"]) == ("youtube", NICHE_VIDEOS)
    assert (tiktok["platform"], tiktok["videos"]) == ("tiktok", TIKTOK_VIDEOS)
    assert all(len(p["video_id"]) == 19 for p in tiktok["points"])
    # outliers from the creators' own histories: each creator's oldest video (i >= 18) has no earlier upload to compare
    measured = {p["video_id"] for p in tiktok["points"] if p["multiple"] is not None}
    assert measured == {f"74600000000000{i:05d}" for i in range(TIKTOK_VIDEOS - 6)}
    page = both.get("/explore", params={"topic": "sourdough", "platform": "tiktok"}).text
    assert f"{TIKTOK_VIDEOS} videos match" in page and "on TikTok" in page
    assert '<option value="tiktok" selected>' in page
    assert both.get("/explore.json", params={"topic": "sourdough", "platform": "vimeo"}).status_code == 422


def test_videos_api_filters_by_platform(both: TestClient) -> None:
    tiktok = both.get("/api/v1/videos", params={"platform": "tiktok", "limit": 100}).json()
    youtube = both.get("/api/v1/videos", params={"platform": "youtube", "limit": 100}).json()
    everything = both.get("/api/v1/videos", params={"limit": 1}).json()
    assert tiktok["total"] == TIKTOK_VIDEOS and {v["platform"] for v in tiktok["items"]} == {"tiktok"}
    assert youtube["total"] == NICHE_VIDEOS and everything["total"] == NICHE_VIDEOS + TIKTOK_VIDEOS


def test_track_page_gives_a_tiktok_video_no_youtube_forecast(both: TestClient) -> None:
    token = sign_up(both)
    for url in (
        "https://www.tiktok.com/@breadtok3/video/7460000000000000003",
        "https://www.youtube.com/shorts/sourdough20",
    ):
        assert both.post("/track", data={"url": url, "csrf_token": token}, follow_redirects=False).status_code == 303
    short = both.post("/track", data={"url": "https://vm.tiktok.com/ZMhQx7AbC/", "csrf_token": token})
    assert short.status_code == 422 and "short link" in short.text
    items = {i["video_id"]: i for i in both.get("/track.json").json()["items"]}
    tiktok, youtube = items["7460000000000000003"], items["sourdough20"]
    assert tiktok["url"] == "https://www.tiktok.com/@breadtok3/video/7460000000000000003"
    assert tiktok["platform"] == "tiktok" and len(tiktok["snapshots"]) == 2
    assert tiktok["forecast"] is None and tiktok["forecast_note"].startswith("no TikTok model yet: track 500 TikTok")
    assert youtube["forecast"]["mode"] == "early" and youtube["forecast_note"] is None
    assert "No TikTok model yet" in both.get("/track").text


NO_TIKTOK_MODEL = "no TikTok model yet: track 500 TikTok videos first"


def _figure_of(page: str, tracked_id: int) -> dict[str, Any]:
    """The chart spec drawn in one tracked video's card of the Track page."""
    card = page.split(f'id="tracked-{tracked_id}"', 1)[1].split("</article>", 1)[0]
    found = re.search(r"data-figure='([^']*)'", card)
    assert found, "no chart in the card"
    return dict(json.loads(found.group(1)))


def test_views_typed_for_a_tiktok_video_keep_it_tiktok_with_the_note(both: TestClient, web_settings: Settings) -> None:
    """A TikTok link tracked through the API had no platform until read, and views typed with its title and publish
    time stored it as a YouTube video: a YouTube forecast, its band on the page, a forecast before publishing and its
    check. The tracked row knows its platform from its link, and the typed reading stores the video with it."""
    alice = make_user(web_settings, "alice@example.com")
    url = "https://www.tiktok.com/@chef/video/7301234567890123456"
    added = both.post("/api/v1/tracked", json={"url": url}, headers=alice.headers)
    assert added.status_code == 201 and added.json()["platform"] == "tiktok", added.text
    tracked_id = added.json()["id"]
    unread = both.get(f"/api/v1/tracked/{tracked_id}", headers=alice.headers).json()
    assert unread["platform"] == "tiktok" and unread["forecast"] is None
    published = NOW - timedelta(hours=4)
    typed = {"views": "5k", "read_at": (published + timedelta(hours=2)).isoformat(), "title": "pasta",
             "published_at": published.isoformat()}  # fmt: skip
    entered = both.post(f"/api/v1/tracked/{tracked_id}/views", json=typed, headers=alice.headers)
    assert entered.status_code == 201, entered.text
    video = entered.json()["video"]
    assert (video["platform"], video["latest"]["views"], video["title"]) == ("tiktok", 5000, "pasta")
    assert video["forecast"] is None and video["forecast_note"].startswith(NO_TIKTOK_MODEL)
    assert video["prepublish_forecast"] is None and video["forecast_check"] is None
    with session_scope(web_settings) as session:
        assert session.scalar(select(Video.platform).where(Video.id == "7301234567890123456")) == "tiktok"
    token = csrf(both)
    both.post("/login", data={"email": "alice@example.com", "password": "a-long-password", "csrf_token": token})
    page = both.get("/track").text
    card = page.split(f'id="tracked-{tracked_id}"', 1)[1].split("</article>", 1)[0]
    assert "No TikTok model yet: track 500 TikTok videos first" in card and "no forecast band" in card
    assert "Forecast before publishing" not in card and "<code>miles collect tiktok</code>" in card  # not `...`
    assert [trace["name"] for trace in _figure_of(page, tracked_id)["data"]] == ["observed views"]


def _predictions(settings: Settings) -> int:
    with session_scope(settings) as session:
        return session.scalar(select(func.count()).select_from(PredictionRecord)) or 0


def test_api_answers_409_for_a_tiktok_draft_and_stores_nothing(both: TestClient, web_settings: Settings) -> None:
    draft = {"title": "sourdough crumb shot #breadtok", "duration_s": 20}
    tiktok = both.post("/api/v1/predict", json={**draft, "platform": "tiktok"})
    assert tiktok.status_code == 409, tiktok.text
    error = tiktok.json()["error"]
    assert error["code"] == "no_platform_model" and error["message"].startswith(NO_TIKTOK_MODEL)
    trajectories = int((tiktok_frame().groupby("video_id").size() >= 2).sum())  # videos with 2+ snapshots
    assert 0 < trajectories < TIKTOK_VIDEOS and f"(Miles has {trajectories})" in error["message"]
    assert error["details"] == {"platform": "tiktok"}
    mixed = both.post("/api/v1/predict/batch", json={"items": [draft, {**draft, "platform": "tiktok"}, draft]})
    assert mixed.status_code == 409 and _predictions(web_settings) == 0
    refused = mixed.json()["error"]  # which item of the batch is the problem, in the message and the details
    assert refused["message"].startswith(f"body.items[1]: {NO_TIKTOK_MODEL}"), refused
    assert refused["details"] == {"platform": "tiktok", "items": [1]}
    youtube = both.post("/api/v1/predict", json={**draft, "platform": "youtube"})
    assert youtube.status_code == 200 and youtube.json()["prediction"]["horizons"]
    assert both.post("/api/v1/predict", json={**draft, "platform": "vimeo"}).status_code == 422


def test_score_page_says_there_is_no_tiktok_model(both: TestClient, web_settings: Settings) -> None:
    token = sign_up(both)
    form = {"title": "sourdough crumb shot", "platform": "tiktok", "csrf_token": token}
    page = both.post("/score", data=form, headers={"HX-Request": "true"})
    assert page.status_code == 409 and _predictions(web_settings) == 0
    notice = page.text[page.text.index('id="platform-notice"') :].split("</div>")[0]
    assert "TikTok drafts cannot be scored yet: nothing to fix in your form." in notice
    assert "N" + NO_TIKTOK_MODEL[1:] in notice  # a sentence on the page; the commands as code, not Markdown
    assert "<code>miles collect tiktok</code>" in notice and "`" not in notice
    assert 'id="problems"' not in page.text and "your form is kept as you typed it" not in page.text
    assert 'value="sourdough crumb shot"' in page.text  # the draft stays in the form
    assert '<option value="tiktok">TikTok</option>' in both.get("/score").text


def test_cli_predict_platform_tiktok_exits_1(web_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILES_DATA_DIR", str(web_settings.data_dir))
    monkeypatch.setenv("MILES_MODEL_DIR", str(web_settings.model_dir))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["predict", "--title", "crumb shot", "--platform", "tiktok"])
    finally:
        get_settings.cache_clear()
    assert isinstance(result.exception, NoPlatformModel) and result.exception.message.startswith(NO_TIKTOK_MODEL)
    assert result.exception.expected  # the CLI prints one line and exits 1


def test_ideas_on_a_tiktok_niche_use_its_videos_and_leave_ideas_unscored(both: TestClient) -> None:
    tiktok = both.post("/api/v1/ideas", json={"topic": "sourdough", "n": 3, "platform": "tiktok"})
    assert tiktok.status_code == 200, tiktok.text
    body = tiktok.json()
    assert (body["platform"], body["candidates"], body["model_version"]) == ("tiktok", TIKTOK_VIDEOS, None)
    assert body["outliers"] and all(len(o["video_id"]) == 19 for o in body["outliers"])
    multiples = [o["multiple"] for o in body["outliers"]]
    assert multiples[0] is not None  # measured against the creator's own uploads, ranked before any unknown
    assert multiples == [m for m in multiples if m is not None] + [None] * multiples.count(None)
    assert any(p["enough_data"] for p in body["patterns"])  # patterns measured on the TikTok videos
    assert len(body["ideas"]) == 3 and all(i["prediction"] is None and i["score"] is None for i in body["ideas"])
    assert any(NO_TIKTOK_MODEL in note for note in body["notes"])
    assert body["freshness"]["stale"] and "to fetch fresh ones, run `miles collect tiktok user|tag`" in body["notes"]
    youtube = both.post("/api/v1/ideas", json={"topic": "sourdough", "n": 3}).json()
    assert youtube["platform"] == "youtube" and youtube["candidates"] == NICHE_VIDEOS
    assert all(o["video_id"].startswith("sourdough") for o in youtube["outliers"])
    assert all(i["prediction"]["views"] for i in youtube["ideas"])
    token = sign_up(both)
    form = {"topic": "sourdough", "n": "3", "platform": "tiktok", "csrf_token": token}
    page = both.post("/ideas", data=form, headers={"HX-Request": "true"})
    assert page.status_code == 200 and "no forecast: no model for this platform yet" in page.text
    assert "https://www.tiktok.com/@/video/746" in page.text and "TikTok niche videos" in page.text


def test_an_unread_tiktok_video_points_to_the_tiktok_app(both: TestClient, web_settings: Settings) -> None:
    """A TikTok video with no views yet told the creator to type what YouTube Studio shows."""
    tia = make_user(web_settings, "tia@example.com")
    url = "https://www.tiktok.com/@chef/video/7301234567890123499"
    assert both.post("/api/v1/tracked", json={"url": url}, headers=tia.headers).status_code == 201
    token = csrf(both)
    both.post("/login", data={"email": "tia@example.com", "password": "a-long-password", "csrf_token": token})
    page = both.get("/track").text
    assert "Or type the views you see in the TikTok app" in page and "YouTube Studio" not in page
