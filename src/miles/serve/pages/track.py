"""Track: the user's tracked videos, each with its observed view trajectory and the model's forecast band.

Snapshots arrive when the worker (``miles worker``, or once with ``miles track run``) polls the videos; the
forecast uses the predictor in early mode with those snapshots as the early views. The list re-loads itself
every minute, so new snapshots appear without a reload.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from miles.domain import as_utc, utcnow
from miles.errors import MilesError
from miles.inputs import parse_subscribers, parse_views
from miles.model.predict import DraftInput, nothing_left_to_forecast
from miles.recommend.platforms import model_platform, no_model_message
from miles.serve.api.common import Offset, next_offset
from miles.serve.api.tracked import video_to_track
from miles.serve.pages.charts import trajectory_figure
from miles.serve.pages.common import Confirm, Page, PageDep, confirm_page, render
from miles.serve.pages.early import forecast_check
from miles.serve.pages.forms import FieldProblems, form_page
from miles.serve.pages.timezone import local_zone, parse_local
from miles.serve.schemas import SafeStr
from miles.serve.services.model import PredictorLike
from miles.serve.services.predict import mode_of, to_prediction_out
from miles.serve.web_auth import CSRF_FIELD, check_csrf, put_flash, take_flash, write_cookie
from miles.store.repos import predictions, tracked, videos
from miles.store.tables import TrackedVideo, Video, VideoSnapshot

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
TRACK_PAGE_SIZE = 20  # each tracked video on a page is forecast when it is shown
Csrf = Annotated[str | None, Form(alias=CSRF_FIELD, max_length=200)]
TrackedId = Annotated[int, Path(ge=1, le=2**31 - 1)]


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


def _item(session: Session, row: TrackedVideo, user_id: int) -> tuple[dict[str, Any], DraftInput | None]:
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
        "prepublish_forecast": None,
        "forecast_check": None,
        "linked_prediction_id": None,
        "linked_forecast": None,
        "linked_scored_after_h": None,
    }
    found = videos.get_video(session=session, video_id=row.video_id, user_id=user_id)
    if found is None:
        return item, None
    video, snaps = found
    points = _snapshot_points(video, snaps)
    item.update(title=video.title, thumbnail_url=video.thumbnail_url, published_at=video.published_at, snapshots=points,
                platform=video.platform)  # fmt: skip
    row_input = forecast_input(video, snaps)
    linked = predictions.linked_prediction(session=session, user_id=user_id, video_id=row.video_id)
    if linked is not None:  # the creator's own draft of this video: its forecast, and the channel size they gave
        item["linked_prediction_id"] = linked.id
        scored = (linked.outputs or {}).get("prediction") or {}
        item["linked_forecast"] = scored if scored.get("mode") == "prepublish" and scored.get("horizons") else None
        late_h = (as_utc(linked.created_at) - as_utc(video.published_at)).total_seconds() / 3600.0
        item["linked_scored_after_h"] = late_h if late_h > 0 else None  # a draft scored once the video was out
        subscribers = (linked.inputs or {}).get("channel_subscribers")
        if row_input.draft.channel_subscribers is None and isinstance(subscribers, int | float):
            row_input = replace(row_input, draft=replace(row_input.draft, channel_subscribers=float(subscribers)))
    return item, row_input


def _same_platform(
    page: Page, predictor: PredictorLike, wanted: list[tuple[dict[str, Any], DraftInput]]
) -> list[tuple[dict[str, Any], DraftInput]]:
    """Videos of the model's platform; the others (TikTok) get a note instead of another platform's forecast."""
    platform = model_platform(predictor)
    for item, _ in wanted:
        if item["platform"] != platform:
            item["forecast_note"] = no_model_message(item["platform"], session=page.session)
    return [(item, row) for item, row in wanted if item["platform"] == platform]


def _forecasts(predictor: PredictorLike, wanted: list[tuple[dict[str, Any], DraftInput]]) -> None:
    """Each video's forecast (early mode once it has views) and the one made from its metadata alone, as before
    publishing, compared with its latest views: one predictor call for both."""
    before = [replace(row, draft=replace(row.draft, early_views=[])) for _, row in wanted]
    past = [nothing_left_to_forecast(row.draft) for _, row in wanted]  # views known past every horizon
    ahead = [row for (_, row), why in zip(wanted, past, strict=True) if why is None]
    raw = list(predictor.predict(ahead + before))
    rest = iter(raw[: len(ahead)])
    for i, (item, row) in enumerate(wanted):
        prior = to_prediction_out(raw[len(ahead) + i], version=predictor.version, mode="prepublish")
        item["prepublish_forecast"] = item["linked_forecast"] or prior.model_dump(mode="json")
        if past[i] is None:
            now = to_prediction_out(next(rest), version=predictor.version, mode=mode_of(row))
            item["forecast"] = now.model_dump(mode="json")
        else:
            item["forecast"], item["forecast_note"] = None, "No forecast now: its views are known past every horizon."
        if (last := _latest_within(item["snapshots"], item["prepublish_forecast"]["horizons"])) is not None:
            item["forecast_check"] = forecast_check(
                item["prepublish_forecast"]["horizons"], last["age_h"], last["views"]
            )


def _latest_within(points: list[dict[str, Any]], horizons: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest reading the forecast made before publishing reaches (its last horizon): read a year on, the
    check against 7 days' views vanished instead of staying."""
    last_h = max((float(h["horizon_h"]) for h in horizons), default=0.0)
    within = [p for p in points if p["age_h"] <= last_h]
    return within[-1] if within else None


