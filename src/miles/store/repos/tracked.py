"""The caller's tracked videos (user-owned rows; every query filters on ``user_id``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from miles.domain import utcnow
from miles.errors import InvalidInput, NotFound
from miles.store.repos.tracking import schedule_video
from miles.store.tables import TrackedVideo


def list_tracked(*, session: Session, user_id: int, limit: int = 20, offset: int = 0) -> tuple[list[TrackedVideo], int]:
    where = TrackedVideo.user_id == user_id
    total = int(session.scalar(select(func.count()).select_from(TrackedVideo).where(where)) or 0)
    rows = session.scalars(
        select(TrackedVideo)
        .where(where)
        .order_by(TrackedVideo.added_at.desc(), TrackedVideo.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def add_tracked(
    *, session: Session, user_id: int, video_id: str, url: str, schedule_h: Sequence[float]
) -> TrackedVideo:
    """Start tracking ``video_id`` for ``user_id`` on the re-poll schedule the collector uses; 409 if tracked."""
    row, created = schedule_video(
        session=session, video_id=video_id, url=url, now=utcnow(), schedule_h=schedule_h, user_id=user_id
    )
    if not created:
        raise InvalidInput(f"video {video_id} is already tracked (id {row.id})", status=409)
    return row


def get_tracked(*, session: Session, user_id: int, tracked_id: int) -> TrackedVideo:
    row = session.scalar(select(TrackedVideo).where(TrackedVideo.id == tracked_id, TrackedVideo.user_id == user_id))
    if row is None:
        raise NotFound(f"you have no tracked video with id {tracked_id}")
    return row


def delete_tracked(*, session: Session, user_id: int, tracked_id: int) -> None:
    """Stop tracking; another user's id is reported exactly like a missing one."""
    session.delete(get_tracked(session=session, user_id=user_id, tracked_id=tracked_id))
    session.flush()
