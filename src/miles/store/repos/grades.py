"""``prediction_grades``: stored predictions graded against the views that arrived, and live accuracy from them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from miles.store.repos.snapshots import quarantined_ids, seen_by
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
            seen_by(None),
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


def _band_sql() -> Any:
    """A grade's channel-size band (BANDS, or "unknown") as SQL: live accuracy groups in the database."""
    subs = PredictionGrade.channel_subscribers
    whens = [(subs < hi, name) for name, _, hi in BANDS[:-1]]
    return case((subs.is_(None), "unknown"), *whens, else_=BANDS[-1][0])


def _summaries(session: Session, where: list[Any], key: Any | None) -> dict[Any, dict[str, Any]]:
    """Live-accuracy figures per value of ``key`` (one group when None), aggregated by the database: a month of
    grades is never loaded into memory."""
    err = PredictionGrade.error_log10
    columns = [
        func.count(func.distinct(PredictionGrade.video_id)),
        func.count(PredictionGrade.id),
        func.sum(func.abs(err)),
        func.sum(err),
        func.sum(case((PredictionGrade.inside, 1), else_=0)),
    ]
    stmt = select(*([key] if key is not None else []), *columns).where(*where)
    if key is not None:
        stmt = stmt.group_by(key)
    out = {}
    for row in session.execute(stmt):
        group, (videos, n, abs_sum, err_sum, inside) = (row[0], row[1:]) if key is not None else (None, tuple(row))
        out[group] = {
            "videos": int(videos),
            "grades": int(n),
            "mae_log10": round(float(abs_sum) / n, 4) if n else None,
            "bias_log10": round(float(err_sum) / n, 4) if n else None,
            "coverage_p10_p90": round(float(inside) / n, 4) if n else None,
        }
    return out


def live_accuracy(*, session: Session, model_version: str, since: datetime) -> dict[str, Any]:
    """How the model's stored predictions did against the views that arrived (grades made since ``since``)."""
    recent = [PredictionGrade.graded_at >= since]
    mine = [*recent, PredictionGrade.model_version == model_version]
    band = _band_sql().label("band")
    by_h = _summaries(session, mine, PredictionGrade.horizon_h)
    by_band = _summaries(session, mine, band)
    by_version = _summaries(session, recent, PredictionGrade.model_version)
    band_order = [name for name, _, _ in BANDS] + ["unknown"]
    return {
        "model_version": model_version,
        "since": since.isoformat(),
        **_summaries(session, mine, None)[None],
        "by_horizon": [{"horizon_h": h, **by_h[h]} for h in sorted(by_h)],
        "by_channel_size": [{"band": b, **by_band[b]} for b in band_order if b in by_band],
        "by_version": [{"model_version": v, **by_version[v]} for v in sorted(by_version)],
    }
