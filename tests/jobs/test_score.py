"""Newly collected videos are scored once per model version with the real default model."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from miles.config import Settings
from miles.jobs.ingest import import_paths
from miles.jobs.score import score_new_videos
from miles.store.db import session_scope
from miles.store.tables import PredictionRecord

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_new_videos_are_scored_once(sqlite_settings: Settings) -> None:
    import_paths([FIXTURES / "snapshots_small.csv"], settings=sqlite_settings)
    first = score_new_videos(settings=sqlite_settings)
    assert first["scored"] == 3
    with session_scope(sqlite_settings) as session:
        rows = session.scalars(select(PredictionRecord)).all()
        assert {r.video_id for r in rows} == {"vid00000001", "vid00000002", "vid00000003"}
        by_video = {r.video_id: r for r in rows}
        # vid00000001 has snapshots at 1 h and 24 h: scored in early mode from them
        assert by_video["vid00000001"].outputs["mode"] == "early"
        assert all(r.model_version == first["model_version"] and r.outputs["horizons"] for r in rows)
    assert score_new_videos(settings=sqlite_settings)["scored"] == 0
