"""Stored predictions: inputs hash, inputs, outputs and model version, for history and later accuracy checks."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from miles.domain import as_utc
from miles.errors import InvalidInput, NotFound
from miles.store.repos.snapshots import MANUAL_SOURCE, seen_by
from miles.store.tables import PredictionRecord, Video, VideoSnapshot


def inputs_hash(inputs: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the inputs (sorted keys, no whitespace)."""
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record_prediction(
    *,
    session: Session,
    user_id: int | None,
    model_version: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    video_id: str | None = None,
) -> PredictionRecord:
    row = PredictionRecord(
        user_id=user_id,
        model_version=model_version,
        inputs_hash=inputs_hash(inputs),
        inputs=inputs,
        outputs=outputs,
        video_id=video_id,
    )
    session.add(row)
    session.flush()
    return row


def list_predictions(
    *, session: Session, user_id: int, limit: int = 20, offset: int = 0
) -> tuple[list[PredictionRecord], int]:
    """The user's predictions, newest first, and how many there are in total."""
    where = PredictionRecord.user_id == user_id
    total = int(session.scalar(select(func.count()).select_from(PredictionRecord).where(where)) or 0)
    rows = session.scalars(
        select(PredictionRecord)
        .where(where)
        .order_by(PredictionRecord.created_at.desc(), PredictionRecord.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def get_prediction(*, session: Session, user_id: int, prediction_id: int) -> PredictionRecord | None:
    return session.scalar(
        select(PredictionRecord).where(PredictionRecord.id == prediction_id, PredictionRecord.user_id == user_id)
    )


def link_prediction(
    *, session: Session, user_id: int, prediction_id: int, video_id: str, platform: str, field: str = "body.video"
) -> tuple[PredictionRecord, bool]:
    """Link the user's scored draft to its published video, so that the ``grade`` job grades it as the video's views
    arrive; (row, newly linked). Another user's prediction is reported exactly like a missing one; a draft linked to
    another video, or scored for another platform, is refused."""
    row = get_prediction(session=session, user_id=user_id, prediction_id=prediction_id)
    if row is None:
        raise NotFound(f"you have no scored draft with id {prediction_id}")
    if row.video_id == video_id:
        return row, False
    if row.video_id is not None:
        problem = (
            f"scored draft {prediction_id} is already linked to video {row.video_id}, not {video_id}; a draft is "
            "graded against one video only"
        )
        raise InvalidInput.at(field, problem, status=409)
    scored_for = str((row.inputs or {}).get("platform") or "youtube")
    if scored_for != platform:
        problem = f"draft {prediction_id} was scored as a {scored_for} draft, but this is a {platform} video"
        raise InvalidInput.at(field, problem)
    row.video_id = video_id
    session.flush()
    return row, True


def linked_prediction(*, session: Session, user_id: int, video_id: str) -> PredictionRecord | None:
    """The user's latest scored draft linked to ``video_id`` (History's "link to the published video")."""
    stmt = (
        select(PredictionRecord)
        .where(PredictionRecord.user_id == user_id, PredictionRecord.video_id == video_id)
        .order_by(PredictionRecord.created_at.desc(), PredictionRecord.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def scored_after_h(row: PredictionRecord, published_at: datetime) -> float | None:
    """Hours after the video went out that the draft was scored; None when it was scored before (only views read
    after a forecast grade it)."""
    late_h = (as_utc(row.created_at) - as_utc(published_at)).total_seconds() / 3600.0
    return late_h if late_h > 0 else None


def linked_drafts(*, session: Session, user_id: int, video_id: str) -> list[int]:
    """Ids of the user's scored drafts linked to ``video_id``, latest scored first (each is graded; Track compares
    the video with the first)."""
    stmt = (
        select(PredictionRecord.id)
        .where(PredictionRecord.user_id == user_id, PredictionRecord.video_id == video_id)
        .order_by(PredictionRecord.created_at.desc(), PredictionRecord.id.desc())
    )
    return list(session.scalars(stmt))


def videos_to_score(
    *,
    session: Session,
    model_version: str,
    since: datetime,
    limit: int = 500,
    platform: str = "youtube",
    after: tuple[datetime, str] | None = None,
) -> list[Any]:
    """Videos of ``platform`` first stored since ``since`` that Miles' scorer has not scored with ``model_version``
    yet (a user's draft linked to the video is the user's prediction, not the scorer's), newest first; ``after``
    (the last one seen: stored time, id) pages past videos the scorer looked at and left unscored."""
    scored = select(PredictionRecord.video_id).where(
        PredictionRecord.video_id.is_not(None),
        PredictionRecord.model_version == model_version,
        PredictionRecord.user_id.is_(None),
    )
    stmt = select(Video).where(
        Video.created_at >= since,
        Video.platform == platform,
        Video.id.not_in(scored),
        Video.source.is_distinct_from(MANUAL_SOURCE),  # a video only typed in is its users' alone, never graded
    )
    if after is not None:
        stmt = stmt.where(tuple_(Video.created_at, Video.id) < tuple_(*after))
    return list(session.scalars(stmt.order_by(Video.created_at.desc(), Video.id.desc()).limit(limit)))


def snapshots_of(*, session: Session, video_ids: list[str]) -> dict[str, list[VideoSnapshot]]:
    out: dict[str, list[VideoSnapshot]] = {v: [] for v in video_ids}
    if video_ids:
        stmt = (
            select(VideoSnapshot)
            .where(VideoSnapshot.video_id.in_(video_ids), seen_by(None))  # a user's typed counts are theirs alone
            .order_by(VideoSnapshot.captured_at)
        )
        for snap in session.scalars(stmt):
            out[snap.video_id].append(snap)
    return out
