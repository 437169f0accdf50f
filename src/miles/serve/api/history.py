"""GET /history: the caller's past predictions, newest first; POST /predictions/{id}/link: link a scored draft to
its published video (graded as its views arrive)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from miles.serve.api.common import ERRORS
from miles.serve.deps import SessionDep, SettingsDep, UserIdDep
from miles.serve.paging import Limit, Offset
from miles.serve.schemas import HistoryPage, LinkIn, LinkOut
from miles.serve.services.history import history_page
from miles.serve.services.links import link_draft

router = APIRouter(tags=["history"], responses=ERRORS)


@router.get("/history", summary="Your past predictions")
def history(user_id: UserIdDep, session: SessionDep, limit: Limit = 20, offset: Offset = 0) -> HistoryPage:
    return history_page(session=session, user_id=user_id, limit=limit, offset=offset)


@router.post(
    "/predictions/{prediction_id}/link",
    summary="Link a scored draft to its published video",
    responses={409: ERRORS[422]},
)
def link_prediction(
    prediction_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: LinkIn,
    user_id: UserIdDep,
    session: SessionDep,
    settings: SettingsDep,
) -> LinkOut:
    """The draft's stored prediction is graded at each horizon as the video's views arrive (the `grade` job; only
    captures taken after the prediction was made count). Miles tracks the video for you if you do not yet. Your own
    predictions only (another user's id is a 404); a draft links to one video (409 for another)."""
    return LinkOut.model_validate(
        link_draft(session=session, settings=settings, user_id=user_id, prediction_id=prediction_id, video=body.video)
    )
