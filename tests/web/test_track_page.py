"""The Track page: each tracked video's forecast carries the accuracy sentence the Score page shows for the same
forecast (Track showed the range without it)."""

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
