"""Link a scored draft to its published video: the prediction is then graded as the video's views arrive.

The user scored a draft (``POST /api/v1/predict`` or the Score page; a stored prediction in their history) and later
published it. Linking names the published video: Miles starts tracking it for the user (if it is not tracked yet)
so that its views are polled, and the ``grade`` job grades the stored prediction at each horizon from captures taken
*after* the prediction was made (user-typed counts never grade). Owner-only: another user's prediction is reported
exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from miles.config import Settings
from miles.domain import platform_of_url, utcnow
from miles.inputs import format_elapsed
from miles.recommend.scoring import horizon_label  # 7d, 30d: as the forecast cards name them
from miles.serve.services.tracked import video_to_track
from miles.store.repos import grades as grade_repo
from miles.store.repos import predictions, videos
from miles.store.repos.tracking import schedule_video
from miles.store.tables import PredictionGrade, PredictionRecord


def link_draft(
    *, session: Session, settings: Settings, user_id: int, prediction_id: int, video: str, field: str = "body.video"
) -> dict[str, Any]:
    """Link prediction ``prediction_id`` of ``user_id`` to ``video`` (URL or id) and track the video."""
    video_id, url = video_to_track(video, field)
    platform = platform_of_url(url)
    row, linked = predictions.link_prediction(
        session=session, user_id=user_id, prediction_id=prediction_id, video_id=video_id, platform=platform, field=field
    )
    tracked, started = schedule_video(
        session=session, video_id=video_id, url=url, now=utcnow(), schedule_h=settings.track_schedule_h, user_id=user_id
    )
    return {
        "prediction_id": row.id,
        "video_id": video_id,
        "url": url,
        "linked": linked,
        "tracked_id": tracked.id,
        "tracking_started": started,
        "grades": grades_out(grade_repo.grades_of(session=session, prediction_id=row.id)),
        "note": link_note(session, row),
    }


def link_note(session: Session, row: PredictionRecord) -> str | None:
    """What a creator should know about a linked draft: ``late_note``, and the other drafts linked to the same video
    (a creator who scored several versions and linked two saw Track compare only one of them, unsaid)."""
    notes = [late_note(session, row), _also_linked_note(session, row)]
    return " ".join(n for n in notes if n) or None


def _also_linked_note(session: Session, row: PredictionRecord) -> str | None:
    if row.video_id is None or row.user_id is None:
        return None
    ids = predictions.linked_drafts(session=session, user_id=row.user_id, video_id=row.video_id)
    others = [i for i in ids if i != row.id]
    if not others:
        return None
    drafts = ", ".join(f"#{i}" for i in others)
    which = f"drafts {drafts} are" if len(others) > 1 else f"draft {drafts} is"
    compared = "this one" if ids[0] == row.id else f"#{ids[0]}"
    return (f"Your {which} linked to this video too: each is graded, and Track compares the video with the latest "
            f"scored one ({compared}).")  # fmt: skip


def late_note(session: Session, row: PredictionRecord) -> str | None:
    """When a draft was scored after its linked video went out, which of its horizons can still be graded (only views
    read after a forecast count): a draft scored months on was linked with "No horizon graded yet", as if some would
    be. None when it was scored before, or Miles has not read the video yet."""
    video = videos.video_as_seen(session=session, video_id=row.video_id, user_id=row.user_id) if row.video_id else None
    if video is None:
        return None
    late_h = predictions.scored_after_h(row, video.published_at)
    if late_h is None:
        return None
    horizons = [float(h["horizon_h"]) for h in ((row.outputs or {}).get("prediction") or {}).get("horizons", [])]
    later = [h for h in horizons if h > late_h]
    when = format_elapsed(late_h)  # as the Track page says it ("scored 3 days after the video went out")
    if not later:
        return (f"This draft was scored {when} after the video went out, past its last horizon: no horizon can be "
                "graded (only views read after a forecast is made count).")  # fmt: skip
    return (f"This draft was scored {when} after the video went out: only its horizons after that "
            f"({', '.join(horizon_label(h) for h in later)}) can be graded.")  # fmt: skip


def grades_out(rows: list[PredictionGrade]) -> list[dict[str, Any]]:
    return [
        {
            "horizon_h": g.horizon_h,
            "age_h": g.age_h,
            "actual_views": g.actual_views,
            "p10": g.p10,
            "p50": g.p50,
            "p90": g.p90,
            "error_log10": round(g.error_log10, 4),
            "inside": g.inside,
            "graded_at": g.graded_at,
        }
        for g in rows
    ]
