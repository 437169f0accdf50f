"""POST /api/v1/tracked/{id}/views: the JSON twin of the Track page's views form. Views a creator read are stored as
their own reading, the video comes back with its early-mode forecast and the check of the forecast made before
publishing, and what cannot be true (views falling, another user's video) is refused with the field named."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.serve.conftest import ENCODERS, ApiUser

API = "/api/v1"


@ENCODERS
@pytest.mark.slow
def test_views_entered_over_the_api_switch_the_forecast_and_check_it(
    predictor_client: TestClient, user_factory: Callable[[str], ApiUser]
) -> None:
    alice, bob = user_factory("alice@example.com"), user_factory("bob@example.com")
    added = predictor_client.post(f"{API}/tracked", json={"url": "https://youtu.be/AAAAAAAAAAA"}, headers=alice.headers)
    assert added.status_code == 201, added.text
    views_url = f"{API}/tracked/{added.json()['id']}/views"
    unread = predictor_client.post(views_url, json={"views": "15k"}, headers=alice.headers)
    assert unread.status_code == 422 and [d["field"] for d in unread.json()["error"]["details"]] == [
        "body.title",
        "body.published_at",
    ]  # each named as the API names fields: "body.title: ... give its title; body.published_at: ... give when ..."
    assert "give its title" in unread.text and "give when it was published" in unread.text
    published = (datetime.now(UTC) - timedelta(hours=30)).replace(microsecond=0)
    no_title = predictor_client.post(views_url, json={"views": 10, "published_at": published.isoformat()},
                                     headers=alice.headers)  # fmt: skip
    assert no_title.status_code == 422 and [d["field"] for d in no_title.json()["error"]["details"]] == ["body.title"]
    ahead = {"views": 10, "title": "Soon", "published_at": (published + timedelta(days=3)).isoformat()}
    future = predictor_client.post(views_url, json=ahead, headers=alice.headers)  # was blamed on read_at
    assert future.status_code == 422 and future.json()["error"]["details"][0]["field"] == "body.published_at"
    body = {"views": "500k", "title": "My sourdough starter after 30 days", "published_at": published.isoformat(),
            "read_at": (published + timedelta(hours=24)).isoformat(), "channel_subscribers": "2k"}  # fmt: skip
    entered = predictor_client.post(views_url, json=body, headers=alice.headers)
    assert entered.status_code == 201, entered.text
    out = entered.json()
    video = out["video"]
    assert out["notes"] == [] and video["title"] == body["title"]
    assert video["latest"] == {"captured_at": body["read_at"].replace("+00:00", "Z"), "age_h": 24.0, "views": 500_000}
    assert video["forecast"]["mode"] == "early" and video["forecast"]["horizons"][-1]["p50"] > 500_000
    check = video["forecast_check"]
    assert check["views"] == 500_000 and check["ratio"] > 10 and "far off" in check["remark"]
    assert video["prepublish_forecast"]["draft"]["channel_subscribers"]["value"] == 2000
    # a video only typed in: the user corrects the publish time they typed before, and the answer says so
    later = {
        "views": 600_000,
        "published_at": "2020-01-01T00:00:00Z",
        "read_at": (published + timedelta(hours=28)).isoformat(),
    }
    moved = predictor_client.post(views_url, json=later, headers=alice.headers)
    assert moved.status_code == 201, moved.text
    assert moved.json()["notes"][0].startswith("Your publish time for this video is now 2020-01-01 00:00 UTC (it was")
    assert moved.json()["video"]["latest"]["views"] == 600_000 and moved.json()["video"]["published_at"].startswith(
        "2020-01-01"
    )
    an_hour_on = (published + timedelta(hours=29)).isoformat()
    fall = predictor_client.post(views_url, json={**later, "views": 10, "read_at": an_hour_on}, headers=alice.headers)
    assert fall.status_code == 422 and "views only grow" in fall.json()["error"]["message"]
    negative = predictor_client.post(views_url, json={"views": -5}, headers=alice.headers)
    assert negative.status_code == 422 and "views: -5 is negative" in negative.json()["error"]["message"]
    assert "views only grow" in negative.json()["error"]["message"]  # and what it contradicts, in the same answer
    theirs = predictor_client.post(views_url, json={"views": 700_000}, headers=bob.headers)
    assert theirs.status_code == 404
    anonymous = predictor_client.post(views_url, json={"views": 700_000})
    assert anonymous.status_code == 401
