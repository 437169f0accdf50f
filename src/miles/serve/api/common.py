"""Shared pieces of the /api/v1 routers: documented error responses and the check that every query parameter is
one the route takes (pagination lives in ``serve.paging``)."""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from fastapi import Request

from miles.domain import as_utc, iso_utc
from miles.errors import InvalidInput
from miles.serve.schemas import ErrorOut

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked API key."},
    404: {"model": ErrorOut, "description": "Not found."},
    413: {"model": ErrorOut, "description": "Request body or image too large."},
    422: {"model": ErrorOut, "description": "Invalid input; `details` lists each field path."},
    429: {"model": ErrorOut, "description": "Rate limit exceeded; see the Retry-After header."},
}
MODEL_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    502: {"model": ErrorOut, "description": "A thumbnail URL could not be fetched."},
    409: {"model": ErrorOut, "description": "No model for the draft's platform yet (`no_platform_model`: TikTok)."},
    503: {"model": ErrorOut, "description": "No model is available to serve."},
}


def _query_names(dependant: Any) -> set[str]:
    """The query parameters a route's dependant and its sub-dependencies declare (by the name sent)."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def known_query(request: Request) -> None:
    """A query parameter the route does not take is a 422 that names it (``/videos?lmit=3`` answered 20 items, as
    if no limit had been asked for), with the parameter meant when one is close."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    known = sorted(_query_names(dependant))
    unknown = [name for name in request.query_params if name not in known]
    if not unknown:
        return
    details = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"it takes {', '.join(known) or 'none'}"
        details.append({"field": f"query.{name}", "message": f"not a parameter of this route ({hint})"})
    raise InvalidInput(f"{details[0]['field']}: {details[0]['message']}", details=details)


def time_range(
    start: datetime | None, end: datetime | None, names: tuple[str, str]
) -> tuple[datetime | None, datetime | None]:
    """A from/to pair of query times in UTC; a 422 naming both when the end (exclusive) is not after the start (a
    ``published_from`` later than ``published_to`` answered 0 results, as if nothing had been published)."""
    start, end = (as_utc(start) if start else None), (as_utc(end) if end else None)
    if start is None or end is None or start < end:
        return start, end
    first, second = names
    problem = (
        f"{first} ({iso_utc(start)}) is not before {second} ({iso_utc(end)}), so nothing can match ({second} is "
        "exclusive): swap them or widen the range"
    )
    details = [{"field": f"query.{name}", "message": problem} for name in names]
    raise InvalidInput(f"query.{first}, query.{second}: {problem}", details=details)
