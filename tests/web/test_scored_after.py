"""How long after publishing a linked draft was scored reads the same on Track and on History: one formatter
(``format_elapsed``). History wrote '3 days' from its own rounding and Track its '|age' filter's, two copies."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import sign_up

from miles.inputs import format_elapsed
from miles.serve.pages.common import TEMPLATES


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html.unescape(page)))


@pytest.mark.parametrize(
    ("hours", "words"),
    [(0.75, "45 min"), (3.2, "3 h"), (47.4, "47 h"), (50.0, "2 days"), (72.0, "3 days"), (2000.0, "3 months")],
)
def test_elapsed_time_in_words(hours: float, words: str) -> None:
    assert format_elapsed(hours) == words
    assert TEMPLATES.env.filters["age"](hours) == words  # the pages' filter is the same formatter


def test_track_and_history_say_the_same_scored_after(web: TestClient) -> None:
    token = sign_up(web)
    form = {"title": "Sourdough in 60 seconds", "duration_s": "45", "subscribers": "2000", "csrf_token": token}
    pid = web.post("/score.json", data=form).json()["result"]["prediction_id"]
    web.post(f"/history/{pid}/link", data={"video": "dRaFtVid0_1", "csrf_token": token})
    tracked_id = web.get("/track.json").json()["items"][0]["id"]
    out = datetime.now(UTC) - timedelta(hours=72)  # the draft was scored 3 days after the video went out
    views = {"views": "900", "read_at": (out + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M"), "csrf_token": token,
             "title": "Sourdough in 60 seconds", "published_at": out.strftime("%Y-%m-%dT%H:%M")}  # fmt: skip
    assert web.post(f"/track/{tracked_id}/views", data=views, follow_redirects=False).status_code == 303
    assert "scored 3 days after the video went out" in _text(web.get("/track").text)
    assert "This draft was scored 3 days after the video went out" in _text(web.get(f"/history/{pid}").text)
