"""The caller's tracked videos (user-owned rows; every query filters on ``user_id``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from miles.domain import SNAPSHOT_COLUMNS, as_utc, local_text, utcnow
from miles.errors import InvalidInput, NotFound
from miles.store.repos.predictions import linked_prediction
from miles.store.repos.snapshots import MANUAL_SOURCE, ingest_frame, seen_by
from miles.store.repos.tracking import schedule_video
from miles.store.repos.videos import typed_details, video_as_seen
from miles.store.tables import TrackedVideo, TypedVideo, Video, VideoSnapshot


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


def _problem(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", details=[{"field": field, "message": message}])


UNREAD = "Miles has not read this video yet"
_UNREAD_ASKS = {"title": "give its title", "published_at": "give when it was published"}


def _from_linked_draft(
    session: Session, user_id: int, video_id: str, title: str | None, published_at: datetime | None
) -> tuple[str | None, datetime | None, list[str]]:
    """What the user left blank for a video Miles has not read, from their scored draft linked to it (its title,
    and its planned publish time when the draft gave one; they were asked for again), and a note saying so."""
    draft = linked_prediction(session=session, user_id=user_id, video_id=video_id)
    if draft is None or (title and published_at is not None):
        return title, published_at, []
    inputs = draft.inputs or {}
    planned = inputs.get("publish_at")
    draft_title = str(inputs["title"]) if not title and inputs.get("title") else None
    draft_time = datetime.fromisoformat(planned) if published_at is None and isinstance(planned, str) else None
    used = [name for name, value in (("title", draft_title), ("publish time", draft_time)) if value is not None]
    note = [f"the {' and '.join(used)} came from your linked draft #{draft.id}"] if used else []
    return title or draft_title, published_at or draft_time, note


def _missing(title: str | None, published_at: datetime | None) -> list[str]:
    """The details a video Miles has not read needs and that were not given (nor found in a linked draft)."""
    return [f for f, absent in (("title", not title), ("published_at", published_at is None)) if absent]


def _unread_problem(field: str) -> dict[str, str]:
    return {"field": field, "message": f"{UNREAD}: {_UNREAD_ASKS[field]}"}


def _require_unread_fields(title: str | None, published_at: datetime | None) -> None:
    """A video Miles has not read needs its title and publish time typed: the error names each one missing."""
    missing = _missing(title, published_at)
    if not missing:
        return
    asks = "give its title and when it was published" if len(missing) == 2 else _UNREAD_ASKS[missing[0]]
    raise InvalidInput(f"{', '.join(missing)}: {UNREAD}: {asks}", details=[_unread_problem(f) for f in missing])


def views_problems(
    *,
    session: Session,
    user_id: int,
    tracked_id: int,
    views: int | None,
    captured_at: datetime | None,
    title: str | None = None,
    published_at: datetime | None = None,
    tz: tzinfo = UTC,
    unreadable: Collection[str] = (),
) -> list[dict[str, str]]:
    """Every problem ``record_views`` would find with this count (it raises only the first), each as ``{"field",
    "message"}``: the Track page lists them all with the fields it could not read. A field in ``unreadable`` (typed
    but not readable) is neither asked for nor compared, and nor is a ``views`` or ``captured_at`` of None."""
    row = get_tracked(session=session, user_id=user_id, tracked_id=tracked_id)
    video = video_as_seen(session=session, video_id=row.video_id, user_id=user_id)
    title, published_at, _ = _details(session, user_id, row.video_id, video, title, published_at, tz)
    problems = [_unread_problem(f) for f in _missing(title, published_at) if f not in unreadable]
    published = None if published_at is None or "published_at" in unreadable else as_utc(published_at)
    captured = None if captured_at is None or "read_at" in unreadable else as_utc(captured_at)
    snaps = _seen_snapshots(session, row.video_id, user_id)
    return problems + _count_problems(video, snaps, views, captured, published, tz)


def _seen_snapshots(session: Session, video_id: str, user_id: int) -> list[VideoSnapshot]:
    """The video's snapshots this user sees: another user's typed counts are theirs alone (they vetoed this user's)."""
    where = (VideoSnapshot.video_id == video_id, seen_by(user_id))
    return list(session.scalars(select(VideoSnapshot).where(*where)).all())


def _same_time(snaps: Sequence[VideoSnapshot], captured: datetime) -> list[VideoSnapshot]:
    """The snapshots a count read at ``captured`` would clash with (one is stored up to HIDDEN_CLASH_TRIES s on)."""
    window = timedelta(seconds=HIDDEN_CLASH_TRIES)
    return [snap for snap in snaps if captured <= as_utc(snap.captured_at) < captured + window]


def _count_problems(
    video: Video | None,
    snaps: Sequence[VideoSnapshot],
    views: int | None,
    captured: datetime | None,
    published: datetime | None,
    tz: tzinfo,
) -> list[dict[str, str]]:
    """What cannot be true of a count (UTC times; None: not known, not checked), in the order record_views has
    always checked it: views never fall with age, and a reading is after publishing and not in the future."""
    problems: list[dict[str, str]] = []

    def add(field: str, message: str) -> None:
        problems.append({"field": field, "message": message})

    own = video is not None and video.source == MANUAL_SOURCE  # details this user typed before: theirs to correct
    soon = utcnow() + timedelta(minutes=5)
    if published is not None and (video is None or own) and published > soon:
        add("published_at", f"{local_text(published, tz)} is in the future: give when it went out")
    if captured is not None and published is not None and captured <= published:
        add("read_at", f"{local_text(captured, tz)} is not after it was published ({local_text(published, tz)})")
    if captured is not None and captured > soon:
        add("read_at", f"{local_text(captured, tz)} is in the future")
    earliest = min((as_utc(snap.captured_at) for snap in snaps), default=None)
    if own and published is not None and earliest is not None and earliest <= published:
        read = local_text(earliest, tz)
        add("published_at", f"{local_text(published, tz)} is after your earliest count of this video (read {read})")
    if views is None or captured is None or any(p["field"] == "read_at" for p in problems):
        return problems  # a count is compared with the others only at a time that can be right
    return problems + _clashes(snaps, views, captured, tz)


def _clashes(snaps: Sequence[VideoSnapshot], views: int, captured: datetime, tz: tzinfo) -> list[dict[str, str]]:
    """Another count stored at that time, or the reading nearest in time that the count contradicts (1,000 after
    1,200 then 1,500 names the 1,500); none for a retry of a count stored already."""
    same_time = _same_time(snaps, captured)
    if same_time:
        if same_time[0].views == views:
            return []
        return [{"field": "read_at", "message": f"a count of this video at {local_text(captured, tz)} is already "
                                                "stored: give the minute you read it, or another one"}]  # fmt: skip
    for snap in sorted(snaps, key=lambda snap: abs((as_utc(snap.captured_at) - captured).total_seconds())):
        at = as_utc(snap.captured_at)
        if (at < captured and snap.views > views) or (at > captured and snap.views < views):
            message = f"{views:,} at {local_text(captured, tz)} does not fit {snap.views:,} at {local_text(at, tz)}"
            return [{"field": "views", "message": f"{message} (views only grow)"}]
    return []


class Recorded(NamedTuple):
    """What ``record_views`` did: the notes on typed values it did not use, and whether it stored a new count (False:
    the same count at the same time was stored already)."""

    notes: list[str]
    stored: bool


def record_views(
    *,
    session: Session,
    user_id: int,
    tracked_id: int,
    views: int,
    captured_at: datetime,
    title: str | None = None,
    published_at: datetime | None = None,
    channel_subscribers: int | None = None,
    tz: tzinfo = UTC,
) -> Recorded:
    """A view count the user read for one of their tracked videos, stored as a snapshot (source ``web-entry``), with
    the channel's subscribers when given (the forecasts read the latest known count).

    A video Miles has not read yet needs its title and publish time; a video it knows keeps its own, and the notes
    returned say which typed values were not used. Views never fall with age, so a count below an earlier
    snapshot's (or above a later one's) is refused, as is a reading before publishing or in the future.
    """
    row = get_tracked(session=session, user_id=user_id, tracked_id=tracked_id)
    video = video_as_seen(session=session, video_id=row.video_id, user_id=user_id)
    own = video is not None and video.source == MANUAL_SOURCE  # details this user typed before: theirs to correct
    title, published_at, notes = _details(session, user_id, row.video_id, video, title, published_at, tz)
    _require_unread_fields(title, published_at)
    assert title and published_at is not None
    published, captured = as_utc(published_at), as_utc(captured_at)
    snaps = _seen_snapshots(session, row.video_id, user_id)
    problems = _count_problems(video, snaps, views, captured, published, tz)
    if problems:  # a last guard: the API, the MCP tool and the page name them all first (services.check_reading)
        raise _problem(**problems[0])
    if _same_time(snaps, captured):  # a retry of this very count: stored already
        return Recorded(notes, stored=False)
    video_fields = {"video_id": row.video_id, "platform": row.platform, "title": title, "published_at": published}
    if video is None or own:  # unread by Miles: what this user typed is theirs alone
        _keep_typed_details(session, user_id, row.video_id, title, published)
    for nudge in range(HIDDEN_CLASH_TRIES):  # another user's count at that second is theirs alone: the next second
        at = captured + timedelta(seconds=nudge)
        if _store_typed(session, video_fields, at, views, channel_subscribers, user_id):
            return Recorded(notes, stored=True)
    raise _problem("read_at", f"too many counts of this video are stored at {local_text(captured, tz)}: give "
                              "another minute")  # fmt: skip


HIDDEN_CLASH_TRIES = 60


def _store_typed(
    session: Session,
    video_fields: dict[str, Any],
    captured: datetime,
    views: int,
    channel_subscribers: int | None,
    user_id: int,
) -> bool:
    """Store one typed count as ``user_id``'s snapshot; False when a snapshot of the video at ``captured`` exists."""
    frame = pd.DataFrame(
        [
            {
                **video_fields,
                "captured_at": captured,
                "views": views,
                "channel_subscribers": channel_subscribers,
                "source": MANUAL_SOURCE,
                "published_at_is_date_only": False,
                "captured_at_is_date_only": False,
            }
        ],
        columns=list(SNAPSHOT_COLUMNS),
    )
    frame["entered_by"] = user_id  # the count is this user's alone (``seen_by``)
    return bool(ingest_frame(session=session, frame=frame).snapshots_added)  # one snapshot per video and time


def _keep_typed_details(session: Session, user_id: int, video_id: str, title: str, published: datetime) -> None:
    typed = typed_details(session=session, video_id=video_id, user_id=user_id)
    if typed is None:
        session.add(TypedVideo(user_id=user_id, video_id=video_id, title=title, published_at=published))
    elif (typed.title, as_utc(typed.published_at)) != (title, published):
        typed.title, typed.published_at, typed.updated_at = title, published, utcnow()


def _details(
    session: Session,
    user_id: int,
    video_id: str,
    video: Video | None,
    title: str | None,
    published_at: datetime | None,
    tz: tzinfo,
) -> tuple[str | None, datetime | None, list[str]]:
    """(title, publish time, notes) a count is stored with: Miles' own for a video it has read (typed ones are
    named as not used), the user's own typed before unless they type new ones, else the typed or linked draft's."""
    if video is not None and video.source == MANUAL_SOURCE:
        notes = _corrected(video, title, published_at, tz)
        return (title or "").strip() or video.title, published_at or video.published_at, notes
    if video is not None:
        return video.title, video.published_at, _not_used(video, title, published_at, tz)
    return _from_linked_draft(session, user_id, video_id, title, published_at)


def _corrected(video: Video, title: str | None, published_at: datetime | None, tz: tzinfo) -> list[str]:
    """What changed in the details this user typed before for a video Miles has not read (theirs to correct)."""
    notes = []
    before = local_text(video.published_at, tz)
    if published_at is not None and local_text(published_at, tz) != before:
        notes.append(f"Your publish time for this video is now {local_text(published_at, tz)} (it was {before}).")
    if title and title.strip() != video.title:
        notes.append(f"Your title for this video is now “{title.strip()}” (it was “{video.title}”).")
    return notes


def _not_used(video: Video, title: str | None, published_at: datetime | None, tz: tzinfo) -> list[str]:
    """What the user typed for a video Miles already knows that differs from what it knows (and was not used)."""
    notes = []
    known = local_text(video.published_at, tz)
    if published_at is not None and local_text(published_at, tz) != known:
        notes.append(
            f"Miles already knows this video's publish time ({known}); the time you typed "
            f"({local_text(published_at, tz)}) was not used."
        )
    if title and title.strip() != video.title:
        notes.append(f"Miles already knows this video's title (“{video.title}”); the title you typed was not used.")
    return notes
