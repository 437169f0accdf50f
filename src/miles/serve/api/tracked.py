"""GET|POST|DELETE /tracked: the caller's tracked videos (re-polled by the tracking job), each read with its latest
views and forecast as the Track page shows it (``services.tracked``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from miles.serve.api.common import ERRORS
from miles.serve.deps import PredictorDep, SessionDep, SettingsDep, UserIdDep
from miles.serve.paging import Limit, Offset
from miles.serve.schemas import (
    TrackedAdded,
    TrackedOut,
    TrackedVideoOne,
    TrackedVideosPage,
    TrackIn,
    ViewsIn,
    ViewsRecordedOut,
)
from miles.serve.services.tracked import enter_views, tracked_forecast, tracked_videos_page, video_to_track
from miles.store.repos import tracked
from miles.store.tables import TrackedVideo

router = APIRouter(tags=["tracking"], responses=ERRORS)
TrackedId = Annotated[int, Path(ge=1, le=2**31 - 1)]


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
        platform=row.platform,
    )


@router.get("/tracked", summary="Your tracked videos, with their latest views and forecasts")
def list_tracked(
    user_id: UserIdDep, session: SessionDep, predictor: PredictorDep, limit: Limit = 20, offset: Offset = 0
) -> TrackedVideosPage:
    """Newest first, as the Track page shows them (`GET /track.json`, the MCP tool `tracked_videos`): each with its
    `title`, `latest` views (`views`, `age_h`), `forecast` now (early mode from the views so far: `horizons` with
    p10/p50/p90, `viral_probability` and `accuracy`, the sentence saying how far off such forecasts were) and
    `forecast_check`. A title and publish time you typed for a video Miles has not read are yours alone. Without a
    model the list still comes, with no forecasts and `model_message` saying why."""
    return tracked_videos_page(session=session, user_id=user_id, load_predictor=predictor, limit=limit, offset=offset)


@router.get("/tracked/{tracked_id}", summary="One of your tracked videos, with its latest views and forecast")
def get_tracked(
    tracked_id: TrackedId, user_id: UserIdDep, session: SessionDep, predictor: PredictorDep
) -> TrackedVideoOne:
    """The video as `GET /tracked` lists it (another user's id is a 404, as a missing one); without a model,
    `forecast_note` says why there is no forecast."""
    item = tracked_forecast(session=session, user_id=user_id, tracked_id=tracked_id, load_predictor=predictor)
    return TrackedVideoOne.model_validate(item)


@router.post("/tracked", status_code=201, summary="Track a published video", responses={409: ERRORS[422]})
def add_tracked(body: TrackIn, user_id: UserIdDep, session: SessionDep, settings: SettingsDep) -> TrackedAdded:
    """Miles re-polls its views on the tracking schedule (`MILES_TRACK_SCHEDULE_H`)."""
    video_id, url = video_to_track(body.url)
    row = tracked.add_tracked(
        session=session,
        user_id=user_id,
        video_id=video_id,
        url=url,
        schedule_h=settings.track_schedule_h,
    )
    return TrackedAdded.model_validate(tracked_out(row).model_dump())


@router.delete("/tracked/{tracked_id}", status_code=204, summary="Stop tracking a video")
def delete_tracked(tracked_id: TrackedId, user_id: UserIdDep, session: SessionDep) -> Response:
    tracked.delete_tracked(session=session, user_id=user_id, tracked_id=tracked_id)
    return Response(status_code=204)


@router.post("/tracked/{tracked_id}/views", status_code=201, summary="Enter views you read for a tracked video")
def add_views(
    tracked_id: TrackedId,
    body: ViewsIn,
    user_id: UserIdDep,
    session: SessionDep,
    predictor: PredictorDep,
) -> ViewsRecordedOut:
    """Views you read yourself (YouTube Studio, the app), as on the Track page: stored as a reading that only you
    see, after which the video's forecast is in early mode and the forecast made before publishing is checked against
    them. Views only grow: a count that contradicts an earlier or later reading is refused (422), as is one read before
    publishing or in the future. A video Miles has not read yet needs `title` and `published_at`. Every problem of
    the reading is named at once (`details`: each field and why) and nothing is stored."""
    return ViewsRecordedOut.model_validate(
        enter_views(session=session, user_id=user_id, tracked_id=tracked_id, body=body, load_predictor=predictor)
    )
