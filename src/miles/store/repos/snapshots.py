"""Ingest and read snapshots: upsert channels and videos, append snapshots (idempotent)."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from miles.domain import SNAPSHOT_COLUMNS, utcnow
from miles.store.tables import Channel, ChannelSnapshot, QualityFlag, Video, VideoSnapshot

MANUAL_SOURCE = "web-entry"  # snapshots typed in by a user (kept apart from collected ones by their source)

CHUNK = 2000
# Video columns refreshed from the latest snapshot of a video; a change counts the video as updated.
VIDEO_FIELDS = (
    "platform",
    "channel_id",
    "title",
    "description",
    "tags",
    "category_id",
    "duration_s",
    "published_at",
    "published_at_is_date_only",
    "thumbnail_url",
    "country",
    "source",
)


@dataclass
class IngestCounts:
    videos_new: int = 0
    videos_updated: int = 0
    snapshots_added: int = 0
    channels_new: int = 0

    def add(self, other: IngestCounts) -> None:
        self.videos_new += other.videos_new
        self.videos_updated += other.videos_updated
        self.snapshots_added += other.snapshots_added
        self.channels_new += other.channels_new


def _trace(phase: str) -> None:
    """Announce a write phase on stderr when MILES_IMPORT_TRACE is set (the kill-mid-import test uses it)."""
    if os.environ.get("MILES_IMPORT_TRACE"):
        print(phase, file=sys.stderr, flush=True)


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _clean(value: Any) -> Any:
    """pandas NA/NaN/NaT -> None; numpy scalars -> Python; Timestamps -> datetime."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


def _records(frame: pd.DataFrame, columns: Iterable[str]) -> list[dict[str, Any]]:
    cols = list(columns)
    return [
        {c: _clean(v) for c, v in zip(cols, row, strict=True)} for row in frame[cols].itertuples(index=False, name=None)
    ]


def _tags_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [t for t in str(value).split("|") if t]


def ingest_frame(*, session: Session, frame: pd.DataFrame) -> IngestCounts:
    """Upsert channels and videos and append snapshots from an interchange-format frame.

    Runs inside the caller's transaction, so a failure or kill leaves nothing half-written.
    """
    counts = IngestCounts()
    if frame.empty:
        return counts
    frame = frame.sort_values("captured_at", kind="stable")
    counts.channels_new = _upsert_channels(session, frame)
    counts.videos_new, counts.videos_updated = _upsert_videos(session, frame)
    _trace("writing snapshots")
    counts.snapshots_added = _append_snapshots(session, frame)
    _append_channel_snapshots(session, frame)
    return counts


def _upsert_channels(session: Session, frame: pd.DataFrame) -> int:
    chans = frame.dropna(subset=["channel_id"]).drop_duplicates("channel_id", keep="last")
    if chans.empty:
        return 0
    rows = _records(chans, ["channel_id", "platform", "channel_title", "country"])
    ids = [r["channel_id"] for r in rows]
    existing: dict[str, tuple[Any, Any]] = {}
    for part in _chunks(ids):
        for cid, title, country in session.execute(
            select(Channel.id, Channel.title, Channel.country).where(Channel.id.in_(part))
        ):
            existing[cid] = (title, country)
    now = utcnow()
    new = [
        {
            "id": r["channel_id"],
            "platform": r["platform"],
            "title": r["channel_title"],
            "country": r["country"],
            "created_at": now,
            "updated_at": now,
        }
        for r in rows
        if r["channel_id"] not in existing
    ]
    changed = [
        {
            "id": r["channel_id"],
            "title": r["channel_title"] or existing[r["channel_id"]][0],
            "country": r["country"] or existing[r["channel_id"]][1],
            "updated_at": now,
        }
        for r in rows
        if r["channel_id"] in existing
        and (r["channel_title"] or existing[r["channel_id"]][0], r["country"] or existing[r["channel_id"]][1])
        != existing[r["channel_id"]]
    ]
    for part in _chunks(new):
        session.execute(_insert(session, Channel).on_conflict_do_nothing(index_elements=["id"]), list(part))
    if changed:
        session.execute(update(Channel), changed)
    return len(new)


def _video_row(r: dict[str, Any]) -> dict[str, Any]:
    row = {f: r[f] for f in VIDEO_FIELDS}
    row["id"] = r["video_id"]
    row["tags"] = _tags_list(r["tags"])
    row["published_at_is_date_only"] = bool(r["published_at_is_date_only"])
    return row


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return abs((a - b).total_seconds()) < 1e-3
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) < 1e-9
    return bool(a == b)


