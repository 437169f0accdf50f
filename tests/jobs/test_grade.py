"""The learning loop's first half: predictions stored by `score_new` (the real default model) are graded as the views
arrive; quarantined captures never grade; the model card and `GET /api/v1/model` show the live section."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.jobs.test_quality import plant, snap

from miles.config import Settings
from miles.domain import utcnow
from miles.jobs.quality import check_quality
from miles.jobs.score import score_new_videos
from miles.jobs.worker import run_once
from miles.serve.app import create_app
from miles.store.db import session_scope
from miles.store.tables import PredictionGrade, PredictionRecord


def ages(video: str, published: datetime, points: list[tuple[float, int]], **kw: object) -> list[dict[str, object]]:
    return [snap(video, 0, v, published_at=published, captured_at=published + timedelta(hours=h), **kw)
            for h, v in points]  # fmt: skip


def test_stored_predictions_are_graded_as_views_arrive(db_settings: Settings) -> None:
    settings = db_settings.model_copy(update={"niches": []})
    now = utcnow().replace(microsecond=0)
    published = now - timedelta(hours=30)
    plant(settings, ages("g1", published, [(0.5, 40)], channel_subscribers=5000)
          + ages("g2", published, [(0.5, 900)], channel_subscribers=2_000_000))  # fmt: skip
    scored = score_new_videos(settings=settings)
    assert scored["scored"] == 2
    with session_scope(settings) as s:  # as if the worker had scored them at 40 minutes old
        for record in s.scalars(select(PredictionRecord)):
            record.created_at = published + timedelta(minutes=40)
    plant(settings, ages("g1", published, [(1.1, 90), (6.3, 400), (25.0, 1500)], channel_subscribers=5000)
          + ages("g2", published, [(1.0, 2000), (5.5, 9000), (24.2, 100)], channel_subscribers=2_000_000))  # fmt: skip
    check_quality(settings)  # g2's 24 h capture went backwards (9,000 -> 100): quarantined, so never graded

    result = run_once(settings, names=["grade"])["grade"]  # what `miles worker --once --job grade` runs
    assert result["status"] == "ok" and result["checked"] == 2 and result["graded"] == 3, result
    with session_scope(settings) as s:
        grades = list(s.scalars(select(PredictionGrade).order_by(PredictionGrade.video_id, PredictionGrade.horizon_h)))
        outputs = {r.video_id: r.outputs for r in s.scalars(select(PredictionRecord))}
        s.expunge_all()
    # early-mode forecasts from the 30-minute capture start at 6 h, so the 1 h captures grade nothing
    assert [(g.video_id, g.horizon_h, g.actual_views) for g in grades] == [
        ("g1", 6.0, 400), ("g1", 24.0, 1500), ("g2", 6.0, 9000)
    ]  # fmt: skip
    for g in grades:
        h = next(h for h in outputs[g.video_id]["horizons"] if h["horizon_h"] == g.horizon_h)
        assert g.model_version == scored["model_version"]
        assert math.isclose(g.error_log10, math.log10(h["p50"] + 1) - math.log10(g.actual_views + 1))
        assert g.inside == (h["p10"] <= g.actual_views <= h["p90"])
    assert run_once(settings, names=["grade"])["grade"]["graded"] == 0  # each horizon is graded once

    mae = sum(abs(g.error_log10) for g in grades) / len(grades)
    coverage = sum(g.inside for g in grades) / len(grades)
    with TestClient(create_app(settings)) as client:
        live = client.get("/api/v1/model").json()["live"]
        page = client.get("/model")
    assert live["model_version"] == scored["model_version"]
    assert (live["videos"], live["grades"]) == (2, 3)
    assert math.isclose(live["mae_log10"], mae, abs_tol=1e-4)
    assert math.isclose(live["coverage_p10_p90"], coverage, abs_tol=1e-4)
    assert [(r["horizon_h"], r["grades"]) for r in live["by_horizon"]] == [(6.0, 2), (24.0, 1)]
    assert [(r["band"], r["videos"]) for r in live["by_channel_size"]] == [("1k–10k", 1), ("≥ 1M", 1)]
    assert page.status_code == 200 and "Live accuracy" in page.text and f"{mae:.2f}" in page.text


def _late_draft(settings: Settings, published: datetime, scored_after: timedelta) -> None:
    """A draft scored ``scored_after`` the video went out, linked to it (as `POST /predictions/{id}/link` stores it)."""
    horizons = [{"horizon_h": h, "p10": 10.0, "p50": 50.0, "p90": 200.0} for h in (1.0, 6.0, 24.0)]
    with session_scope(settings) as s:
        s.add(PredictionRecord(model_version="test-version", inputs_hash="h", inputs={"title": "late"},
                               outputs={"prediction": {"horizons": horizons}}, video_id="late1",
                               created_at=published + scored_after))  # fmt: skip


def test_a_horizon_already_past_when_the_draft_was_scored_is_never_graded(db_settings: Settings) -> None:
    """A draft scored an hour after its video went out: its own note says only 6 h and later can be graded, and a
    capture a minute after scoring (1.02 h, inside the 1 h tolerance) graded its 1 h forecast, which then counted in
    the model card's live accuracy."""
    settings = db_settings.model_copy(update={"niches": []})
    published = utcnow().replace(microsecond=0) - timedelta(hours=8)
    plant(settings, ages("late1", published, [(0.5, 30)]))
    _late_draft(settings, published, timedelta(hours=1))
    plant(settings, ages("late1", published, [(1.02, 60), (6.1, 300)]))
    assert run_once(settings, names=["grade"])["grade"]["graded"] == 1
    with session_scope(settings) as s:
        assert [(g.horizon_h, g.actual_views) for g in s.scalars(select(PredictionGrade))] == [(6.0, 300)]


def test_migration_0011_removes_grades_of_horizons_past_when_scored(db_settings: Settings) -> None:
    """Grades the job made before it knew better are removed on upgrade; a horizon still ahead keeps its grade."""
    from miles.store import migrate

    settings = db_settings.model_copy(update={"niches": []})
    published = utcnow().replace(microsecond=0) - timedelta(hours=8)
    plant(settings, ages("late1", published, [(0.5, 30)]))
    _late_draft(settings, published, timedelta(hours=1))
    migrate.downgrade(settings, "0010")
    with session_scope(settings) as s:
        pid = s.scalars(select(PredictionRecord.id)).one()
        for horizon, age, views in ((1.0, 1.02, 60), (6.0, 6.1, 300)):
            s.add(PredictionGrade(prediction_id=pid, model_version="test-version", video_id="late1", horizon_h=horizon,
                                  age_h=age, actual_views=views, p10=10, p50=50, p90=200, error_log10=0.0, inside=True,
                                  graded_at=utcnow()))  # fmt: skip
    migrate.upgrade(settings)
    with session_scope(settings) as s:
        assert [g.horizon_h for g in s.scalars(select(PredictionGrade))] == [6.0]
