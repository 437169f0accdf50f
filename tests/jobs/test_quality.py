"""Data-quality gates: planted drops, backwards counts, vanished fields, duplicates, metric breaks, stale niches and
a yt-dlp version change are flagged once; quarantined snapshots are left out of what training reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from miles.collect.files import read_file
from miles.config import Settings, get_settings
from miles.domain import utcnow
from miles.errors import InvalidInput
from miles.features.load import frame_from_db
from miles.jobs.quality import check_quality
from miles.serve.app import create_app
from miles.store.db import session_scope
from miles.store.repos import jobs as job_repo
from miles.store.repos.snapshots import ingest_frame
from miles.store.tables import JobRun, QualityFlag, VideoSnapshot

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def snap(video: str, hours: float, views: int, **kw: Any) -> dict[str, Any]:
    row = {"video_id": video, "platform": "youtube", "channel_id": "UCq", "title": f"clip {video}",
           "published_at": T0, "captured_at": T0 + timedelta(hours=hours), "views": views, "likes": 10,
           "comments": 2, "channel_subscribers": 1000, "source": "ytdlp", "view_metric": "views"}  # fmt: skip
    return {**row, **kw}


PLANTED = [
    *(snap("drop", h, v) for h, v in ((1, 100), (3, 250), (6, 0))),  # yt-dlp's 0-views breakage
    *(snap("back", h, v) for h, v in ((1, 500), (3, 400), (6, 600))),  # goes backwards once
    snap("vanish", 1, 50), snap("vanish", 3, 80, likes=None),  # likes vanish (views fine: not quarantined)
    snap("dup", 1, 10), snap("dup", 1.02, 11),  # captured twice within 5 minutes
    snap("metric", 1, 1000), snap("metric", 3, 300, view_metric="engaged_views"),
    snap("metric", 6, 400, view_metric="engaged_views"),
    *(snap("good", h, v) for h, v in ((1, 5), (3, 9), (6, 20))),
]  # fmt: skip
BROKEN_RUN = [snap(f"zero{i}", 30.2, 0, source="ytdlp:search") for i in range(5)]  # a whole batch at 0


def plant(settings: Settings, rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows)
    for col in ("published_at", "captured_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    for col in ("description", "tags", "category_id", "duration_s", "thumbnail_url", "country", "channel_title"):
        frame[col] = None
    frame["published_at_is_date_only"] = frame["captured_at_is_date_only"] = False
    with session_scope(settings) as s:
        ingest_frame(session=s, frame=frame)


def add_run(settings: Settings, version: str, started: datetime, by_target: dict[str, int]) -> None:
    with session_scope(settings) as s:
        run = job_repo.start_run(session=s, job="collect_niches", now=started)
        counts = {"ytdlp_version": version, "by_target": by_target}
        job_repo.finish_run(session=s, run_id=run.id, status="ok", counts=counts, now=started + timedelta(minutes=5))


def flags(settings: Settings) -> list[QualityFlag]:
    with session_scope(settings) as s:
        rows = list(s.query(QualityFlag).order_by(QualityFlag.id))
        s.expunge_all()
        return rows


def test_planted_problems_are_flagged_once_and_quarantined(db_settings: Settings) -> None:
    settings = db_settings.model_copy(update={"niches": ["pasta", "gadgets"], "quality_stale_h": 24.0})
    plant(settings, PLANTED + BROKEN_RUN)
    now = utcnow()
    add_run(settings, "2025.10.22", now - timedelta(hours=40), {"pasta": 4, "gadgets": 3})
    add_run(settings, "2026.03.17", now - timedelta(hours=2), {"pasta": 5, "gadgets": 0})
    report = check_quality(settings, now=now)
    assert report.found == {"backwards": 1, "dropped_to_zero": 1, "duplicate_capture": 1, "metric_change": 1,
                            "stale_niche": 1, "vanished_field": 1, "ytdlp_version": 1, "zero_views": 5}  # fmt: skip
    assert report.new_flags == 12 and report.checked_snapshots == len(PLANTED) + len(BROKEN_RUN)
    found = {(f.kind, f.video_id): f for f in flags(settings)}
    assert "views 0 after 250" in found["dropped_to_zero", "drop"].detail
    assert found["backwards", "back"].detail.startswith("views 400 after 500")
    assert not found["vanished_field", "vanish"].quarantined and found["metric_change", "metric"].quarantined
    stale = next(f for f in found.values() if f.kind == "stale_niche")
    assert "'gadgets'" in stale.detail  # pasta was found 2 h ago; gadgets listed nothing since 40 h ago
    version = next(f for f in found.values() if f.kind == "ytdlp_version")
    assert "2025.10.22" in version.detail and "2026.03.17" in version.detail
    again = check_quality(settings, now=now)
    assert again.new_flags == 0 and len(flags(settings)) == 12  # checking twice stores nothing twice

    training = frame_from_db(settings)  # what `miles train --db` and the retrain read
    kept = training.groupby("video_id")["views"].apply(list).to_dict()
    assert kept["drop"] == [100, 250] and kept["back"] == [500, 600] and kept["dup"] == [10]
    assert kept["metric"] == [1000]  # the engaged-views trajectory after the break never mixes in
    assert kept["vanish"] == [50, 80] and kept["good"] == [5, 9, 20]
    assert not any(v.startswith("zero") for v in kept)
    everything = frame_from_db(settings, clean=False)
    assert len(everything) == len(PLANTED) + len(BROKEN_RUN)  # quarantine never deletes raw data


def test_a_metric_change_without_a_quality_run_still_never_mixes(db_settings: Settings) -> None:
    plant(db_settings, [snap("m", 1, 10), snap("m", 2, 5, view_metric="engaged_views")])
    assert frame_from_db(db_settings)["views"].tolist() == [10]
    with session_scope(db_settings) as s:
        assert sorted(s.scalars(VideoSnapshot.__table__.select().with_only_columns(VideoSnapshot.view_metric))) == [
            "engaged_views",
            "views",
        ]


def test_import_reads_view_metric_and_rejects_a_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "snaps.csv"
    path.write_text(
        "video_id,title,published_at,captured_at,views,view_metric\n"
        "a,One,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,10,engaged_views\n"
        "b,Two,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,10,\n"
        "c,Three,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,10,Engaged Views!\n",
        encoding="utf-8",
    )
    result = read_file(path)
    assert result.frame["view_metric"].tolist() == ["engaged_views", "views"]
    assert [(r.row, r.reason) for r in result.rejected] == [
        ("line 4", "view_metric must be a lowercase name such as views or engaged_views")
    ]


def test_cli_api_and_page_list_the_findings(sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from miles.cli.main import app

    plant(sqlite_settings, PLANTED)
    monkeypatch.setenv("MILES_DATA_DIR", str(sqlite_settings.data_dir))
    monkeypatch.setenv("MILES_CACHE_DIR", str(sqlite_settings.cache_dir))
    monkeypatch.setenv("MILES_NICHES", "[]")
    monkeypatch.delenv("MILES_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["quality", "--json"], catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["new_flags"] == 5 and out["quarantined_snapshots"] == 4 and out["total"] == 5
    assert out["by_kind"]["backwards"] == 1 and out["flags"][0]["detail"]
    with pytest.raises(InvalidInput, match="--kind must be one of"):
        CliRunner().invoke(app, ["quality", "--kind", "nope"], catch_exceptions=False)

    with TestClient(create_app(sqlite_settings)) as client:
        api = client.get("/api/v1/quality", params={"kind": "backwards"}).json()
        assert api["total"] == 1 and api["items"][0]["video_id"] == "back" and api["quarantined_snapshots"] == 4
        assert client.get("/api/v1/quality", params={"kind": "nope"}).status_code == 422
        page = client.get("/quality")
        assert page.status_code == 200 and "views 400 after 500" in page.text and "4</strong> snapshots" in page.text
        assert client.get("/quality.json").json()["by_kind"] == out["by_kind"]


def test_collection_jobs_run_the_checks(sqlite_settings: Settings) -> None:
    from miles.jobs.tasks import with_quality

    plant(sqlite_settings, [snap("x", 1, 10, captured_at=utcnow() - timedelta(hours=1), published_at=utcnow()
                                 - timedelta(hours=3)), snap("x", 2, 4, captured_at=utcnow(),
                                                             published_at=utcnow() - timedelta(hours=3))])  # fmt: skip
    result = with_quality(sqlite_settings.model_copy(update={"niches": []}), {"job": "collect", "status": "ok"})
    assert result["quality"]["found"] == {"backwards": 1} and result["quality"]["new_flags"] == 1
    with session_scope(sqlite_settings) as s:
        assert s.query(JobRun).count() == 0


def test_views_a_user_typed_in_never_train_or_grade(db_settings: Settings) -> None:
    from miles.store.repos.grades import clean_snapshots_of
    from miles.store.repos.snapshots import MANUAL_SOURCE

    plant(db_settings, [snap("t", 1, 10), snap("t", 3, 30, source=MANUAL_SOURCE), snap("t", 6, 60)])
    assert frame_from_db(db_settings)["views"].tolist() == [10, 60]  # the Track page's typed 30 is unverified
    assert frame_from_db(db_settings, clean=False)["views"].tolist() == [10, 60]  # that user's alone: never read
    with session_scope(db_settings) as s:
        assert [x.views for x in clean_snapshots_of(session=s, video_ids=["t"])["t"]] == [10, 60]


def test_a_video_keeps_the_source_that_found_it(db_settings: Settings) -> None:
    plant(db_settings, [snap("f", 1, 10, source="ytdlp:search"), snap("f", 6, 60, source="ytdlp:poll"),
                        snap("g", 2, 5, source="ytdlp:poll")])  # fmt: skip
    clean = frame_from_db(db_settings)
    assert clean.groupby("video_id")["source"].apply(list).to_dict() == {
        "f": ["ytdlp:search", "ytdlp:search"], "g": ["ytdlp:poll"]
    }  # fmt: skip
    assert frame_from_db(db_settings, clean=False)["source"].tolist() == ["ytdlp:search", "ytdlp:poll", "ytdlp:poll"]


def test_a_capture_before_a_moved_publish_time_is_listed(db_settings: Settings) -> None:
    """A premiere moved: the store keeps the latest publish time, and the first capture now lies before it. `miles
    export` left it out and said so while `miles quality` listed nothing."""
    plant(db_settings, [snap("moved", 1, 40), snap("moved", 3, 90)])
    plant(db_settings, [snap("moved", 6, 300, published_at=T0 + timedelta(hours=2))])
    report = check_quality(db_settings)
    assert report.found.get("before_publish") == 1, report.found
    flag = next(f for f in flags(db_settings) if f.kind == "before_publish")
    assert not flag.quarantined and flag.video_id == "moved"
    assert "2026-11-01 13:00" in flag.detail and "before the publish time stored now (2026-11-01 14:00" in flag.detail
