"""Data-quality findings for the API and the page (the checks run in the worker and `miles quality`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from miles.errors import InvalidInput
from miles.store.repos import quality as quality_repo


def quality_data(*, session: Session, kind: str | None, limit: int, offset: int) -> dict[str, Any]:
    if kind is not None and kind not in quality_repo.KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(quality_repo.KINDS)}, got {kind!r}")
    rows, total = quality_repo.list_flags(session=session, kind=kind, limit=limit, offset=offset)
    next_offset = offset + limit if offset + limit < total else None
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
        "kind": kind,
        "kinds": quality_repo.KINDS,
        **quality_repo.summary(session=session),
        "items": [quality_repo.flag_dict(r) for r in rows],
    }
