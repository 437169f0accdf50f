"""A user's past predictions, newest first: ``GET /api/v1/history`` and the MCP tool ``prediction_history``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from miles.serve.paging import next_offset
from miles.serve.schemas import HistoryItemOut, HistoryPage
from miles.store.repos import predictions


def history_page(*, session: Session, user_id: int, limit: int, offset: int) -> HistoryPage:
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
