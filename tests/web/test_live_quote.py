"""The Score page quotes the model's live accuracy beside the offline figure once 50 videos are graded."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.web.conftest import csrf

from miles.config import Settings
from miles.domain import utcnow
from miles.store.db import session_scope
from miles.store.repos import grades, predictions


def grade_videos(settings: Settings, version: str, n: int, start: int = 0) -> None:
    """``n`` graded predictions of ``version``: off by a factor 2 (0.301 log10), inside the range every other time."""
    with session_scope(settings) as s:
        for i in range(start, start + n):
            record = predictions.record_prediction(session=s, user_id=None, model_version=version, inputs={"i": i},
                                                   outputs={}, video_id=f"v{i}")  # fmt: skip
            grades.add_grades(session=s, grades=[{
                "prediction_id": record.id, "model_version": version, "video_id": f"v{i}", "horizon_h": 24.0,
                "age_h": 24.0, "actual_views": 999, "p10": 1000.0 if i % 2 else 10.0, "p50": 1999.0, "p90": 3000.0,
                "error_log10": 0.30103, "inside": not i % 2, "channel_subscribers": 5000, "graded_at": utcnow(),
            }])  # fmt: skip


def score(web: TestClient) -> dict:  # type: ignore[type-arg]
    response = web.post("/score.json", data={"title": "Sourdough in 60 seconds"}, headers={"X-CSRF-Token": csrf(web)})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_live_accuracy_is_quoted_from_50_graded_videos(web: TestClient, web_settings: Settings) -> None:
    version = web.get("/model.json").json()["version"]
    grade_videos(web_settings, version, 49)
    assert score(web)["live"] is None  # 49 videos: too few to quote
    grade_videos(web_settings, "some-older-version", 10, start=100)  # another version's grades never count
    assert score(web)["live"] is None
    grade_videos(web_settings, version, 1, start=49)
    live = score(web)["live"]
    assert live["videos"] == 50 and abs(live["mae_log10"] - 0.30103) < 1e-4 and live["coverage_p10_p90"] == 0.5
    page = web.post("/score", data={"title": "Sourdough in 60 seconds", "csrf_token": csrf(web)},
                    headers={"HX-Request": "true"})  # fmt: skip
    assert "And live:" in page.text and "50 videos" in page.text and "×2.0" in page.text and "50&nbsp;%" in page.text
