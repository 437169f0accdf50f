"""Read stored videos: text search with filters and pagination, one video with its snapshots.

A channel's usual views at an age are computed from its snapshots (``repos.niche.channel_history``) by
``miles.features.channel.usual_views``, the one definition training uses too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, inspect, literal_column, select, text
from sqlalchemy.orm import Session

from miles.store.db import is_postgres
from miles.store.repos.snapshots import MANUAL_SOURCE, collected, seen_by
from miles.store.tables import TypedVideo, Video, VideoSnapshot


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
    platform: str | None = None,
) -> Select[Video]:
    stmt = select(Video).where(Video.source.is_distinct_from(MANUAL_SOURCE))  # a video a user typed is theirs alone
    if q and q.strip():
        stmt = stmt.where(_text_filter(session, q))
    if category_id is not None:
        stmt = stmt.where(Video.category_id == category_id)
    if channel_id:
        stmt = stmt.where(Video.channel_id == channel_id)
    if source:
        stmt = stmt.where(Video.source == source)
    if platform:
        stmt = stmt.where(Video.platform == platform)
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
    platform: str | None = None,
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
        platform=platform,
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
        .join(Video, Video.id == VideoSnapshot.video_id)
        .where(VideoSnapshot.video_id.in_(video_ids), collected())
        .group_by(VideoSnapshot.video_id)
        .subquery()
    )
    rows = session.scalars(
        select(VideoSnapshot).join(
            newest, (VideoSnapshot.video_id == newest.c.video_id) & (VideoSnapshot.captured_at == newest.c.at)
        )
    )
    return {s.video_id: LatestStats(s.captured_at, s.views, s.likes, s.comments, s.channel_subscribers) for s in rows}


def video_as_seen(*, session: Session, video_id: str, user_id: int | None) -> Video | None:
    """The video as ``user_id`` knows it. A video Miles has not read (only typed counts: ``web-entry``) has the title
    and publish time this user typed for it (``TypedVideo``), or is unknown to them (None): another user's typed
    details are theirs alone. The copy returned for a typed video is not in the session (never written)."""
    video = session.get(Video, video_id)
    if video is None or video.source != MANUAL_SOURCE:
        return video
    typed = typed_details(session=session, video_id=video_id, user_id=user_id) if user_id is not None else None
    if typed is None:
        return None
    fields = {attr.key: getattr(video, attr.key) for attr in inspect(Video).column_attrs}
    return Video(**{**fields, "title": typed.title, "published_at": typed.published_at})


def typed_details(*, session: Session, video_id: str, user_id: int) -> TypedVideo | None:
    return session.scalar(select(TypedVideo).where(TypedVideo.user_id == user_id, TypedVideo.video_id == video_id))


def get_video(
    *, session: Session, video_id: str, user_id: int | None = None
) -> tuple[Video, list[VideoSnapshot]] | None:
    """The video and the snapshots ``user_id`` may see: the collected ones and the counts they typed in (none typed
    for None: the public API)."""
    video = video_as_seen(session=session, video_id=video_id, user_id=user_id)
    if video is None:
        return None
    snaps = session.scalars(
        select(VideoSnapshot)
        .where(VideoSnapshot.video_id == video_id, seen_by(user_id))
        .order_by(VideoSnapshot.captured_at)
    )
    return video, list(snaps)


def trajectory_count(*, session: Session, platform: str) -> int:
    """Stored videos of ``platform`` with at least two snapshots (a view trajectory, what tracking builds)."""
    per_video = (
        select(VideoSnapshot.video_id)
        .join(Video, Video.id == VideoSnapshot.video_id)
        .where(Video.platform == platform)
        .group_by(VideoSnapshot.video_id)
        .having(func.count() >= 2)
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(per_video)) or 0)


def video_channels(*, session: Session, video_ids: Sequence[str]) -> list[str | None]:
    """The channel id of each stored video among ``video_ids`` (unknown videos are left out)."""
    ids = list(video_ids)
    out: list[str | None] = []
    for start in range(0, len(ids), 500):
        out.extend(session.scalars(select(Video.channel_id).where(Video.id.in_(ids[start : start + 500]))))
    return out
