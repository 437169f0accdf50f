"""Append-only archive of source payloads as received (STYLE.md habit 3), in the ``raw_payloads`` table.

Rows are never updated or deleted; the same payload from the same source is stored once (content hash).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from miles.domain import utcnow
from miles.store.tables import RawPayload


def encode_payload(payload: Any) -> str:
    """JSON text of a payload exactly as received (strings are kept verbatim)."""
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, default=str)


def archive(*, session: Session, source: str, key: str, payload: Any, received_at: datetime | None = None) -> bool:
    """Store one payload; returns False when the same payload from ``source`` is already archived."""
    text = encode_payload(payload)
    digest = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
    row = {
        "source": source[:64],
        "key": key[:300],
        "content_hash": digest,
        "payload": text,
        "received_at": received_at or utcnow(),
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(RawPayload).values(row).on_conflict_do_nothing(index_elements=["source", "content_hash"])
    return bool(session.execute(stmt.returning(RawPayload.id)).first())


def iter_payloads(*, session: Session, source: str | None = None, key: str | None = None) -> Iterator[RawPayload]:
    """Archived payloads in arrival order, optionally for one source and key."""
    stmt = select(RawPayload).order_by(RawPayload.id)
    if source is not None:
        stmt = stmt.where(RawPayload.source == source)
    if key is not None:
        stmt = stmt.where(RawPayload.key == key)
    yield from session.scalars(stmt)
