"""Read stored videos: text search with filters and pagination, one video with its snapshots,
and a channel's typical views at a given age (for the outlier multiple)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, func, literal_column, select, text
from sqlalchemy.orm import Session

from miles.store.db import is_postgres
from miles.store.tables import Video, VideoSnapshot


@dataclass(frozen=True, slots=True)
class LatestStats:
    captured_at: datetime
    views: int
    likes: int | None
    comments: int | None
    channel_subscribers: int | None


@dataclass(frozen=True, slots=True)
class VideoHit:
    video: Video
    latest: LatestStats | None


@dataclass(frozen=True, slots=True)
class ChannelBaseline:
    age_h: float
    median_views: float
    n_videos: int


def fts5_query(q: str) -> str:
    """Each word as a quoted FTS5 string (so user input is never FTS5 syntax), all required."""
    words = [w.replace('"', '""') for w in q.split() if w.strip()]
    return " ".join(f'"{w}"' for w in words)


def _text_filter(session: Session, q: str) -> ColumnElement[bool]:
    if is_postgres(session):
        return func.to_tsvector(literal_column("'simple'"), Video.title).op("@@")(
            func.plainto_tsquery(literal_column("'simple'"), q)
        )
    fts = text("SELECT rowid FROM videos_fts WHERE videos_fts MATCH :fts").bindparams(fts=fts5_query(q))
    return literal_column("videos.rowid").in_(fts)


def _filtered(
    session: Session,
    *,
    q: str | None,
    category_id: int | None,
    channel_id: str | None,
    source: str | None,
    published_from: datetime | None,
    published_to: datetime | None,
) -> Select[Video]:
    stmt = select(Video)
    if q and q.strip():
        stmt = stmt.where(_text_filter(session, q))
    if category_id is not None:
        stmt = stmt.where(Video.category_id == category_id)
    if channel_id:
        stmt = stmt.where(Video.channel_id == channel_id)
    if source:
        stmt = stmt.where(Video.source == source)
    if published_from is not None:
        stmt = stmt.where(Video.published_at >= published_from)
    if published_to is not None:
        stmt = stmt.where(Video.published_at < published_to)
    return stmt


def search_videos(
    *,
    session: Session,
    q: str | None = None,
    category_id: int | None = None,
    channel_id: str | None = None,
    source: str | None = None,
    published_from: datetime | None = None,
    published_to: datetime | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[VideoHit], int]:
    """Matching videos, newest first, with their latest counts, and the total number of matches."""
    stmt = _filtered(
        session,
        q=q,
        category_id=category_id,
        channel_id=channel_id,
        source=source,
        published_from=published_from,
        published_to=published_to,
    )
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    videos = list(session.scalars(stmt.order_by(Video.published_at.desc(), Video.id).limit(limit).offset(offset)))
    latest = latest_stats(session=session, video_ids=[v.id for v in videos])
    return [VideoHit(video=v, latest=latest.get(v.id)) for v in videos], total


def latest_stats(*, session: Session, video_ids: list[str]) -> dict[str, LatestStats]:
    if not video_ids:
        return {}
    newest = (
        select(VideoSnapshot.video_id, func.max(VideoSnapshot.captured_at).label("at"))
        .where(VideoSnapshot.video_id.in_(video_ids))
        .group_by(VideoSnapshot.video_id)
        .subquery()
    )
    rows = session.scalars(
        select(VideoSnapshot).join(
            newest, (VideoSnapshot.video_id == newest.c.video_id) & (VideoSnapshot.captured_at == newest.c.at)
        )
    )
    return {s.video_id: LatestStats(s.captured_at, s.views, s.likes, s.comments, s.channel_subscribers) for s in rows}


def get_video(*, session: Session, video_id: str) -> tuple[Video, list[VideoSnapshot]] | None:
    video = session.get(Video, video_id)
    if video is None:
        return None
    snaps = session.scalars(
        select(VideoSnapshot).where(VideoSnapshot.video_id == video_id).order_by(VideoSnapshot.captured_at)
    )
    return video, list(snaps)


def channel_baseline(
    *, session: Session, channel_id: str, age_h: float, before: datetime, min_videos: int = 3
) -> ChannelBaseline | None:
    """Median views of the channel's uploads published before ``before``, each taken at the snapshot whose age
    is closest to ``age_h`` within a factor of two; None when fewer than ``min_videos`` such uploads exist."""
    lo, hi = timedelta(hours=age_h / 2), timedelta(hours=age_h * 2)
    rows = session.execute(
        select(VideoSnapshot.video_id, VideoSnapshot.views, VideoSnapshot.captured_at, Video.published_at)
        .join(Video, Video.id == VideoSnapshot.video_id)
        .where(Video.channel_id == channel_id, Video.published_at < before)
    )
    best: dict[str, tuple[float, int]] = {}
    for video_id, views, captured_at, published_at in rows:
        if not lo <= captured_at - published_at <= hi:
            continue
        distance = abs((captured_at - published_at).total_seconds() / 3600.0 - age_h)
        if video_id not in best or distance < best[video_id][0]:
            best[video_id] = (distance, int(views))
    if len(best) < min_videos:
        return None
    return ChannelBaseline(
        age_h=age_h, median_views=float(statistics.median(v for _, v in best.values())), n_videos=len(best)
    )