def _upsert_videos(session: Session, frame: pd.DataFrame) -> tuple[int, int]:
    latest = frame.drop_duplicates("video_id", keep="last")
    records = _records(latest, ["video_id", "captured_at", *VIDEO_FIELDS])
    rows = [{**_video_row(r), "meta_captured_at": r["captured_at"]} for r in records]
    existing: dict[str, dict[str, Any]] = {}
    cols = [getattr(Video, f) for f in (*VIDEO_FIELDS, "meta_captured_at")]
    for part in _chunks([r["id"] for r in rows]):
        for rec in session.execute(select(Video.id, *cols).where(Video.id.in_(part))):
            existing[rec[0]] = dict(zip((*VIDEO_FIELDS, "meta_captured_at"), rec[1:], strict=True))
    now = utcnow()
    new, changed = [], []
    for row in rows:
        old = existing.get(row["id"])
        if old is None:
            new.append({**row, "created_at": now, "updated_at": now})
            continue
        if row.get("source") == MANUAL_SOURCE:  # a count a user typed never changes a video Miles knows (its source
            continue  # became web-entry: the video left every public list)
        newer = old["meta_captured_at"] is None or row["meta_captured_at"] >= old["meta_captured_at"]
        # Newer metadata wins field by field; older metadata only fills gaps.
        first, second = (row, old) if newer else (old, row)
        merged = {f: (first[f] if first[f] not in (None, []) else second[f]) for f in VIDEO_FIELDS}
        if not all(_same(merged[f], old[f]) for f in VIDEO_FIELDS):
            stamp = row["meta_captured_at"] if newer else old["meta_captured_at"]
            changed.append({"id": row["id"], **merged, "meta_captured_at": stamp, "updated_at": now})
    for part in _chunks(new):
        session.execute(_insert(session, Video).on_conflict_do_nothing(index_elements=["id"]), list(part))
    for part in _chunks(changed):
        session.execute(update(Video), list(part))
    return len(new), len(changed)


SNAP_FIELDS = (
    "video_id",
    "captured_at",
    "captured_at_is_date_only",
    "views",
    "likes",
    "comments",
    "channel_subscribers",
    "country",
    "source",
)


def _append_snapshots(session: Session, frame: pd.DataFrame) -> int:
    extra = [c for c in ("view_metric", "entered_by") if c in frame.columns]  # entered_by: a typed count's user
    rows = _records(frame, (*SNAP_FIELDS, *extra))
    for r in rows:
        r["captured_at_is_date_only"] = bool(r["captured_at_is_date_only"])
        r["view_metric"] = r.get("view_metric") or "views"
    added = 0
    stmt = _insert(session, VideoSnapshot).on_conflict_do_nothing(index_elements=["video_id", "captured_at"])
    for part in _chunks(rows):
        added += len(session.execute(stmt.returning(VideoSnapshot.id), list(part)).all())
    return added


def _append_channel_snapshots(session: Session, frame: pd.DataFrame) -> None:
    subs = frame.dropna(subset=["channel_id", "channel_subscribers"])
    if subs.empty:
        return
    subs = subs.drop_duplicates(["channel_id", "captured_at"], keep="last")
    rows = [
        {"channel_id": r["channel_id"], "captured_at": r["captured_at"], "subscribers": r["channel_subscribers"]}
        for r in _records(subs, ["channel_id", "captured_at", "channel_subscribers"])
    ]
    stmt = _insert(session, ChannelSnapshot).on_conflict_do_nothing(index_elements=["channel_id", "captured_at"])
    for part in _chunks(rows):
        session.execute(stmt, list(part))


# --- reading ---------------------------------------------------------------------------------------


def snapshot_query() -> Select[Any]:
    return (
        select(
            VideoSnapshot.video_id,
            Video.platform,
            Video.channel_id,
            Channel.title.label("channel_title"),
            Video.title,
            Video.description,
            Video.tags,
            Video.category_id,
            Video.duration_s,
            Video.published_at,
            VideoSnapshot.captured_at,
            VideoSnapshot.views,
            VideoSnapshot.likes,
            VideoSnapshot.comments,
            VideoSnapshot.channel_subscribers,
            Video.thumbnail_url,
            func.coalesce(VideoSnapshot.country, Video.country).label("country"),
            func.coalesce(VideoSnapshot.source, Video.source).label("source"),
            Video.published_at_is_date_only,
            VideoSnapshot.captured_at_is_date_only,
        )
        .join(Video, Video.id == VideoSnapshot.video_id)
        .outerjoin(Channel, Channel.id == Video.channel_id)
        .order_by(VideoSnapshot.video_id, VideoSnapshot.captured_at)
    )


