"""Niche candidates: stored videos matching a topic, with their snapshots, for outliers and patterns."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from miles.domain import SNAPSHOT_COLUMNS, channel_url, parse_channel_ref, words
from miles.store.repos import jobs
from miles.store.repos.snapshots import MANUAL_SOURCE, collected, rows_to_frame, snapshot_query
from miles.store.tables import Channel, Video, VideoSnapshot


def topic_terms(topic: str) -> list[str]:
    return [w for w in words(topic) if len(w) >= 2][:8]


def newest_video_at(*, session: Session, platform: str) -> datetime | None:
    """When the newest collected or imported video of ``platform`` was stored (typed ones never join a niche): part of
    the ideas cache key, so a niche answered "no video yet" is answered again once videos arrive."""
    stmt = select(func.max(Video.created_at)).where(
        Video.platform == platform, Video.source.is_distinct_from(MANUAL_SOURCE)
    )
    found: datetime | None = session.scalar(stmt)
    return found


def searched_form(term: str) -> tuple[str, bool]:
    """A topic word as searched, and whether as a prefix: a word of 4 letters or more by its singular's prefix, so
    "workout" finds "workouts" and "workouts" finds "workout" (each missed the other: "home workouts" found 2 videos,
    "home workout" 22); a shorter one as typed ("car" is not "cards")."""
    if len(term) < 4:
        return term, False
    plural = term.endswith("s") and not term.endswith("ss") and len(term) > 4
    return (term[:-1] if plural else term), True


def search_video_ids(
    *, session: Session, topic: str, limit: int = 400, platform: str | None = None, skip: Collection[str] = ()
) -> list[str]:
    """Videos (of one platform, when given) whose title matches any topic word but those in ``skip`` (function
    words; all of them when every word is one): FTS5 on SQLite, full-text on PostgreSQL, LIKE as a fallback for
    scripts without word boundaries (Japanese)."""
    words = topic_terms(topic)
    terms = [w for w in words if w not in skip] or words
    if not terms:
        return []
    forms = [searched_form(t) for t in terms]
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        match = " OR ".join('"' + t.replace('"', "") + '"' + ("*" if prefix else "") for t, prefix in forms)
        ids = session.execute(
            text(
                "SELECT v.id FROM videos_fts f JOIN videos v ON v.rowid = f.rowid "
                "WHERE videos_fts MATCH :m AND (:p IS NULL OR v.platform = :p) AND v.source IS NOT :typed "
                "ORDER BY rank LIMIT :n"
            ),
            {"m": match, "n": limit, "p": platform, "typed": MANUAL_SOURCE},
        )
        found = [r[0] for r in ids]
    else:
        query = " | ".join(t + (":*" if prefix else "") for t, prefix in forms)
        stmt = text(
            "SELECT id FROM videos WHERE to_tsvector('simple', title) @@ to_tsquery('simple', :q) "
            "AND (CAST(:p AS varchar) IS NULL OR platform = :p) AND source IS DISTINCT FROM :typed LIMIT :n"
        )
        found = [r[0] for r in session.execute(stmt, {"q": query, "n": limit, "p": platform, "typed": MANUAL_SOURCE})]
    if len(found) < limit:
        like = or_(*[Video.title.ilike(f"%{t}%") for t, _ in forms]) & Video.source.is_distinct_from(MANUAL_SOURCE)
        if platform is not None:
            like = like & (Video.platform == platform)
        extra = session.scalars(select(Video.id).where(like).limit(limit)).all()
        found += [v for v in extra if v not in set(found)]
    return found[:limit]


def snapshots_for(*, session: Session, video_ids: Sequence[str]) -> pd.DataFrame:
    """The snapshots Miles collected (none a user typed: those are evidence of that user's video only) of the given
    videos, in the interchange format."""
    ids = list(video_ids)
    rows: list[Any] = []
    for start in range(0, len(ids), 500):
        stmt = snapshot_query().where(VideoSnapshot.video_id.in_(ids[start : start + 500]), collected())
        rows.extend(session.connection().execute(stmt).fetchall())
    return rows_to_frame(rows)


def channel_history(*, session: Session, channel_ids: Sequence[str], before: datetime | None = None) -> pd.DataFrame:
    """Snapshots of every upload of the given channels (for the outlier multiple's channel median)."""
    ids = [c for c in channel_ids if c]
    if not ids:
        return pd.DataFrame(columns=list(SNAPSHOT_COLUMNS))
    video_ids = session.scalars(select(Video.id).where(Video.channel_id.in_(ids))).all()
    frame = snapshots_for(session=session, video_ids=video_ids)
    if before is not None:
        frame = frame[frame["captured_at"] <= before]
    return frame


def resolve_channel(*, session: Session, reference: str) -> str | None:
    """The stored channel id a creator's reference (id, @handle, channel or Shorts URL) points to; None if unknown.

    The store keeps channel ids and display names, not handles: a handle is matched against the display name
    (case and spaces ignored), else against the channel a finished collection request for its URL found (the
    web app's queued collection, ``miles predict --channel @x --collect``).
    """
    kind, value = parse_channel_ref(reference)
    if kind == "id":
        known = session.scalar(select(Channel.id).where(Channel.id == value))
        known = known or session.scalar(select(Video.channel_id).where(Video.channel_id == value).limit(1))
        return str(known) if known else None
    wanted = value.lower().replace(" ", "")
    for channel_id, title in session.execute(select(Channel.id, Channel.title).where(Channel.title.is_not(None))):
        if str(title).lower().replace(" ", "") == wanted:
            return str(channel_id)
    url = channel_url(reference)
    return jobs.collected_channel(session=session, query=url) if url else None


def channel_name(*, session: Session, channel_id: str) -> str | None:
    """A stored channel's display name, None when Miles has none."""
    name: str | None = session.scalar(select(Channel.title).where(Channel.id == channel_id))
    return name or None


def fresh_count(*, session: Session, video_ids: Sequence[str], since: datetime) -> int:
    """How many of these videos have a snapshot captured since ``since``."""
    ids = list(video_ids)
    if not ids:
        return 0
    stmt = (
        select(func.count(func.distinct(VideoSnapshot.video_id)))
        .join(Video, Video.id == VideoSnapshot.video_id)
        .where(VideoSnapshot.video_id.in_(ids[:2000]), VideoSnapshot.captured_at >= since, collected())
    )
    return int(session.scalar(stmt) or 0)


CANDIDATE_FIELDS = ("title", "tags", "description", "duration_s", "source", "channel_id")


def candidate_rows(*, session: Session, video_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What relevance and the filters read of each video (``CANDIDATE_FIELDS``)."""
    ids = list(video_ids)
    out: dict[str, dict[str, Any]] = {}
    cols = (Video.id, Video.title, Video.tags, Video.description, Video.duration_s, Video.source, Video.channel_id)
    for start in range(0, len(ids), 500):
        for row in session.execute(select(*cols).where(Video.id.in_(ids[start : start + 500]))):
            out[row.id] = dict(zip(CANDIDATE_FIELDS, row[1:], strict=True))
    return out


def channel_titles(*, session: Session, channel_ids: Sequence[str], per_channel: int = 20) -> dict[str, list[str]]:
    """Up to ``per_channel`` stored titles of each channel (newest first): what a channel's language is told from."""
    ids = sorted({c for c in channel_ids if c})
    out: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):
        stmt = (
            select(Video.channel_id, Video.title)
            .where(Video.channel_id.in_(ids[start : start + 500]))
            .order_by(Video.channel_id, Video.published_at.desc())
        )
        for channel_id, title in session.execute(stmt):
            titles = out.setdefault(str(channel_id), [])
            if len(titles) < per_channel:
                titles.append(str(title))
    return out


def titles_of(*, session: Session, video_ids: Sequence[str]) -> dict[str, str]:
    ids = list(video_ids)
    out: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(select(Video.id, Video.title).where(Video.id.in_(ids[start : start + 500])))
        out.update(dict(rows.tuples().all()))
    return out
