"""GET|POST|DELETE /tracked: the caller's tracked videos (re-polled by the tracking job)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from miles.domain import (
    YOUTUBE_VIDEO_ID,
    is_tiktok_short_link,
    tiktok_video_ref,
    youtube_id_in_url,
    youtube_watch_url,
)
from miles.errors import InvalidInput
from miles.serve.api.common import ERRORS, Limit, Offset, next_offset
from miles.serve.deps import PredictorDep, SessionDep, SettingsDep, UserIdDep
from miles.serve.schemas import TrackedOut, TrackedPage, TrackIn, ViewsIn, ViewsRecordedOut
from miles.serve.services.tracked import enter_views
from miles.store.repos import tracked
from miles.store.tables import TrackedVideo

router = APIRouter(tags=["tracking"], responses=ERRORS)


def youtube_video_id(url: str, field: str = "body.url") -> str:
    """The 11-character id from a watch, shorts, embed or youtu.be URL, or a bare id."""
    url = url.strip()
    if YOUTUBE_VIDEO_ID.match(url):
        return url
    found = youtube_id_in_url(url)
    if found is None:
        raise InvalidInput(
            f"{field}: not a YouTube video URL or id (nor a TikTok video URL): {url[:200]!r}",
            details=[{"field": field}],
        )
    return found


def video_to_track(url: str, field: str = "body.url") -> tuple[str, str]:
    """(video id, URL to poll) of a YouTube or TikTok video link (or a bare YouTube id)."""
    if ref := tiktok_video_ref(url):
        return ref
    if is_tiktok_short_link(url):
        raise InvalidInput(
            f"{field}: a TikTok short link names no video id; open it and give the full "
            "https://www.tiktok.com/@name/video/ID address (`miles track add` follows short links)",
            details=[{"field": field}],
        )
    video_id = youtube_video_id(url, field)
    return video_id, youtube_watch_url(video_id)


def tracked_out(row: TrackedVideo) -> TrackedOut:
    return TrackedOut(
        id=row.id,
        video_id=row.video_id,
        url=row.url,
        added_at=row.added_at,
        next_poll_at=row.next_poll_at,
        last_polled_at=row.last_polled_at,
        last_error=row.last_error,
        active=row.active,
    )


@router.get("/tracked", summary="Your tracked videos")
def list_tracked(user_id: UserIdDep, session: SessionDep, limit: Limit = 20, offset: Offset = 0) -> TrackedPage:
    rows, total = tracked.list_tracked(session=session, user_id=user_id, limit=limit, offset=offset)
    items = [tracked_out(r) for r in rows]
    return TrackedPage(
        total=total, limit=limit, offset=offset, next_offset=next_offset(offset, limit, total), items=items
    )


@router.post("/tracked", status_code=201, summary="Track a published video", responses={409: ERRORS[422]})
def add_tracked(body: TrackIn, user_id: UserIdDep, session: SessionDep, settings: SettingsDep) -> TrackedOut:
    """Miles re-polls its views on the tracking schedule (`MILES_TRACK_SCHEDULE_H`)."""
    video_id, url = video_to_track(body.url)
    row = tracked.add_tracked(
        session=session,
        user_id=user_id,
        video_id=video_id,
        url=url,
        schedule_h=settings.track_schedule_h,
    )
    return tracked_out(row)


@router.delete("/tracked/{tracked_id}", status_code=204, summary="Stop tracking a video")
def delete_tracked(
    tracked_id: Annotated[int, Path(ge=1, le=2**31 - 1)], user_id: UserIdDep, session: SessionDep
) -> Response:
    tracked.delete_tracked(session=session, user_id=user_id, tracked_id=tracked_id)
    return Response(status_code=204)


@router.post("/tracked/{tracked_id}/views", status_code=201, summary="Enter views you read for a tracked video")
def add_views(
    tracked_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: ViewsIn,
    user_id: UserIdDep,
    session: SessionDep,
    predictor: PredictorDep,
) -> ViewsRecordedOut:
    """Views you read yourself (YouTube Studio, the app), as on the Track page: stored as a reading that only you
    see, after which the video's forecast is in early mode and the forecast made before publishing is checked against
    them. Views only grow: a count that contradicts an earlier or later reading is refused (422), as is one read before
    publishing or in the future. A video Miles has not read yet needs `title` and `published_at`."""
    return ViewsRecordedOut.model_validate(
        enter_views(session=session, user_id=user_id, tracked_id=tracked_id, body=body, load_predictor=predictor)
    )
