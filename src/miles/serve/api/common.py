"""Shared pieces of the /api/v1 routers: documented error responses (pagination lives in ``serve.paging``)."""

from __future__ import annotations

from typing import Any

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
