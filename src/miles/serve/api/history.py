"""GET /history: the caller's past predictions, newest first; POST /predictions/{id}/link: link a scored draft to
its published video (graded as its views arrive)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from miles.serve.api.common import ERRORS, Limit, Offset, next_offset
from miles.serve.deps import SessionDep, SettingsDep, UserIdDep
from miles.serve.schemas import HistoryItemOut, HistoryPage, LinkIn, LinkOut
from miles.serve.services.links import link_draft
from miles.store.repos import predictions

router = APIRouter(tags=["history"], responses=ERRORS)


@router.get("/history", summary="Your past predictions")
def history(user_id: UserIdDep, session: SessionDep, limit: Limit = 20, offset: Offset = 0) -> HistoryPage:
    rows, total = predictions.list_predictions(session=session, user_id=user_id, limit=limit, offset=offset)
    items = [
        HistoryItemOut(
            id=r.id,
            created_at=r.created_at,
            model_version=r.model_version,
            inputs_hash=r.inputs_hash,
            inputs=r.inputs,
            outputs=r.outputs,
            video_id=r.video_id,
        )
        for r in rows
    ]
    return HistoryPage(
        total=total, limit=limit, offset=offset, next_offset=next_offset(offset, limit, total), items=items
    )


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
