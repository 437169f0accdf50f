"""Pagination shared by the API, the pages, the MCP tools, their services and the CLI: the ``limit``/``offset``
query parameters and the one rule for ``next_offset``. Kept out of ``serve.api`` so that services and pages need
not import the API layer (imports point one way: api and pages -> services -> this)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")]


def next_offset(offset: int, limit: int, total: int) -> int | None:
    """The offset of the next page, or None on the last one."""
    return offset + limit if offset + limit < total else None
