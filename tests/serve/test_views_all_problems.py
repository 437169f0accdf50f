"""Views typed for a tracked video (API POST /tracked/{id}/views, the MCP tool record_views, the Track page): a
reading with several problems names them all in one 422, each with its field and why (the API and the MCP tool said
only the first, so a negative count hid a read time before publishing), from the one pass in
``services.tracked.check_reading``; nothing is stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from mcp import Client
from tests.serve.conftest import ApiUser, make_user
from tests.serve.test_mcp import run, text_of
from tests.web.conftest import sign_up

from miles.config import Settings
from miles.serve.mcp import build_server

API = "/api/v1"
PUBLISHED = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
FIRST = {"views": 1000, "title": "My sourdough starter", "published_at": PUBLISHED.isoformat(),
         "read_at": (PUBLISHED + timedelta(hours=24)).isoformat()}  # fmt: skip


def _tracked_with_a_reading(client: TestClient, user: ApiUser) -> int:
    added = client.post(f"{API}/tracked", json={"url": "https://youtu.be/AAAAAAAAAAA"}, headers=user.headers)
    tracked_id = int(added.json()["id"])
    stored = client.post(f"{API}/tracked/{tracked_id}/views", json=FIRST, headers=user.headers)
    assert stored.status_code == 201, stored.text
    return tracked_id


def _latest(client: TestClient, user: ApiUser, tracked_id: int) -> dict[str, Any]:
    latest = client.get(f"{API}/tracked/{tracked_id}", headers=user.headers).json()["latest"]
    assert isinstance(latest, dict)
    return latest


def test_the_api_names_every_problem_of_a_reading_and_stores_nothing(
    client: TestClient, user_factory: Callable[[str], ApiUser]
) -> None:
    alice = user_factory("alice@example.com")
    tracked_id = _tracked_with_a_reading(client, alice)
    url = f"{API}/tracked/{tracked_id}/views"
    before = (PUBLISHED - timedelta(hours=1)).isoformat()
    bad = client.post(url, json={"views": -5, "read_at": before}, headers=alice.headers)
    assert bad.status_code == 422, bad.text
    error = bad.json()["error"]
    assert [d["field"] for d in error["details"]] == ["body.views", "body.read_at"], error  # as its other errors
    assert "body.views: -5 is negative; a count is 0 or more" in error["message"]
    assert "body.read_at: " in error["message"] and "is not after it was published" in error["message"]
    # a negative count at a time that can be right also contradicts the earlier reading: both said, by value
    later = (PUBLISHED + timedelta(hours=48)).isoformat()
    falls = client.post(url, json={"views": -5, "read_at": later}, headers=alice.headers).json()["error"]
    assert [d["field"] for d in falls["details"]] == ["body.views", "body.views"], falls
    assert "is negative" in falls["message"] and "does not fit 1,000 at" in falls["message"]
    assert "(views only grow)" in falls["message"]
    # a count typed as text that is negative, read in the future: both said (the text stopped at the schema, alone)
    future = client.post(url, json={"views": "-1.2k", "read_at": "2030-01-01T00:00:00Z"}, headers=alice.headers)
    said = future.json()["error"]
    assert [d["field"] for d in said["details"]] == ["body.views", "body.read_at"], said
    assert said["details"][0]["message"].startswith("-1200 is negative")
    assert said["details"][1]["message"] == "2030-01-01 00:00 UTC is in the future"
    assert _latest(client, alice, tracked_id)["views"] == 1000  # nothing stored
    good = client.post(url, json={"views": "2k", "read_at": later}, headers=alice.headers)
    assert good.status_code == 201 and _latest(client, alice, tracked_id)["views"] == 2000


def test_the_mcp_tool_names_every_problem_too(client: TestClient, db_settings: Settings) -> None:
    alice = make_user(db_settings, "alice@example.com")
    tracked_id = _tracked_with_a_reading(client, alice)

    async def main() -> None:
        async with Client(build_server(db_settings, key=alice.key)) as mcp:
            typed = {"tracked_id": tracked_id, "views": -5, "read_at": (PUBLISHED - timedelta(hours=1)).isoformat()}
            bad = await mcp.call_tool("record_views", typed)
            assert bad.is_error
            said = text_of(bad)
            assert "views: -5 is negative; a count is 0 or more" in said and "is not after it was published" in said
            # its fields named as its arguments, whether the count is a number or text
            as_text = {"tracked_id": tracked_id, "views": "-5", "read_at": "2030-01-01T00:00:00Z"}
            said = text_of(await mcp.call_tool("record_views", as_text))
            assert said.endswith(
                ": views: -5 is negative; a count is 0 or more (e.g. 1200 or 1.2k); read_at: 2030-01-01 "
                "00:00 UTC is in the future"
            )
            assert "body." not in said

    run(main)
    assert _latest(client, alice, tracked_id)["views"] == 1000


def test_the_track_page_lists_the_same_problems(client: TestClient) -> None:
    token = sign_up(client)
    client.post("/track", data={"url": "https://youtu.be/AAAAAAAAAAA", "csrf_token": token})
    tracked_id = client.get("/track.json").json()["items"][0]["id"]
    form = {"views": "-5", "read_at": (PUBLISHED - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "title": "My sourdough starter", "published_at": PUBLISHED.strftime("%Y-%m-%dT%H:%M"),
            "csrf_token": token}  # fmt: skip
    page = client.post(f"/track/{tracked_id}/views", data=form)  # back to /track with its problems (PRG)
    assert "is negative; a count is 0 or more" in page.text
    assert "is not after it was published" in page.text
    assert client.get("/track.json").json()["items"][0]["latest"] is None
