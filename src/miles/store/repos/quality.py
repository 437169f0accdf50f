"""``quality_flags``: data-quality findings of ``miles quality``, each stored once by its key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from miles.store.tables import QualityFlag, Video, VideoSnapshot

COUNT_COLUMNS = ("views", "likes", "comments", "channel_subscribers")
KINDS = {
    "dropped_to_zero": "a count fell to 0 from a positive value",
    "zero_views": "every capture of a batch (one source, one hour) has 0 views",
    "backwards": "views lower than at the previous capture",
    "duplicate_capture": "captured again within 5 minutes",
    "metric_change": "the view metric differs from the previous capture (a break in the trajectory)",
    "vanished_field": "a field present at the previous capture is now empty",
    "stale_niche": "a configured niche has no fresh capture",
    "ytdlp_version": "yt-dlp's version changed between collection runs",
}


@dataclass(frozen=True)
class Finding:
    key: str  # the same finding checked twice has the same key
    kind: str
    detail: str
    snapshot_id: int | None = None
    video_id: str | None = None
    quarantined: bool = False


def snapshot_counts(*, session: Session, since: datetime | None = None) -> pd.DataFrame:
    """Counts of every snapshot (of videos captured since ``since``, all their snapshots), by video and time."""
    cols = [VideoSnapshot.id, VideoSnapshot.video_id, VideoSnapshot.captured_at, VideoSnapshot.source,
            VideoSnapshot.view_metric, Video.published_at,
            *(getattr(VideoSnapshot, c) for c in COUNT_COLUMNS)]  # fmt: skip
    stmt = (select(*cols).join(Video, Video.id == VideoSnapshot.video_id)
            .order_by(VideoSnapshot.video_id, VideoSnapshot.captured_at))  # fmt: skip
    if since is not None:
        recent = select(VideoSnapshot.video_id).where(VideoSnapshot.captured_at >= since).distinct()
        stmt = stmt.where(VideoSnapshot.video_id.in_(recent))
    rows = session.execute(stmt).all()
    names = ["id", "video_id", "captured_at", "source", "view_metric", "published_at", *COUNT_COLUMNS]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=names)
    frame["captured_at"] = pd.to_datetime(frame["captured_at"], utc=True)
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    for col in COUNT_COLUMNS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


def record_findings(*, session: Session, findings: Sequence[Finding], now: datetime) -> int:
    """Store findings not stored before; how many were new."""
    if not findings:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    rows = [{**f.__dict__, "created_at": now} for f in {f.key: f for f in findings}.values()]
    added = 0
    for start in range(0, len(rows), 1000):
        stmt = insert(QualityFlag).on_conflict_do_nothing(index_elements=["key"]).returning(QualityFlag.id)
        added += len(session.execute(stmt, rows[start : start + 1000]).all())
    return added


def list_flags(
    *, session: Session, kind: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[QualityFlag], int]:
    """Findings newest first, and how many match."""
    where = [QualityFlag.kind == kind] if kind else []
    total = int(session.scalar(select(func.count()).select_from(QualityFlag).where(*where)) or 0)
    stmt = select(QualityFlag).where(*where).order_by(QualityFlag.created_at.desc(), QualityFlag.id.desc())
    return list(session.scalars(stmt.limit(limit).offset(offset))), total


def summary(*, session: Session) -> dict[str, Any]:
    """Findings by kind and how many snapshots are quarantined."""
    by_kind = dict(session.execute(select(QualityFlag.kind, func.count()).group_by(QualityFlag.kind)).all())
    quarantined = session.scalar(
        select(func.count(func.distinct(QualityFlag.snapshot_id))).where(QualityFlag.quarantined.is_(True))
    )
    return {"by_kind": {k: int(v) for k, v in sorted(by_kind.items())}, "quarantined_snapshots": int(quarantined or 0)}


def flag_dict(row: QualityFlag) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "video_id": row.video_id, "snapshot_id": row.snapshot_id,
            "quarantined": row.quarantined, "detail": row.detail, "created_at": row.created_at.isoformat()}  # fmt: skip