def track_data(page: Page, offset: int = 0) -> dict[str, Any]:
    """One page of the user's tracked videos (TRACK_PAGE_SIZE, newest first) with their forecasts. The list stopped
    at 50 with no way on: the oldest videos could no longer get views or be stopped."""
    user_id = page.require_user()
    rows, total = tracked.list_tracked(session=page.session, user_id=user_id, limit=TRACK_PAGE_SIZE, offset=offset)
    pairs = [_item(page.session, r, user_id) for r in rows]
    model_message = None
    wanted = [(item, row) for item, row in pairs if row is not None]
    if wanted:
        predictor, model_message = _predictor(page)
        if predictor is not None:
            wanted = _same_platform(page, predictor, wanted)
            if wanted:
                _forecasts(predictor, wanted)
    items = [item for item, _ in pairs]
    return {
        "total": total,
        "offset": offset,
        "next_offset": next_offset(offset, TRACK_PAGE_SIZE, total),
        "page_size": TRACK_PAGE_SIZE,
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


def track_page_data(page: Page) -> dict[str, Any]:
    data = track_data(page)
    return {**data, "figures": _figures(data["items"])}


for _route in ("/track", "/track/{tracked_id}/delete", "/track/{tracked_id}/views"):
    form_page(_route, "track.html", track_page_data, lambda form: {"url": form.get("url", ""), "views_form": form})


@router.get("/track")
@router.get("/track.json")
def track_page(page: PageDep, offset: Offset = 0) -> Response:
    data = track_data(page, offset)
    flash = None
    if not page.wants_json:  # e.g. the typed values the last views form did not use, shown on this view only
        flash, page.web = take_flash(page.request, page.web)
    return render(page, "track.html", data, figures=_figures(data["items"]), **(flash or {}))


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


@router.get("/track/{tracked_id}/delete")
def delete_tracked_confirm(page: PageDep, tracked_id: TrackedId) -> Response:
    """The confirmation step before tracking stops (its snapshots stay in the store; only the tracking ends)."""
    user_id = page.require_user()
    row = tracked.get_tracked(session=page.session, user_id=user_id, tracked_id=tracked_id)
    found = videos.get_video(session=page.session, video_id=row.video_id, user_id=user_id)
    name = found[0].title if found is not None else row.video_id
    return confirm_page(
        page,
        title=f"Stop tracking “{name}”?",
        consequence="Miles stops polling its views and it leaves this page. The views already recorded stay in the "
        "store; you can track it again later.",
        action=f"/track/{row.id}/delete",
        button="Stop tracking",
        cancel="/track",
    )


@router.post("/track/{tracked_id}/delete")
def delete_tracked(page: PageDep, tracked_id: TrackedId, csrf: Csrf = None, confirm: Confirm = "") -> Response:
    check_csrf(page.request, csrf)
    if confirm != "yes":  # a bare post goes to the confirmation step first
        return RedirectResponse(f"/track/{tracked_id}/delete", status_code=303)
    user_id = page.require_user()
    tracked.delete_tracked(session=page.session, user_id=user_id, tracked_id=tracked_id)
    page.commit()
    return RedirectResponse("/track?stopped=1", status_code=303)


@router.post("/track/{tracked_id}/views")
def add_views(
    page: PageDep,
    tracked_id: TrackedId,
    views: Annotated[str, Form(max_length=40)],
    csrf: Csrf = None,
    read_at: Annotated[str, Form(max_length=40)] = "",
    title: Annotated[SafeStr, Form(max_length=300)] = "",
    published_at: Annotated[str, Form(max_length=40)] = "",
    subscribers: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Views the user read themselves (YouTube Studio, the app): stored as a snapshot of the video, after which its
    forecast is in early mode and compared with the forecast made before publishing."""
    check_csrf(page.request, csrf)
    user_id = page.require_user()
    tz = local_zone(page.web)
    problems = FieldProblems()
    count = problems.check("views", lambda: parse_views(views, "views"))
    captured = problems.check("read_at", lambda: parse_local(read_at, tz, "read at") or utcnow())
    published = problems.check("published_at", lambda: parse_local(published_at, tz, "published at"))
    channel = problems.check("subscribers", lambda: parse_subscribers(subscribers, "subscribers"))
    problems.raise_if_any()
    assert count is not None and captured is not None
    not_used = tracked.record_views(
        session=page.session,
        user_id=user_id,
        tracked_id=tracked_id,
        views=count,
        captured_at=captured,
        title=title.strip() or None,
        published_at=published,
        channel_subscribers=channel,
        tz=tz,
    )
    page.commit()
    response = RedirectResponse(f"/track?views={tracked_id}#tracked-{tracked_id}", status_code=303)
    if not_used:  # a title or publish time typed for a video Miles knows: the next view says it was not used
        flash = {"not_used": not_used, "not_used_for": tracked_id}
        write_cookie(response, page.request, put_flash(page.request, page.web, flash))
    return response
