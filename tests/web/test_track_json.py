"""/track.json, the Track page's JSON twin, writes times and ratios as the API does: ISO 8601 UTC with a ``Z``
(it wrote '+00:00' where GET /api/v1/tracked wrote 'Z') and the forecast check's ratio to 2 decimals (it gave
251.1099949773983)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from tests.web.conftest import sign_up

UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def _decimals(value: float) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text else 0


def _times(item: dict[str, Any]) -> list[str]:
    points = [*item["snapshots"], *([item["latest"]] if item["latest"] else [])]
    tops = [item[k] for k in ("added_at", "next_poll_at", "last_polled_at", "published_at") if item[k] is not None]
    return tops + [p["captured_at"] for p in points]


def test_track_json_times_are_utc_with_z_and_the_ratio_is_rounded(web: TestClient) -> None:
    token = sign_up(web)
    web.post("/track", data={"url": "https://youtu.be/sourdough05", "csrf_token": token})  # read by Miles
    item = web.get("/track.json").json()["items"][0]
    times = _times(item)
    assert len(times) >= 4 and all(UTC_Z.match(t) for t in times), times
    check = item["forecast_check"]
    assert check is not None and check["ratio"] > 0
    assert _decimals(check["ratio"]) <= 2, check["ratio"]
    assert all(_decimals(check[f"forecast_{k}"]) <= 1 for k in ("p10", "p50", "p90")), check


def test_track_json_agrees_with_the_api(web: TestClient) -> None:
    token = sign_up(web)
    web.post("/track", data={"url": "https://youtu.be/sourdough05", "csrf_token": token})
    created = web.post("/keys", data={"csrf_token": token, "name": "script"})  # redirected to /keys, shown once
    key = re.search(r'id="new-key">([^<]+)<', created.text)
    assert key, "the new key is shown once on /keys"
    api = web.get("/api/v1/tracked", headers={"Authorization": f"Bearer {key.group(1)}"}).json()["items"][0]
    page = web.get("/track.json").json()["items"][0]
    for name in ("added_at", "next_poll_at", "published_at", "latest", "forecast_check"):
        assert page[name] == api[name], name
