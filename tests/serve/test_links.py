"""A scored draft linked to its published video is graded as the video's views arrive (issue 16 item 1): owner-only,
one video per draft, the video tracked for the user; the grade job grades the stored draft prediction at each horizon
from captures taken after it was made, never from counts the user typed in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.jobs.test_quality import plant, snap
from tests.serve.conftest import ENCODERS, ApiUser

from miles.config import Settings
from miles.domain import utcnow
from miles.errors import InvalidInput
from miles.jobs.worker import run_once
from miles.serve.errors import install_error_handlers
from miles.store.db import session_scope
from miles.store.repos.predictions import videos_to_score
from miles.store.repos.snapshots import MANUAL_SOURCE
from miles.store.tables import PredictionRecord, TrackedVideo

API = "/api/v1"
VIDEO = "dRaFtVid0_1"


@ENCODERS
def test_a_linked_draft_is_graded_as_its_views_arrive(
    predictor_client: TestClient, user_factory: Callable[[str], ApiUser], db_settings: Settings
) -> None:
    alice, bob = user_factory("alice@example.com"), user_factory("bob@example.com")
    draft = {"title": "My sourdough starter after 30 days", "channel_subscribers": 5000}
    scored = predictor_client.post(f"{API}/predict", json=draft, headers=alice.headers)
    pid = scored.json()["prediction_id"]
    horizons = [h["horizon_h"] for h in scored.json()["prediction"]["horizons"]]
    link = f"{API}/predictions/{pid}/link"

    assert predictor_client.post(link, json={"video": VIDEO}, headers=bob.headers).status_code == 404  # not his
    bad = predictor_client.post(link, json={"video": "https://example.com/watch?v=nope"}, headers=alice.headers)
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("body.video: not a YouTube video")
    tiktok = predictor_client.post(link, json={"video": "https://www.tiktok.com/@baker/video/7300000000000000001"},
                                   headers=alice.headers)  # fmt: skip
    assert tiktok.status_code == 422 and "scored as a youtube draft, but this is a tiktok video" in tiktok.text

    first = predictor_client.post(link, json={"video": f"https://youtu.be/{VIDEO}"}, headers=alice.headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["video_id"], body["linked"], body["tracking_started"], body["grades"]) == (VIDEO, True, True, [])
    assert body["ok"] is True
    again = predictor_client.post(link, json={"video": VIDEO}, headers=alice.headers).json()
    assert (again["linked"], again["tracking_started"], again["tracked_id"]) == (False, False, body["tracked_id"])
    other = predictor_client.post(link, json={"video": "AnotherVid1"}, headers=alice.headers)
    assert other.status_code == 409 and f"already linked to video {VIDEO}" in other.text
    history = predictor_client.get(f"{API}/history", headers=alice.headers).json()
    assert history["items"][0]["video_id"] == VIDEO
    tracked = predictor_client.get(f"{API}/tracked", headers=alice.headers).json()["items"]
    assert [t["video_id"] for t in tracked] == [VIDEO]

    # scored 30 h ago, published an hour later; the tracking polls and one count the user typed in arrive
    now = utcnow().replace(microsecond=0)
    made, published = now - timedelta(hours=30), now - timedelta(hours=29)
    with session_scope(db_settings) as s:
        s.execute(update(PredictionRecord).where(PredictionRecord.id == pid).values(created_at=made))
    polls = [
        snap(
            VIDEO,
            0,
            v,
            published_at=published,
            captured_at=published + timedelta(hours=h),
            channel_subscribers=5000,
            source="ytdlp:poll",
        )
        for h, v in ((1.05, 30), (6.1, 200), (24.3, 900))
    ]
    typed = snap(VIDEO, 0, 5000, published_at=published, captured_at=published + timedelta(hours=3),
                 source=MANUAL_SOURCE)  # fmt: skip
    plant(db_settings, [*polls, typed])
    with session_scope(db_settings) as s:  # the user's draft is not the scorer's: the worker still scores the video
        assert VIDEO in [v.id for v in videos_to_score(session=s, model_version=scored.json()["prediction"][
            "model_version"], since=now - timedelta(days=2))]  # fmt: skip
        assert s.scalar(select(TrackedVideo.user_id).where(TrackedVideo.video_id == VIDEO)) == alice.user_id

    result = run_once(db_settings.model_copy(update={"niches": []}), names=["grade"])["grade"]
    assert {1.0, 6.0, 24.0} <= set(horizons)
    assert result["status"] == "ok" and result["graded"] == 3, result
    grades = predictor_client.post(link, json={"video": VIDEO}, headers=alice.headers).json()["grades"]
    # the typed 5,000 at 3 h never grades; 168 h and 720 h wait for their captures
    assert [(g["horizon_h"], g["actual_views"]) for g in grades] == [(1.0, 30), (6.0, 200), (24.0, 900)]
    assert all(g["inside"] == (g["p10"] <= g["actual_views"] <= g["p90"]) for g in grades)
    live = predictor_client.get(f"{API}/model").json()["live"]
    assert live["grades"] == len(grades) and live["videos"] == 1
    assert predictor_client.post(link, json={"video": VIDEO}, headers=alice.headers).json()["note"] is None  # on time

    # scored a day after the video went out: only the horizons past that age can be graded, and the answer says so
    with session_scope(db_settings) as s:
        late_made = published + timedelta(hours=26)
        s.execute(update(PredictionRecord).where(PredictionRecord.id == pid).values(created_at=late_made))
    late = predictor_client.post(link, json={"video": VIDEO}, headers=alice.headers).json()["note"]
    assert late and "scored 26 h after the video went out: only its horizons after that (7d, 30d)" in late
    with session_scope(db_settings) as s:
        s.execute(
            update(PredictionRecord).where(PredictionRecord.id == pid).values(created_at=now + timedelta(days=40))
        )
    never = predictor_client.post(link, json={"video": VIDEO}, headers=alice.headers).json()["note"]
    assert never and "past its last horizon: no horizon can be graded" in never

    # a second version of the draft linked to the same video: both are graded, and both answers say which Track shows
    with session_scope(db_settings) as s:
        s.execute(update(PredictionRecord).where(PredictionRecord.id == pid).values(created_at=made))
    second = predictor_client.post(f"{API}/predict", json={**draft, "title": "30 days of sourdough"},
                                   headers=alice.headers).json()["prediction_id"]  # fmt: skip
    note = predictor_client.post(f"{API}/predictions/{second}/link", json={"video": VIDEO}, headers=alice.headers)
    assert note.json()["note"].endswith(f"Your draft #{pid} is linked to this video too: each is graded, and Track "
                                   "compares the video with the latest scored one (this one).")  # fmt: skip
    first_note = predictor_client.post(link, json={"video": VIDEO}, headers=alice.headers).json()["note"]
    assert first_note.endswith(f"Your draft #{second} is linked to this video too: each is graded, and Track compares "
                               f"the video with the latest scored one (#{second}).")  # fmt: skip


def test_a_draft_linked_to_another_video_is_a_409_whose_detail_says_what_is_wrong(
    client: TestClient, user_factory: Callable[[str], ApiUser], db_settings: Settings
) -> None:
    """The 409 named `body.video` with no message (`details: [{"field": "body.video"}]`): every detail says what is
    wrong with its field."""
    alice = user_factory("linked@example.com")
    with session_scope(db_settings) as s:
        row = PredictionRecord(user_id=alice.user_id, model_version="v", inputs_hash="h", inputs={"title": "t"})
        s.add(row)
        s.flush()
        pid = row.id
    link = f"{API}/predictions/{pid}/link"
    assert client.post(link, json={"video": VIDEO}, headers=alice.headers).status_code == 200
    other = client.post(link, json={"video": "AnotherVid1"}, headers=alice.headers)
    assert other.status_code == 409, other.text
    error = other.json()["error"]
    problem = (
        f"scored draft {pid} is already linked to video {VIDEO}, not AnotherVid1; a draft is graded against one "
        "video only"
    )
    assert error == {"code": "invalid_input", "message": f"body.video: {problem}",
                     "details": [{"field": "body.video", "message": problem}]}  # fmt: skip


def test_every_detail_naming_a_field_carries_a_message_whatever_the_status() -> None:
    """The envelope gives a field named alone the error's words for it on every status (it did only on a 422)."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/conflict")
    def conflict() -> None:
        raise InvalidInput("body.video: taken by another draft", status=409, details=[{"field": "body.video"}])

    with TestClient(app) as client:
        answer = client.get("/conflict")
    assert answer.status_code == 409
    assert answer.json()["error"]["details"] == [{"field": "body.video", "message": "taken by another draft"}]
