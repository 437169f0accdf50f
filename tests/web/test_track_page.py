"""The Track page: each tracked video's forecast carries the accuracy sentence the Score page shows for the same
forecast (Track showed the range without it), and the empty state points at the views form where it is."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from tests.web.conftest import sign_up


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html.unescape(page)))


def test_each_tracked_forecast_says_how_accurate_such_forecasts_were(web: TestClient) -> None:
    token = sign_up(web)
    web.post("/track", data={"url": "https://youtu.be/sourdough05", "csrf_token": token})  # read by Miles
    item = web.get("/track.json").json()["items"][0]
    accuracy = item["forecast"]["accuracy"]
    assert item["forecast"]["mode"] == "early" and accuracy.startswith("Forecasts from views read"), accuracy
    page = web.get("/track").text
    assert 'class="accuracy"' in page
    assert f"How accurate is this? {accuracy}" in _text(page)


def test_a_video_without_views_points_at_the_views_form_above(web: TestClient) -> None:
    token = sign_up(web)
    web.post("/track", data={"url": "https://youtu.be/AAAAAAAAAAA", "csrf_token": token})  # not read yet
    page = _text(web.get("/track").text)
    form, empty = page.index("Enter views you have read"), page.index("No views recorded yet")
    assert form < empty  # the form comes first: the text said to type the views "below"
    assert "below" not in page[empty:]
    assert "Or type the views you see in YouTube Studio in “Enter views you have read” above." in page
