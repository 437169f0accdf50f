"""Import: validation, idempotency, round-trip and dev datasets, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from miles.config import Settings
from miles.errors import InvalidInput
from miles.jobs.export import export_snapshots
from miles.jobs.ingest import import_paths
from miles.store.db import session_scope
from miles.store.repos.snapshots import load_snapshot_frame
from miles.store.repos.stats import table_counts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SMALL = FIXTURES / "snapshots_small.csv"
CORE_TABLES = ("channels", "videos", "video_snapshots", "channel_snapshots")


def counts(settings: Settings) -> dict[str, int]:
    with session_scope(settings) as session:
        all_counts = table_counts(session=session)
    return {t: all_counts[t] for t in CORE_TABLES}


def test_import_small_file(db_settings: Settings) -> None:
    summary = import_paths([SMALL], settings=db_settings)
    assert summary.rows_read == 4
    assert summary.counts.videos_new == 3
    assert summary.counts.snapshots_added == 4
    assert counts(db_settings) == {"channels": 2, "videos": 3, "video_snapshots": 4, "channel_snapshots": 4}
    with session_scope(db_settings) as session:
        frame = load_snapshot_frame(session=session)
    row = frame[frame.video_id == "vid00000003"].iloc[0]
    assert row.published_at == pd.Timestamp("2026-01-05T07:00:00Z")  # +01:00 offset converted to UTC
    assert row.tags == "tech"


def test_import_is_idempotent(db_settings: Settings) -> None:
    import_paths([SMALL], settings=db_settings)
    before = counts(db_settings)
    again = import_paths([SMALL], settings=db_settings)
    assert (again.counts.videos_new, again.counts.videos_updated, again.counts.snapshots_added) == (0, 0, 0)
    assert counts(db_settings) == before


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_round_trip(db_settings: Settings, tmp_path: Path, suffix: str) -> None:
    import_paths([SMALL], settings=db_settings)
    out = tmp_path / f"export{suffix}"
    assert export_snapshots(out, settings=db_settings).written == 4
    again = import_paths([out], settings=db_settings)
    assert again.counts.snapshots_added == 0 and again.counts.videos_updated == 0
    with session_scope(db_settings) as session:
        stored = load_snapshot_frame(session=session)
    exported = pd.read_parquet(out) if suffix == ".parquet" else None
    if exported is not None:
        assert list(exported.video_id) == list(stored.video_id)
        assert list(exported.views) == list(stored.views)


def test_a_text_with_line_breaks_round_trips_through_csv(db_settings: Settings, tmp_path: Path) -> None:
    """A description holding a bare carriage return (YouTube's own line breaks) was written unquoted and the
    exported file no longer imported."""
    source = tmp_path / "breaks.parquet"
    frame = pd.read_csv(SMALL)
    texts = ["shop.example/\r\rSUBSCRIBE", "one\ntwo", 'say "hi", then go']  # one per video
    frame["description"] = frame["video_id"].map(dict(zip(frame["video_id"].unique(), texts, strict=True)))
    frame.to_parquet(source, index=False)
    import_paths([source], settings=db_settings)
    out = tmp_path / "export.csv"
    export_snapshots(out, settings=db_settings)
    again = import_paths([out], settings=db_settings)  # every row read back as stored: nothing new, nothing refused
    assert (again.rows_read, again.counts.snapshots_added, again.counts.videos_updated) == (4, 0, 0)
    with session_scope(db_settings) as session:
        stored = load_snapshot_frame(session=session)
    assert sorted(set(stored["description"])) == sorted(texts)


def test_an_export_leaves_out_readings_before_a_moved_publish_time(db_settings: Settings, tmp_path: Path) -> None:
    """A premiere's publish time moved between readings: the store keeps the latest, so its first reading lies before
    it, and the exported file was refused whole on import ("captured_at before published_at")."""
    moved = tmp_path / "moved.csv"
    moved.write_text(
        "video_id,title,published_at,captured_at,views\n"
        "moved000001,Premiere,2026-01-01T00:00:00Z,2026-01-01T05:00:00Z,0\n"
        "moved000001,Premiere,2026-01-03T00:00:00Z,2026-01-04T00:00:00Z,100\n"
    )
    import_paths([moved], settings=db_settings)
    out = tmp_path / "export.csv"
    done = export_snapshots(out, settings=db_settings)
    assert (done.written, done.before_publish) == (1, 1)
    again = import_paths([out], settings=db_settings)  # it imports: nothing refused, nothing new
    assert (again.rows_read, again.counts.snapshots_added) == (1, 0)


def _write(tmp_path: Path, text: str | bytes, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


HEADER = "video_id,title,published_at,captured_at,views\n"
GOOD = "good0000001,Fine title,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,10\n"
BAD_ROWS = {
    "unparseable timestamp in column published_at": "bad00000001,T,not-a-date,2026-01-02T00:00:00Z,5\n",
    "captured_at before published_at": "bad00000001,T,2026-01-03T00:00:00Z,2026-01-02T00:00:00Z,5\n",
    "negative views": "bad00000001,T,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,-5\n",
    "title longer than 1000 characters": f"bad00000001,{'x' * 1001},2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,5\n",
    "missing required value in column views": "bad00000001,T,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,\n",
}


@pytest.mark.parametrize("reason", list(BAD_ROWS))
def test_bad_row_rejects_whole_file(db_settings: Settings, tmp_path: Path, reason: str) -> None:
    path = _write(tmp_path, HEADER + GOOD + BAD_ROWS[reason])
    with pytest.raises(InvalidInput) as err:
        import_paths([path], settings=db_settings)
    assert str(path) in err.value.message and "line 3" in err.value.message and reason in err.value.message
    assert counts(db_settings)["video_snapshots"] == 0
    summary = import_paths([path], settings=db_settings, skip_invalid=True)
    assert summary.counts.snapshots_added == 1 and summary.rejected == {reason: 1}


def test_non_utf8_text_is_named(db_settings: Settings, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEADER.encode() + GOOD.encode() + b"bad00000002,caf\xe9 latin-1,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,5\n",
    )
    with pytest.raises(InvalidInput, match=r"line 3: title is not valid UTF-8"):
        import_paths([path], settings=db_settings)
    assert counts(db_settings)["videos"] == 0


def test_missing_required_column(db_settings: Settings, tmp_path: Path) -> None:
    path = _write(tmp_path, "video_id,title,published_at,views\nabc,T,2026-01-01T00:00:00Z,5\n")
    with pytest.raises(InvalidInput, match=r"missing required column.*captured_at"):
        import_paths([path], settings=db_settings)


def test_dry_run_writes_nothing(db_settings: Settings) -> None:
    summary = import_paths([SMALL], settings=db_settings, dry_run=True)
    assert summary.rows_read == 4
    assert counts(db_settings)["video_snapshots"] == 0


def test_older_file_does_not_overwrite_newer_metadata(db_settings: Settings, tmp_path: Path) -> None:
    newer = _write(tmp_path, HEADER + "v0000000001,New title,2026-01-01T00:00:00Z,2026-01-05T00:00:00Z,50\n", "n.csv")
    older = _write(tmp_path, HEADER + "v0000000001,Old title,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,10\n", "o.csv")
    import_paths([newer], settings=db_settings)
    summary = import_paths([older], settings=db_settings)
    assert summary.counts.snapshots_added == 1 and summary.counts.videos_updated == 0
    with session_scope(db_settings) as session:
        frame = load_snapshot_frame(session=session)
    assert set(frame.title) == {"New title"}


DEV_FILES = [
    "fedelux3_trending_intraday_2019_2020/trending_snapshots.parquet",
    "jp_keyword_search_2025/videos_complete_6062.parquet",
    "jp_keyword_search_2025/videos_jp_bimonthly_767.parquet",
    "mftn_tech_channels_2026/recent_uploads_snapshots.parquet",
]


@pytest.mark.parametrize("rel", DEV_FILES)
def test_dev_dataset_sample_imports(db_settings: Settings, shared_data: Path, tmp_path: Path, rel: str) -> None:
    sample = pd.read_parquet(shared_data / rel).head(400)
    path = tmp_path / Path(rel).name  # keep the name: the jp reader dates captures by file
    sample.to_parquet(path)
    summary = import_paths([path], settings=db_settings)
    assert summary.rows_read == 400 and not summary.rejected
    got = counts(db_settings)
    assert got["video_snapshots"] == summary.counts.snapshots_added > 0
    with session_scope(db_settings) as session:
        frame = load_snapshot_frame(session=session)
    assert (frame.captured_at >= frame.published_at).all()
    assert (frame.views >= 0).all()


def test_demo_data_imports_once(db_settings: Settings) -> None:
    from miles.jobs.ingest import import_demo_data

    first = import_demo_data(settings=db_settings)
    assert first is not None and first.counts.videos_new > 500 and not first.rejected
    assert import_demo_data(settings=db_settings) is None  # only into an empty database
    forced = import_demo_data(settings=db_settings, only_if_empty=False)
    assert forced is not None and forced.counts.snapshots_added == 0
