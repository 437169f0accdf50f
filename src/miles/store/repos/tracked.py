"""The caller's tracked videos (user-owned rows; every query filters on ``user_id``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from miles.domain import utcnow
from miles.errors import InvalidInput, NotFound
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
    *, session: Session, user_id: int, video_id: str, url: str, first_poll_after_h: float = 1.0
) -> TrackedVideo:
    """Start tracking ``video_id`` for ``user_id``; the first re-poll is due ``first_poll_after_h`` from now."""
    existing = session.scalar(
        select(TrackedVideo).where(TrackedVideo.user_id == user_id, TrackedVideo.video_id == video_id)
    )
    if existing is not None:
        raise InvalidInput(f"video {video_id} is already tracked (id {existing.id})", status=409)
    now = utcnow()
    row = TrackedVideo(
        user_id=user_id,
        video_id=video_id,
        url=url,
        added_at=now,
        anchor_at=now,
        poll_index=0,
        next_poll_at=now + timedelta(hours=first_poll_after_h),
        active=True,
    )
    session.add(row)
    session.flush()
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
