"""The embedding cache table behind ``miles.model.encoders.EmbeddingCache``: encode a text or image once.

Rows are keyed by (encoder id, SHA-256 of the content); vectors are stored as little-endian float32 bytes.
``DbEmbeddingCache`` opens a short transaction per call, so it can be handed to encoders that live longer
than one request (the served predictor, a training run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from miles.store.tables import Embedding

CHUNK = 500


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def get_embeddings(*, session: Session, encoder_id: str, hashes: Sequence[str]) -> dict[str, NDArray[np.float32]]:
    out: dict[str, NDArray[np.float32]] = {}
    for part in _chunks(list(dict.fromkeys(hashes))):
        rows = session.execute(
            select(Embedding.content_hash, Embedding.dim, Embedding.vector).where(
                Embedding.encoder_id == encoder_id, Embedding.content_hash.in_(list(part))
            )
        )
        for content_hash, dim, vector in rows:
            vec = np.frombuffer(vector, dtype="<f4")
            if vec.shape == (dim,):
                out[content_hash] = vec.astype(np.float32)
    return out


def put_embeddings(*, session: Session, encoder_id: str, items: dict[str, NDArray[np.float32]]) -> int:
    """Insert vectors not stored yet (an existing row for the same key is kept); returns rows offered."""
    if not items:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    rows = [
        {
            "encoder_id": encoder_id,
            "content_hash": h,
            "dim": int(np.asarray(v).size),
            "vector": np.asarray(v, dtype="<f4").tobytes(),
        }
        for h, v in items.items()
    ]
    stmt = insert(Embedding).on_conflict_do_nothing(index_elements=["encoder_id", "content_hash"])
    for start in range(0, len(rows), CHUNK):
        session.execute(stmt, rows[start : start + CHUNK])
    return len(rows)


def count_embeddings(*, session: Session, encoder_id: str | None = None) -> int:
    from sqlalchemy import func

    stmt = select(func.count()).select_from(Embedding)
    if encoder_id is not None:
        stmt = stmt.where(Embedding.encoder_id == encoder_id)
    return int(session.scalar(stmt) or 0)


class DbEmbeddingCache:
    """``EmbeddingCache`` over the ``embeddings`` table; ``scope`` opens one transaction (``session_scope``)."""

    def __init__(self, scope: Callable[[], AbstractContextManager[Session]]) -> None:
        self._scope = scope

    def get_many(self, encoder_id: str, hashes: list[str]) -> dict[str, NDArray[np.float32]]:
        with self._scope() as session:
            return get_embeddings(session=session, encoder_id=encoder_id, hashes=hashes)

    def put_many(self, encoder_id: str, items: dict[str, NDArray[np.float32]]) -> None:
        with self._scope() as session:
            put_embeddings(session=session, encoder_id=encoder_id, items=items)
