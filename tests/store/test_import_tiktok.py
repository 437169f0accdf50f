"""TikTok data in and out: yt-dlp .info.json files and snapshot files with platform = tiktok (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from miles.config import Settings
from miles.errors import InvalidInput
from miles.jobs.export import export_snapshots
from miles.jobs.ingest import import_paths
from miles.store.db import session_scope
from miles.store.repos.snapshots import load_snapshot_frame
from miles.store.tables import Channel, ChannelSnapshot, Video

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
INFO = FIXTURES / "ytdlp" / "tiktok_video_7451234567890123456.json"
SMALL = FIXTURES / "snapshots_small.csv"

TIKTOK_CSV = (FIXTURES / "tiktok_snapshots.csv").read_text(encoding="utf-8")  # followers as channel_followers


def test_tiktok_info_json_imports_as_tiktok(db_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "7451234567890123456.info.json"
    shutil.copy(INFO, path)
    summary = import_paths([path], settings=db_settings)
    assert (summary.counts.videos_new, summary.counts.snapshots_added) == (1, 1)
    with session_scope(db_settings) as s:
        video = s.get(Video, "7451234567890123456")
        assert video is not None and video.platform == "tiktok" and video.source == "ytdlp"
        assert video.channel_id == "7012345678901234567" and "pastatok" in video.tags
        channel = s.get(Channel, "7012345678901234567")
        assert channel is not None and (channel.platform, channel.title) == ("tiktok", "chefmiles.tt")


def test_tiktok_snapshot_file_stores_followers_as_channel_size_and_exports_by_platform(
    db_settings: Settings, tmp_path: Path
) -> None:
    csv = tmp_path / "tiktok.csv"
    csv.write_text(TIKTOK_CSV, encoding="utf-8")
    summary = import_paths([SMALL, csv], settings=db_settings)
    assert summary.counts.snapshots_added == 4 + 3
    with session_scope(db_settings) as s:
        sizes = sorted(
            s.scalars(select(ChannelSnapshot.subscribers).where(ChannelSnapshot.channel_id == "6900000000000000001"))
        )
        assert sizes == [25_000, 25_100, 25_600]
        assert {v.platform for v in s.scalars(select(Video).where(Video.id.like("746%")))} == {"tiktok"}
        youtube = load_snapshot_frame(session=s, platform="youtube")
    assert len(youtube) == 4 and set(youtube["platform"]) == {"youtube"}
    out = tmp_path / "tiktok.parquet"
    assert export_snapshots(out, settings=db_settings, platform="tiktok").written == 3
    exported = pd.read_parquet(out)
    assert set(exported["platform"]) == {"tiktok"}
    assert exported["channel_subscribers"].tolist() == [25_000, 25_100, 25_600]
    # the export imports again unchanged (idempotent round trip)
    again = import_paths([out], settings=db_settings)
    assert (again.counts.snapshots_added, again.counts.videos_new) == (0, 0)


def test_unknown_platform_names_file_row_and_choices(db_settings: Settings, tmp_path: Path) -> None:
    csv = tmp_path / "vimeo.csv"
    csv.write_text(TIKTOK_CSV.replace("7460000000000000002,tiktok", "7460000000000000002,vimeo"), encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"vimeo\.csv, line 4: platform must be one of youtube, tiktok"):
        import_paths([csv], settings=db_settings)
    with session_scope(db_settings) as s:
        assert s.scalars(select(Video)).all() == []  # nothing of the file was stored


def test_jsonl_of_tiktok_info_dicts(db_settings: Settings, tmp_path: Path) -> None:
    info = json.loads(INFO.read_text(encoding="utf-8"))
    second = {**info, "id": "7451234567890123499", "view_count": 10}
    path = tmp_path / "tiktok.info.json"
    path.write_text("\n".join(json.dumps(i) for i in (info, second)), encoding="utf-8")
    assert import_paths([path], settings=db_settings).counts.videos_new == 2
    with session_scope(db_settings) as s:
        assert load_snapshot_frame(session=s, platform="tiktok")["video_id"].tolist() == [
            "7451234567890123456",
            "7451234567890123499",
        ]
