"""GET /api/v1/tracked and GET /api/v1/tracked/{id}: an API key reads what the Track page shows of each tracked video
(its title, latest views and forecast now, with the accuracy sentence), from the same service as ``/track.json``.
The list gave poll times only: a key could enter views but never read the forecast they led to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.serve.conftest import make_user, no_model
from tests.web.conftest import csrf, model_dir, seed_niche

from miles.config import Settings
from miles.serve.app import create_app
from miles.serve.services.tracked import STORED_ALREADY, UNREAD_NOTE

API = "/api/v1"
READ = "https://youtu.be/sourdough05"  # read by Miles: views at 1 h and 24 h
UNREAD = "https://www.youtube.com/shorts/dQw4w9WgXcQ"  # Miles has not read it: its details are typed


def _typed_views(client: TestClient, tracked_id: int, headers: dict[str, str]) -> dict[str, Any]:
    published = (datetime.now(UTC) - timedelta(hours=30)).replace(microsecond=0)
    body = {"views": "4k", "title": "My sourdough starter after 30 days", "published_at": published.isoformat(),
            "read_at": (published + timedelta(hours=24)).isoformat()}  # fmt: skip
    entered = client.post(f"{API}/tracked/{tracked_id}/views", json=body, headers=headers)
    assert entered.status_code == 201, entered.text
    return body


def _track(client: TestClient, url: str, headers: dict[str, str]) -> int:
    added = client.post(f"{API}/tracked", json={"url": url}, headers=headers)
    assert added.status_code == 201, added.text
    assert added.json()["ok"] is True  # as every answer of the API
    return int(added.json()["id"])


def test_a_key_reads_each_tracked_videos_views_and_forecast(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"model_dir": model_dir()})
    seed_niche(settings)
    alice, bob = make_user(settings, "alice@example.com"), make_user(settings, "bob@example.com")
    with TestClient(create_app(settings)) as client:
        read_id = _track(client, READ, alice.headers)
        typed_id = _track(client, UNREAD, alice.headers)
        body = _typed_views(client, typed_id, alice.headers)
        again = client.post(f"{API}/tracked/{typed_id}/views", json=body, headers=alice.headers)  # a retry
        listed = client.get(f"{API}/tracked", headers=alice.headers)
        assert listed.status_code == 200, listed.text
        page = listed.json()
        one = client.get(f"{API}/tracked/{read_id}", headers=alice.headers)
        first = client.get(f"{API}/tracked", params={"limit": 1}, headers=alice.headers).json()
        second = client.get(f"{API}/tracked", params={"limit": 1, "offset": 1}, headers=alice.headers).json()
        token = csrf(client)
        client.post("/login", data={"email": "alice@example.com", "password": "a-long-password", "csrf_token": token})
        track = client.get("/track.json").json()
        client.cookies.clear()
        theirs = client.get(f"{API}/tracked/{read_id}", headers=bob.headers)
        bob_id = _track(client, UNREAD, bob.headers)
        bobs = client.get(f"{API}/tracked/{bob_id}", headers=bob.headers).json()
    assert page["total"] == 2 and page["model_message"] is None and page["next_offset"] is None
    assert again.status_code == 201 and again.json()["notes"] == [STORED_ALREADY]  # not one more count, and said
    assert again.json()["video"]["latest"]["views"] == 4000
    typed, read = page["items"]  # newest first
    assert (typed["id"], read["id"]) == (typed_id, read_id)
    assert typed["title"] == body["title"] and typed["details_typed"] is True
    assert typed["latest"]["views"] == 4000 and typed["latest"]["age_h"] == pytest.approx(24.0)
    assert read["title"] and read["latest"]["views"] > 0 and read["latest"]["age_h"] == pytest.approx(24.0, abs=0.01)
    for item in (typed, read):
        forecast = item["forecast"]
        assert forecast["mode"] == "early" and 0 <= forecast["viral_probability"] <= 1
        assert all(h["p10"] <= h["p50"] <= h["p90"] for h in forecast["horizons"]) and forecast["horizons"]
        assert forecast["accuracy"].startswith("Forecasts from views read"), forecast["accuracy"]
        assert item["forecast_check"]["off"]
    # the same as the Track page shows (its JSON twin), and as the one video's own address gives it
    for got, want in zip(page["items"], track["items"], strict=True):
        for key in ("id", "title", "forecast", "prepublish_forecast"):
            assert got[key] == want[key], key
        assert got["latest"]["views"] == want["latest"]["views"] and got["latest"]["age_h"] == want["latest"]["age_h"]
        assert got["forecast_check"] == pytest.approx(want["forecast_check"], abs=0.05)  # the API rounds the ratio
    assert one.status_code == 200 and one.json() == {**read, "ok": True}  # as listed, with the answer's ok
    assert (first["total"], first["next_offset"], [i["id"] for i in first["items"]]) == (2, 1, [typed_id])
    assert (second["next_offset"], [i["id"] for i in second["items"]]) == (None, [read_id])
    # another user: alice's id is not found, and the title and views she typed for the same video are hers alone
    assert theirs.status_code == 404
    assert bobs["video_id"] == "dQw4w9WgXcQ" and bobs["title"] is None and bobs["latest"] is None
    assert bobs["forecast"] is None and bobs["details_typed"] is False


def test_without_a_model_the_list_still_comes_and_says_why(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = no_model(sqlite_settings, tmp_path)
    seed_niche(settings)
    alice = make_user(settings, "alice@example.com")
    with TestClient(create_app(settings)) as client:
        read_id = _track(client, READ, alice.headers)
        page = client.get(f"{API}/tracked", headers=alice.headers).json()
        one = client.get(f"{API}/tracked/{read_id}", headers=alice.headers).json()
        anonymous = client.get(f"{API}/tracked/{read_id}")
    assert page["model_message"] and page["items"][0]["forecast"] is None
    assert page["items"][0]["latest"]["views"] > 0 and page["items"][0]["title"]
    assert one["forecast"] is None and one["forecast_note"] == page["model_message"]
    assert anonymous.status_code == 401


def test_a_video_not_read_yet_says_why_it_has_no_forecast(sqlite_settings: Settings) -> None:
    """Before its first views a tracked video had forecast and forecast_note both null: nothing said why. A TikTok
    one says that no model speaks for it (a note that a forecast comes with its views would not come true)."""
    settings = sqlite_settings.model_copy(update={"model_dir": model_dir()})
    alice = make_user(settings, "alice@example.com")
    with TestClient(create_app(settings)) as client:
        youtube_id = _track(client, UNREAD, alice.headers)
        youtube = client.get(f"{API}/tracked/{youtube_id}", headers=alice.headers).json()
        tiktok_id = _track(client, "https://www.tiktok.com/@chef/video/7301234567890123456", alice.headers)
        listed = {i["id"]: i for i in client.get(f"{API}/tracked", headers=alice.headers).json()["items"]}
    assert youtube["forecast"] is None and youtube["forecast_note"] == UNREAD_NOTE
    assert "Miles has not read this video" in UNREAD_NOTE
    assert listed[youtube_id]["forecast_note"] == UNREAD_NOTE
    assert listed[tiktok_id]["forecast"] is None
    assert listed[tiktok_id]["forecast_note"].startswith("no TikTok model yet: track 500 TikTok videos first")