def load_snapshot_frame(
    *,
    session: Session,
    sources: Sequence[str] | None = None,
    captured_before: datetime | None = None,
    platform: str | None = None,
    clean: bool = False,
) -> pd.DataFrame:
    """All snapshots Miles collected or imported (of one platform, when given) joined with video metadata, in the
    interchange format. Counts a user typed in (``web-entry``) are never among them: they are that user's alone
    (unverified; they serve that user's own forecast only), and an export carried them, title and all, into another
    store as public rows.

    ``clean`` (what training reads) also leaves out quarantined snapshots and, per video, every snapshot whose view
    metric differs from the video's first one, so that no trajectory mixes two kinds of count; and gives every row of
    a video the source of its first capture."""
    stmt = snapshot_query().where(collected())
    if platform is not None:
        stmt = stmt.where(Video.platform == platform)
    if sources:
        stmt = stmt.where(func.coalesce(VideoSnapshot.source, Video.source).in_(list(sources)))
    if captured_before is not None:
        stmt = stmt.where(VideoSnapshot.captured_at <= captured_before)
    if not clean:
        return rows_to_frame(session.connection().execute(stmt).fetchall())
    stmt = stmt.add_columns(VideoSnapshot.view_metric).where(VideoSnapshot.id.not_in(quarantined_ids()))
    rows = session.connection().execute(stmt).fetchall()
    frame = rows_to_frame([row[:-1] for row in rows])
    metric = pd.Series([row[-1] for row in rows], dtype=object)
    first = metric.groupby(frame["video_id"].to_numpy()).transform("first")  # rows come by video, then time
    frame = frame[(metric == first).to_numpy()].reset_index(drop=True)
    # One source per video: how it was found (its first capture's source). A video found by a search and then
    # polled by the tracker is one trajectory of one sampling frame, never split across two sources' cut dates or
    # held out as one source while its other captures train (leave-one-source-out).
    frame["source"] = frame.groupby("video_id", sort=False)["source"].transform("first")
    return frame


def seen_by(user_id: int | None) -> ColumnElement[bool]:
    """Snapshots one user may see: every collected one, and the counts they typed in themselves (``user_id`` None:
    collected ones only). A typed count is its user's alone: another user's vetoed theirs ("does not fit 50,000")
    and moved their forecast check."""
    typed = func.coalesce(VideoSnapshot.source, "") == MANUAL_SOURCE
    return ~typed if user_id is None else or_(~typed, VideoSnapshot.entered_by == user_id)


def collected() -> ColumnElement[bool]:
    """Snapshots Miles read itself (or imported): not a count a user typed in."""
    return func.coalesce(VideoSnapshot.source, Video.source, "").is_distinct_from(MANUAL_SOURCE)


def quarantined_ids() -> Select[Any]:
    """Ids of quarantined snapshots (``miles quality``), as a subquery."""
    return select(QualityFlag.snapshot_id).where(
        QualityFlag.quarantined.is_(True), QualityFlag.snapshot_id.is_not(None)
    )


def rows_to_frame(rows: Sequence[Any]) -> pd.DataFrame:
    """Result rows of ``snapshot_query`` -> an interchange-format frame (tags `|`-joined, aware UTC times)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in SNAPSHOT_COLUMNS]
    frame = pd.DataFrame(
        {name: pd.Series(values, dtype=object) for name, values in zip(SNAPSHOT_COLUMNS, columns, strict=True)}
    )
    frame["tags"] = frame["tags"].map(lambda t: "|".join(t) if t else None)
    for col in ("published_at", "captured_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    for col in ("views", "likes", "comments", "channel_subscribers", "category_id"):
        frame[col] = pd.array(frame[col].tolist(), dtype="Int64") if len(frame) else pd.array([], dtype="Int64")
    frame["duration_s"] = pd.to_numeric(frame["duration_s"], errors="coerce").astype(float)
    for col in ("published_at_is_date_only", "captured_at_is_date_only"):
        frame[col] = frame[col].fillna(False).astype(bool)
    return frame


def count_snapshots(*, session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(VideoSnapshot)) or 0)
