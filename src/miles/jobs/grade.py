"""Grade stored predictions against the views that arrived (the ``grade`` job; DESIGN.md §7).

A prediction is graded at one of its horizons once a capture of its video taken *after* the prediction was made
lands within ±25 % of that age (at least ±15 minutes), and only at horizons still ahead when it was made (a draft
scored after its video went out forecast nothing about the ages already past): the error in log10 units and whether
the views fell inside p10-p90, per model version. Quarantined snapshots (``miles quality``) and captures in another
view metric than the video's first are never used. Each horizon is graded once, by the capture nearest to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from miles.config import Settings
from miles.domain import utcnow
from miles.store.db import session_scope
from miles.store.repos import grades as grade_repo
from miles.store.repos.predictions import scored_after_h
from miles.store.tables import PredictionRecord, VideoSnapshot

BATCH = 500
TOLERANCE = 0.25  # relative distance from a horizon's age a capture may have
MIN_TOLERANCE_H = 0.25
LOOKBACK = timedelta(days=45)  # the longest horizon (30 d) plus slack: older predictions are done


def grade_predictions(
    *, settings: Settings, now: datetime | None = None, heartbeat: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Grade every stored prediction of the last 45 days whose horizons now have a capture."""
    now = now or utcnow()
    after, checked, graded = 0, 0, 0
    while True:
        with session_scope(settings) as session:
            batch = grade_repo.predictions_to_grade(session=session, since=now - LOOKBACK, after_id=after, limit=BATCH)
            if not batch:
                break
            after = batch[-1][0].id
            done = grade_repo.graded_horizons(session=session, prediction_ids=[p.id for p, _ in batch])
            snaps = grade_repo.clean_snapshots_of(
                session=session, video_ids=sorted({str(p.video_id) for p, _ in batch})
            )
            rows = [
                g for p, published in batch for g in grades_for(p, published, snaps[str(p.video_id)], done[p.id], now)
            ]
            graded += grade_repo.add_grades(session=session, grades=rows)
            checked += len(batch)
        if heartbeat is not None:
            heartbeat()
    return {"checked": checked, "graded": graded}


def horizons_of(record: PredictionRecord) -> list[dict[str, Any]]:
    """The horizons of a stored prediction (scored videos store the prediction; drafts wrap it with variants)."""
    outputs = record.outputs or {}
    prediction = outputs.get("prediction", outputs)
    return list(prediction.get("horizons") or []) if isinstance(prediction, dict) else []


def grades_for(
    record: PredictionRecord,
    published_at: datetime,
    snaps: Sequence[VideoSnapshot],
    done: set[float],
    now: datetime,
) -> list[dict[str, Any]]:
    later = [s for s in snaps if s.captured_at > record.created_at and s.captured_at <= now]
    # a horizon already past when the forecast was made is no forecast: a draft scored an hour after its video went
    # out was graded at 1 h by a capture 1 minute later (within the tolerance), against its own note
    passed_h = scored_after_h(record, published_at) or 0.0
    out = []
    for h in horizons_of(record):
        horizon = float(h["horizon_h"])
        if horizon in done or not later or horizon <= passed_h:
            continue
        best = min(later, key=lambda s: abs(_age_h(s, published_at) - horizon))
        age = _age_h(best, published_at)
        if abs(age - horizon) > max(TOLERANCE * horizon, MIN_TOLERANCE_H):
            continue
        p10, p50, p90 = float(h["p10"]), float(h["p50"]), float(h["p90"])
        subscribers = best.channel_subscribers
        if subscribers is None:
            subscribers = (record.inputs or {}).get("channel_subscribers")
        out.append({
            "prediction_id": record.id, "model_version": record.model_version, "video_id": best.video_id,
            "horizon_h": horizon, "age_h": round(age, 3), "actual_views": int(best.views),
            "p10": p10, "p50": p50, "p90": p90,
            "error_log10": math.log10(p50 + 1) - math.log10(best.views + 1),
            "inside": p10 <= best.views <= p90, "channel_subscribers": subscribers, "graded_at": now,
        })  # fmt: skip
    return out


def _age_h(snap: VideoSnapshot, published_at: datetime) -> float:
    return (snap.captured_at - published_at).total_seconds() / 3600
