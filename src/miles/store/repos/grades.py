"""``prediction_grades``: stored predictions graded against the views that arrived, and live accuracy from them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from miles.store.repos.snapshots import MANUAL_SOURCE, quarantined_ids
from miles.store.tables import PredictionGrade, PredictionRecord, Video, VideoSnapshot

BANDS: tuple[tuple[str, float, float], ...] = (
    ("< 1k", 0, 1e3),
    ("1k–10k", 1e3, 1e4),
    ("10k–100k", 1e4, 1e5),
    ("100k–1M", 1e5, 1e6),
    ("≥ 1M", 1e6, float("inf")),
)


def predictions_to_grade(
    *, session: Session, since: datetime, after_id: int, limit: int
) -> list[tuple[PredictionRecord, datetime]]:
    """Predictions of known videos made since ``since`` (id order, after ``after_id``), with the publish time."""
    stmt = (
        select(PredictionRecord, Video.published_at)
        .join(Video, Video.id == PredictionRecord.video_id)
        .where(PredictionRecord.created_at >= since, PredictionRecord.id > after_id)
        .order_by(PredictionRecord.id)
        .limit(limit)
    )
    return [(p, published) for p, published in session.execute(stmt).all()]


def graded_horizons(*, session: Session, prediction_ids: Sequence[int]) -> dict[int, set[float]]:
    out: dict[int, set[float]] = defaultdict(set)
    if prediction_ids:
        stmt = select(PredictionGrade.prediction_id, PredictionGrade.horizon_h).where(
            PredictionGrade.prediction_id.in_(list(prediction_ids))
        )
        for pid, horizon in session.execute(stmt):
            out[pid].add(float(horizon))
    return out


def clean_snapshots_of(*, session: Session, video_ids: Sequence[str]) -> dict[str, list[VideoSnapshot]]:
    """Each video's snapshots in time order, without quarantined ones or counts a user typed in (``web-entry``:
    unverified, so they never grade), and only in the video's first view metric."""
    out: dict[str, list[VideoSnapshot]] = {v: [] for v in video_ids}
    if not video_ids:
        return out
    stmt = (
        select(VideoSnapshot)
        .where(
            VideoSnapshot.video_id.in_(list(video_ids)),
            VideoSnapshot.id.not_in(quarantined_ids()),
            func.coalesce(VideoSnapshot.source, "") != MANUAL_SOURCE,
        )
        .order_by(VideoSnapshot.video_id, VideoSnapshot.captured_at)
    )
    for snap in session.scalars(stmt):
        kept = out[snap.video_id]
        if not kept or snap.view_metric == kept[0].view_metric:
            kept.append(snap)
    return out


def grades_of(*, session: Session, prediction_id: int) -> list[PredictionGrade]:
    """One prediction's grades, by horizon (the caller checked the prediction is the user's)."""
    stmt = select(PredictionGrade).where(PredictionGrade.prediction_id == prediction_id)
    return list(session.scalars(stmt.order_by(PredictionGrade.horizon_h)))


def add_grades(*, session: Session, grades: Iterable[dict[str, Any]]) -> int:
    rows = [PredictionGrade(**g) for g in grades]
    session.add_all(rows)
    session.flush()
    return len(rows)


def band_of(subscribers: float | None) -> str:
    if subscribers is None:
        return "unknown"
    return next(name for name, lo, hi in BANDS if lo <= subscribers < hi)


def _summary(rows: Sequence[PredictionGrade]) -> dict[str, Any]:
    n = len(rows)
    return {
        "videos": len({r.video_id for r in rows}),
        "grades": n,
        "mae_log10": round(sum(abs(r.error_log10) for r in rows) / n, 4) if n else None,
        "bias_log10": round(sum(r.error_log10 for r in rows) / n, 4) if n else None,
        "coverage_p10_p90": round(sum(r.inside for r in rows) / n, 4) if n else None,
    }


def live_accuracy(*, session: Session, model_version: str, since: datetime) -> dict[str, Any]:
    """How the model's stored predictions did against the views that arrived (grades made since ``since``)."""
    stmt = select(PredictionGrade).where(PredictionGrade.graded_at >= since)
    rows = list(session.scalars(stmt))
    mine = [r for r in rows if r.model_version == model_version]
    by_h: dict[float, list[PredictionGrade]] = defaultdict(list)
    by_band: dict[str, list[PredictionGrade]] = defaultdict(list)
    by_version: dict[str, list[PredictionGrade]] = defaultdict(list)
    for r in mine:
        by_h[r.horizon_h].append(r)
        by_band[band_of(r.channel_subscribers)].append(r)
    for r in rows:
        by_version[r.model_version].append(r)
    band_order = [name for name, _, _ in BANDS] + ["unknown"]
    return {
        "model_version": model_version,
        "since": since.isoformat(),
        **_summary(mine),
        "by_horizon": [{"horizon_h": h, **_summary(by_h[h])} for h in sorted(by_h)],
        "by_channel_size": [{"band": b, **_summary(by_band[b])} for b in band_order if b in by_band],
        "by_version": [{"model_version": v, **_summary(by_version[v])} for v in sorted(by_version)],
    }
