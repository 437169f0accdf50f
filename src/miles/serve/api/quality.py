"""GET /quality: data-quality findings and quarantined snapshots (`miles quality`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from miles.serve.api.common import ERRORS
from miles.serve.deps import CallerDep, SessionDep
from miles.serve.paging import Limit, Offset
from miles.serve.schemas import QualityPage
from miles.serve.services.quality import quality_data

router = APIRouter(tags=["quality"], responses=ERRORS)
Kind = Annotated[str | None, Query(max_length=32, description="Only findings of this kind.")]


@router.get("/quality", summary="Data-quality findings; quarantined snapshots are kept out of training")
def quality(
    _caller: CallerDep, session: SessionDep, kind: Kind = None, limit: Limit = 20, offset: Offset = 0
) -> QualityPage:
    return QualityPage.model_validate(quality_data(session=session, kind=kind, limit=limit, offset=offset))
