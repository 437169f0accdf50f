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


def test_the_worker_scores_with_the_promoted_model(sqlite_settings: Settings, tmp_path: Path) -> None:
    """`miles model promote` decides what the worker scores with, as it does for the API and the CLI."""
    import json
    import shutil

    from miles.features.schema import FEATURE_VERSION
    from miles.model.predict import packaged_default_dir
    from miles.store.repos.models import promote_model, register_model

    promoted = tmp_path / "promoted"
    shutil.copytree(packaged_default_dir(), promoted)
    bundle = json.loads((promoted / "bundle.json").read_text())
    (promoted / "bundle.json").write_text(json.dumps({**bundle, "version": "bundle-promoted-test"}))
    with session_scope(sqlite_settings) as session:
        register_model(session=session, version="bundle-promoted-test", task="both", path=str(promoted),
                       feature_version=FEATURE_VERSION, metrics={})  # fmt: skip
        promote_model(session=session, version="bundle-promoted-test")
    import_paths([FIXTURES / "snapshots_small.csv"], settings=sqlite_settings)
    result = score_new_videos(settings=sqlite_settings)
    assert result["model_version"] == "bundle-promoted-test" and result["scored"] == 3
    with session_scope(sqlite_settings) as session:
        assert {r.model_version for r in session.scalars(select(PredictionRecord))} == {"bundle-promoted-test"}


def test_the_worker_scores_with_the_channels_record_as_serving_does(sqlite_settings: Settings) -> None:
    """vid00000002 is UCchanA's second upload: scored with the first as its channel history (as of its publish
    time); the first upload has no earlier one, so none."""
    import_paths([FIXTURES / "snapshots_small.csv"], settings=sqlite_settings)
    assert score_new_videos(settings=sqlite_settings)["scored"] == 3
    with session_scope(sqlite_settings) as session:
        by_video = {r.video_id: r.outputs for r in session.scalars(select(PredictionRecord))}
    second = by_video["vid00000002"]
    assert second["channel_history"]["channel_id"] == "UCchanA" and second["channel_history"]["uploads"] == 1
    assert "channel_history" in second["inputs_used"]
    assert by_video["vid00000001"]["channel_history"] is None and by_video["vid00000003"]["channel_history"] is None


def test_a_video_known_past_every_horizon_is_not_scored(db_settings: Settings) -> None:
    """A stored video whose views were read 40 days after publishing has nothing left to forecast: the scorer skips
    it (a forecast from its metadata alone could lie below the views seen), pages past it (BATCH of them would
    otherwise come back forever) and still scores the others."""
    from datetime import timedelta

    from tests.jobs.test_quality import T0, plant, snap

    from miles.jobs import score as score_job

    old = [snap(f"old{k}", 40 * 24, 5_000 + k) for k in range(3)]
    plant(db_settings, [*old, snap("fresh", 1, 40), snap("fresh", 3, 90)])
    score_job.BATCH, batch = 2, score_job.BATCH  # pages of 2: the skipped videos fill whole pages
    try:
        result = score_new_videos(settings=db_settings, now=T0 + timedelta(hours=5))
    finally:
        score_job.BATCH = batch
    assert (result["scored"], result["skipped"]) == (1, 3)
    with session_scope(db_settings) as session:
        assert [r.video_id for r in session.scalars(select(PredictionRecord))] == ["fresh"]
