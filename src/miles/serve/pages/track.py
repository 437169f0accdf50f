"""Track: the user's tracked videos, each with its observed view trajectory and the model's forecast band.

Snapshots arrive when the worker (``miles worker``, or once with ``miles track run``) polls the videos; the
forecast uses the predictor in early mode with those snapshots as the early views. The list re-loads itself
every minute, so new snapshots appear without a reload.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from miles.domain import as_utc
from miles.errors import MilesError
from miles.model.predict import DraftInput
from miles.recommend.platforms import model_platform, no_model_message
from miles.serve.api.tracked import video_to_track
from miles.serve.pages.charts import trajectory_figure
from miles.serve.pages.common import Page, PageDep, render
from miles.serve.schemas import SafeStr
from miles.serve.services.model import PredictorLike
from miles.serve.services.predict import mode_of, to_prediction_out
from miles.serve.web_auth import CSRF_FIELD, check_csrf
from miles.store.repos import tracked, videos
from miles.store.tables import TrackedVideo, Video, VideoSnapshot

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
MAX_TRACKED_SHOWN = 50
Csrf = Annotated[str | None, Form(alias=CSRF_FIELD, max_length=200)]


def _snapshot_points(video: Video, snaps: list[VideoSnapshot]) -> list[dict[str, Any]]:
    published = as_utc(video.published_at)
    points = []
    for s in snaps:
        age_h = (as_utc(s.captured_at) - published).total_seconds() / 3600.0
        if age_h > 0:
            points.append({"captured_at": s.captured_at, "age_h": round(age_h, 3), "views": int(s.views)})
    return points


def forecast_input(video: Video, snaps: list[VideoSnapshot]) -> DraftInput:
    """The predictor's input for a published video: early mode with its snapshots so far (the stored-video
    converter the worker's scoring uses too)."""
    return DraftInput.from_stored(video, snaps)


def _predictor(page: Page) -> tuple[PredictorLike | None, str | None]:
    try:
        return page.predictor(), None
    except MilesError as exc:
        return None, exc.message


def _item(session: Session, row: TrackedVideo) -> tuple[dict[str, Any], DraftInput | None]:
    item: dict[str, Any] = {
        "id": row.id,
        "video_id": row.video_id,
        "url": row.url,
        "added_at": row.added_at,
        "next_poll_at": row.next_poll_at,
        "last_polled_at": row.last_polled_at,
        "last_error": row.last_error,
        "active": row.active,
        "title": None,
        "thumbnail_url": None,
        "published_at": None,
        "snapshots": [],
        "forecast": None,
        "platform": None,
        "forecast_note": None,
    }
    found = videos.get_video(session=session, video_id=row.video_id)
    if found is None:
        return item, None
    video, snaps = found
    points = _snapshot_points(video, snaps)
    item.update(title=video.title, thumbnail_url=video.thumbnail_url, published_at=video.published_at, snapshots=points,
                platform=video.platform)  # fmt: skip
    return item, forecast_input(video, snaps)


def _same_platform(
    page: Page, predictor: PredictorLike, wanted: list[tuple[dict[str, Any], DraftInput]]
) -> list[tuple[dict[str, Any], DraftInput]]:
    """Videos of the model's platform; the others (TikTok) get a note instead of another platform's forecast."""
    platform = model_platform(predictor)
    for item, _ in wanted:
        if item["platform"] != platform:
            item["forecast_note"] = no_model_message(item["platform"], session=page.session)
    return [(item, row) for item, row in wanted if item["platform"] == platform]


def track_data(page: Page) -> dict[str, Any]:
    user_id = page.require_user()
    rows, total = tracked.list_tracked(session=page.session, user_id=user_id, limit=MAX_TRACKED_SHOWN)
    pairs = [_item(page.session, r) for r in rows]
    model_message = None
    wanted = [(item, row) for item, row in pairs if row is not None]
    if wanted:
        predictor, model_message = _predictor(page)
        if predictor is not None:
            wanted = _same_platform(page, predictor, wanted)
            raw = list(predictor.predict([row for _, row in wanted])) if wanted else []
            for (item, row), r in zip(wanted, raw, strict=True):
                pred = to_prediction_out(r, version=predictor.version, mode=mode_of(row))
                item["forecast"] = pred.model_dump(mode="json")
    items = [item for item, _ in pairs]
    return {
        "total": total,
        "items": items,
        "model_message": model_message,
        "schedule_h": page.settings.track_schedule_h,
    }


def _figures(items: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {
        i["id"]: trajectory_figure(i["snapshots"], i["forecast"]["horizons"] if i["forecast"] else None)
        for i in items
        if i["snapshots"]
    }


@router.get("/track")
@router.get("/track.json")
def track_page(page: PageDep) -> Response:
    data = track_data(page)
    return render(page, "track.html", data, figures=_figures(data["items"]))


@router.post("/track")
def add_tracked(page: PageDep, url: Annotated[SafeStr, Form(max_length=2000)], csrf: Csrf = None) -> Response:
    check_csrf(page.request, csrf)
    user_id = page.require_user()
    video_id, video_url = video_to_track(url)
    tracked.add_tracked(
        session=page.session,
        user_id=user_id,
        video_id=video_id,
        url=video_url,
        schedule_h=page.settings.track_schedule_h,
    )
    page.commit()
    return RedirectResponse(f"/track?added={video_id}", status_code=303)


@router.post("/track/{tracked_id}/delete")
def delete_tracked(page: PageDep, tracked_id: Annotated[int, Path(ge=1, le=2**31 - 1)], csrf: Csrf = None) -> Response:
    check_csrf(page.request, csrf)
    user_id = page.require_user()
    tracked.delete_tracked(session=page.session, user_id=user_id, tracked_id=tracked_id)
    page.commit()
    return RedirectResponse("/track", status_code=303)
