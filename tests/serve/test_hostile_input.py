"""Hostile input answers a clear 4xx on SQLite and PostgreSQL: NUL and control characters, out-of-range times."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

API = "/api/v1"
OVERFLOW = "0001-01-01T00:00:00+14:00"  # UTC cannot hold it: as_utc raised OverflowError (a 500) before


def fields(response_json: dict[str, object]) -> set[str]:
    error = response_json["error"]
    assert isinstance(error, dict)
    return {d["field"] for d in error["details"]}


@pytest.mark.parametrize(
    "params",
    [
        {"q": "pasta\x00"},
        {"q": "\x00"},
        {"channel_id": "C\x00"},
        {"source": "x\x07"},
        {"published_from": OVERFLOW},
        {"published_to": "9999-12-31T23:59:59-14:00"},
    ],
)
def test_video_search_refuses_nul_control_characters_and_unrepresentable_times(
    client: TestClient, params: dict[str, str]
) -> None:
    response = client.get(f"{API}/videos", params=params)
    assert response.status_code == 422, response.text
    assert fields(response.json()) == {f"query.{next(iter(params))}"}


def test_video_detail_refuses_a_nul_in_the_id(client: TestClient) -> None:
    response = client.get(f"{API}/videos/abc%00def")
    assert response.status_code == 422 and fields(response.json()) == {"path.video_id"}


def test_ideas_refuse_a_nul_in_the_topic(client: TestClient) -> None:
    for body in ({"topic": "bread\x00"}, {"topic": "bread", "vibe": "\x1b[31m"}):
        response = client.post(f"{API}/ideas", json=body)
        assert response.status_code == 422, response.text
        assert "control character" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("draft", "field", "words"),
    [
        ({"title": "x", "publish_at": OVERFLOW}, "body.publish_at", "out of range"),
        ({"title": "x", "publish_at": "1990-06-01T12:00:00Z"}, "body.publish_at", "before 2005"),
        ({"title": "x", "publish_at": "2004-12-31T23:00:00"}, "body.publish_at", "before 2005"),
        (
            {"title": "x", "publish_at": (datetime.now(UTC) + timedelta(days=400)).isoformat()},
            "body.publish_at",
            "more than one year ahead",
        ),
        ({"title": "x", "variants": [{"publish_at": OVERFLOW}]}, "body.variants[0].publish_at", "out of range"),
        ({"title": "a\x00b"}, "body.title", "U+0000"),
        ({"title": "ok", "tags": ["a\x01"]}, "body.tags", "U+0001"),
        ({"title": "ok", "variants": [{"title": "x\x00"}]}, "body.variants[0].title", "U+0000"),
        ({"title": "ok", "description": "one\x00two"}, "body.description", "U+0000"),
    ],
)
def test_predict_refuses_bad_publish_times_and_control_characters(
    client: TestClient, draft: dict[str, object], field: str, words: str
) -> None:
    response = client.post(f"{API}/predict", json=draft)
    assert response.status_code == 422, response.text
    body = response.json()
    assert field in fields(body) and words in body["error"]["message"]
    assert "Value error" not in body["error"]["message"]  # pydantic's prefix on a validator's own message
    batch = client.post(f"{API}/predict/batch", json={"items": [{"title": "fine"}, draft]})
    assert batch.status_code == 422 and field.replace("body", "body.items[1]") in fields(batch.json())
    upload = client.post(f"{API}/predict/upload", data={"draft": json.dumps(draft)})
    assert upload.status_code == 422 and field.replace("body", "body.draft") in fields(upload.json())


def test_line_breaks_stay_allowed_in_a_description(client: TestClient) -> None:
    # Valid input passes validation and reaches the model check (this app has no model: 503).
    ok = client.post(f"{API}/predict", json={"title": "Bread", "description": "line one\nline two\ttab"})
    assert ok.status_code == 503
    in_title = client.post(f"{API}/predict", json={"title": "Bread\nagain"})
    assert in_title.status_code == 422 and "U+000A" in in_title.json()["error"]["message"]
    edge = (datetime.now(UTC) + timedelta(days=300)).isoformat()
    assert client.post(f"{API}/predict", json={"title": "x", "publish_at": edge}).status_code == 503
    assert client.post(f"{API}/predict", json={"title": "x", "publish_at": "2005-01-01T00:00:00Z"}).status_code == 503


def test_collection_ids_beyond_the_integer_column_are_422(client: TestClient) -> None:
    # PostgreSQL's INTEGER id column raised "integer out of range" (a 500) for 2**31.
    assert client.get(f"{API}/collections/{2**31}").status_code == 422
    assert client.get(f"{API}/collections/{2**31 - 1}").status_code == 404
