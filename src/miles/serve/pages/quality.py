"""Data quality: what the checks flagged in the collected data, and which snapshots are quarantined."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from miles.serve.pages.common import PageDep, render
from miles.serve.services.quality import quality_data

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/quality")
@router.get("/quality.json")
def quality(
    page: PageDep,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    return render(page, "quality.html", quality_data(session=page.session, kind=kind, limit=PAGE_SIZE, offset=offset))
