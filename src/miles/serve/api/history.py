"""GET /history: the caller's past predictions, newest first."""

from __future__ import annotations

from fastapi import APIRouter

from miles.serve.api.common import ERRORS, Limit, Offset, next_offset
from miles.serve.deps import SessionDep, UserIdDep
from miles.serve.schemas import HistoryItemOut, HistoryPage
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
        )
        for r in rows
    ]
    return HistoryPage(
        total=total, limit=limit, offset=offset, next_offset=next_offset(offset, limit, total), items=items
    )
