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

from miles.domain import utcnow
from miles.inputs import parse_subscribers, parse_views
from miles.serve.pages.charts import trajectory_figure
from miles.serve.pages.common import Confirm, Page, PageDep, confirm_page, notice, render
from miles.serve.pages.forms import FieldProblems, form_page
from miles.serve.pages.timezone import local_zone, parse_local
from miles.serve.paging import Offset, next_offset
from miles.serve.schemas import SafeStr
from miles.serve.services.collections import worker_active
from miles.serve.services.tracked import STORED_ALREADY, check_reading, tracked_forecasts, video_to_track
from miles.serve.web_auth import CSRF_FIELD, check_csrf, put_flash, take_flash, write_cookie
from miles.store.repos import tracked, videos

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
TRACK_PAGE_SIZE = 20  # each tracked video on a page is forecast when it is shown
Csrf = Annotated[str | None, Form(alias=CSRF_FIELD, max_length=200)]
TrackedId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def track_data(page: Page, offset: int = 0) -> dict[str, Any]:
    """One page of the user's tracked videos (TRACK_PAGE_SIZE, newest first) with their forecasts. The list stopped
    at 50 with no way on: the oldest videos could no longer get views or be stopped."""
    user_id = page.require_user()
    found = tracked_forecasts(
        session=page.session, user_id=user_id, load_predictor=page.predictor, limit=TRACK_PAGE_SIZE, offset=offset
    )
    return {
        "total": found.total,
        "offset": offset,
        "next_offset": next_offset(offset, TRACK_PAGE_SIZE, found.total),
        "page_size": TRACK_PAGE_SIZE,
        "items": found.items,
        "model_message": found.model_message,
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


def _typed(form: dict[str, str]) -> dict[str, Any]:
    return {"url": form.get("url", ""), "views_form": form}


for _route in ("/track", "/track/{tracked_id}/delete"):
    form_page(_route, "track.html", track_page_data, _typed, address=frozenset({"offset"}))
form_page("/track/{tracked_id}/views", "track.html", track_page_data, _typed, back="/track")  # flash: track_page


TRACK_NOTICES = {  # what a form's redirect back to /track says (the parameter names the form; its value is no text)
    "stopped": "Tracking stopped. The views already recorded stay in the store.",
    "views": "Views added; the forecast now starts from them.",
    "views_again": STORED_ALREADY,  # the same count at the same time, sent again
    "added": "Tracking the video. New views arrive each time the worker polls it.",
}


def _track_notice(page: Page, items: list[dict[str, Any]]) -> str | None:
    """The fixed confirmation for the form just sent; a video added names its id as stored, never the URL's text."""
    added = page.request.query_params.get("added")
    known = next((i["video_id"] for i in items if i["video_id"] == added), None)
    if known is None:
        return notice(page, TRACK_NOTICES)
    if not worker_active(page.session):  # it said views would arrive, and with no worker none ever did
        return (f"Tracking {known}. No worker is running here, so no views arrive by themselves yet: whoever runs "
                "Miles starts one with `miles worker`; meanwhile you can type the views you read below.")  # fmt: skip
    return f"Tracking {known}. New views arrive each time the worker polls it."


@router.get("/track")
@router.get("/track.json")
def track_page(page: PageDep, offset: Offset = 0) -> Response:
    data = track_data(page, offset)
    if page.wants_json:
        return render(page, "track.html", data)
    flash, page.web = take_flash(page.request, page.web)  # e.g. the typed values the last views form did not use
    extra = {"figures": _figures(data["items"]), "notice": _track_notice(page, data["items"]), **(flash or {})}
    return render(page, "track.html", data, **extra)


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
    reading: dict[str, Any] = {"session": page.session, "user_id": user_id, "tracked_id": tracked_id, "views": count,
                               "captured_at": captured, "title": title.strip() or None, "published_at": published,
                               "tz": tz}  # fmt: skip
    # every problem at once (the API's and the MCP tool's pass): the fields read above and what the count contradicts
    check_reading(**reading, found=problems.problems)
    recorded = tracked.record_views(**reading, channel_subscribers=channel)
    page.commit()
    notice_key = "views" if recorded.stored else "views_again"
    response = RedirectResponse(f"/track?{notice_key}={tracked_id}#tracked-{tracked_id}", status_code=303)
    not_used = recorded.notes
    if not_used:  # a title or publish time typed for a video Miles knows: the next view says it was not used
        flash = {"not_used": not_used, "not_used_for": tracked_id}
        write_cookie(response, page.request, put_flash(page.request, page.web, flash))
    return response
