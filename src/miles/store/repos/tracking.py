"""Re-poll schedules of tracked videos (DESIGN.md §4): decaying polls so Miles builds its own trajectories.

A row's schedule is ``anchor_at + schedule_h[poll_index]``; after each poll ``poll_index`` moves past every
slot already gone by, so a late worker polls once and then waits for the next future slot. Rows with
``user_id`` belong to a user; rows without are Miles' own (newly collected videos). Functions take ``now``
so tests drive the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from miles.store.tables import TrackedVideo

RETRY_AFTER = timedelta(minutes=15)  # a transient failure is retried this long after, within the schedule


def next_slot(*, anchor: datetime, schedule_h: Sequence[float], after: datetime, start: int = 0) -> int:
    """Index of the first schedule slot strictly after ``after`` (``len(schedule_h)`` when none is left)."""
    index = start
    while index < len(schedule_h) and anchor + timedelta(hours=schedule_h[index]) <= after:
        index += 1
    return index


def _slot_time(anchor: datetime, schedule_h: Sequence[float], index: int) -> datetime | None:
    return anchor + timedelta(hours=schedule_h[index]) if index < len(schedule_h) else None


def schedule_video(
    *,
    session: Session,
    video_id: str,
    url: str,
    now: datetime,
    schedule_h: Sequence[float],
    user_id: int | None = None,
) -> tuple[TrackedVideo, bool]:
    """Track ``video_id`` from ``now`` on (for ``user_id``, or for Miles itself); (row, created). Two requests of one
    user for one video at the same moment (a double click) both end with the one row: the second finds the first's
    row once its insert collides with it."""
    existing = find_tracked(session=session, user_id=user_id, video_id=video_id)
    if existing is not None:
        return existing, False
    row = TrackedVideo(
        user_id=user_id,
        video_id=video_id,
        url=url,
        added_at=now,
        anchor_at=now,
        poll_index=0,
        next_poll_at=_slot_time(now, schedule_h, 0),
        active=bool(schedule_h),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # uq_tracked_user_video: another transaction inserted it after our look
        if (existing := find_tracked(session=session, user_id=user_id, video_id=video_id)) is None:
            raise
        return existing, False
    return row, True


def find_tracked(
    *, session: Session, user_id: int | None, video_id: str | None = None, url: str | None = None
) -> TrackedVideo | None:
    """The row tracking ``video_id`` for ``user_id`` (None: Miles' own), or, for a page whose video id is known only
    once it is read, the row polling ``url``."""
    which = TrackedVideo.video_id == video_id if video_id is not None else TrackedVideo.url == url
    owner = TrackedVideo.user_id.is_(None) if user_id is None else TrackedVideo.user_id == user_id
    return session.scalar(select(TrackedVideo).where(which, owner).limit(1))


def due(*, session: Session, now: datetime, limit: int = 500) -> list[TrackedVideo]:
    """Active rows whose next poll is at or before ``now``, oldest first."""
    stmt = (
        select(TrackedVideo)
        .where(TrackedVideo.active.is_(True), TrackedVideo.next_poll_at <= now)
        .order_by(TrackedVideo.next_poll_at, TrackedVideo.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def due_video_ids(*, session: Session, now: datetime, video_ids: Sequence[str]) -> set[str]:
    if not video_ids:
        return set()
    stmt = select(TrackedVideo.video_id).where(
        TrackedVideo.active.is_(True), TrackedVideo.next_poll_at <= now, TrackedVideo.video_id.in_(list(video_ids))
    )
    return set(session.scalars(stmt))


def video_ids_for_urls(*, session: Session, urls: Sequence[str]) -> dict[str, str]:
    """URL -> video id for URLs Miles already tracks."""
    if not urls:
        return {}
    stmt = select(TrackedVideo.url, TrackedVideo.video_id).where(TrackedVideo.url.in_(list(urls)))
    return {str(url): str(vid) for url, vid in session.execute(stmt)}


def mark_polled(
    *,
    session: Session,
    video_id: str,
    now: datetime,
    schedule_h: Sequence[float],
    error: str | None = None,
    transient: bool = False,
    reason: str | None = None,
) -> int:
    """Record a poll of ``video_id`` on every due row tracking it; returns how many rows moved on.

    Success or a permanent error advance the schedule (a permanent error stops tracking); a transient
    error keeps the slot and retries ``RETRY_AFTER`` later, unless the next slot comes first. ``reason`` is the
    collector's name for the error (``network``), which pages say in words (``domain.failure_words``).
    """
    rows = session.scalars(
        select(TrackedVideo).where(
            TrackedVideo.video_id == video_id, TrackedVideo.active.is_(True), TrackedVideo.next_poll_at <= now
        )
    ).all()
    for row in rows:
        row.last_polled_at = now
        row.last_error, row.last_error_reason = error, reason if error is not None else None
        if error is not None and not transient:
            row.active = False
            row.next_poll_at = None
            continue
        index = next_slot(anchor=row.anchor_at, schedule_h=schedule_h, after=now, start=row.poll_index)
        slot = _slot_time(row.anchor_at, schedule_h, index)
        if error is not None:
            retry = now + RETRY_AFTER
            row.next_poll_at = retry if slot is None or retry < slot else slot
            row.poll_index = index
            continue
        row.poll_index = index
        row.next_poll_at = slot
        row.active = slot is not None
    session.flush()
    return len(rows)


def list_tracking(
    *,
    session: Session,
    user_id: int | None = None,
    include_system: bool = False,
    active_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[TrackedVideo], int]:
    """Tracked rows of ``user_id`` (and Miles' own rows when ``include_system``), next poll first, with a total."""
    owner = TrackedVideo.user_id == user_id if user_id is not None else TrackedVideo.user_id.is_(None)
    where = owner | TrackedVideo.user_id.is_(None) if include_system and user_id is not None else owner
    if active_only:
        where = where & TrackedVideo.active.is_(True)
    total = int(session.scalar(select(func.count()).select_from(TrackedVideo).where(where)) or 0)
    stmt = (
        select(TrackedVideo)
        .where(where)
        .order_by(TrackedVideo.active.desc(), TrackedVideo.next_poll_at, TrackedVideo.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(stmt)), total
