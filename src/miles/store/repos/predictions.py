"""Stored predictions: inputs hash, inputs, outputs and model version, for history and later accuracy checks."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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


def videos_to_score(
    *, session: Session, model_version: str, since: datetime, limit: int = 500, platform: str = "youtube"
) -> list[Any]:
    """Videos of ``platform`` first stored since ``since`` that have no prediction from ``model_version`` yet."""
    scored = select(PredictionRecord.video_id).where(
        PredictionRecord.video_id.is_not(None), PredictionRecord.model_version == model_version
    )
    stmt = (
        select(Video)
        .where(Video.created_at >= since, Video.platform == platform, Video.id.not_in(scored))
        .order_by(Video.created_at.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def snapshots_of(*, session: Session, video_ids: list[str]) -> dict[str, list[VideoSnapshot]]:
    out: dict[str, list[VideoSnapshot]] = {v: [] for v in video_ids}
    if video_ids:
        stmt = select(VideoSnapshot).where(VideoSnapshot.video_id.in_(video_ids)).order_by(VideoSnapshot.captured_at)
        for snap in session.scalars(stmt):
            out[snap.video_id].append(snap)
    return out
