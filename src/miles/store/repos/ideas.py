"""Queries (topic + vibe) with their ideas, per user, and the TTL recommendation cache."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from miles.store.tables import Idea, Query, RecommendationCache


def cache_get(*, session: Session, key: str, now: datetime) -> dict[str, Any] | None:
    row = session.get(RecommendationCache, key)
    if row is None or row.expires_at <= now:
        return None
    return dict(row.payload)


def cache_put(*, session: Session, key: str, payload: dict[str, Any], now: datetime, ttl_s: float) -> None:
    row = session.get(RecommendationCache, key)
    expires = now + timedelta(seconds=ttl_s)
    if row is None:
        session.add(RecommendationCache(key=key, payload=payload, created_at=now, expires_at=expires))
    else:
        row.payload, row.created_at, row.expires_at = payload, now, expires
    session.flush()


def purge_expired_cache(*, session: Session, now: datetime) -> int:
    result = session.execute(delete(RecommendationCache).where(RecommendationCache.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def save_query(
    *,
    session: Session,
    user_id: int | None,
    topic: str,
    vibe: str,
    model_version: str | None,
    result: dict[str, Any],
    ideas: list[dict[str, Any]],
    now: datetime,
) -> Query:
    query = Query(user_id=user_id, topic=topic, vibe=vibe, model_version=model_version, result=result, created_at=now)
    session.add(query)
    session.flush()
    for rank, idea in enumerate(ideas, start=1):
        session.add(
            Idea(
                query_id=query.id,
                user_id=user_id,
                rank=rank,
                title=str(idea["title"])[:300],
                payload=idea,
                created_at=now,
            )
        )
    session.flush()
    return query


def list_queries(*, session: Session, user_id: int | None, limit: int = 20, offset: int = 0) -> tuple[list[Query], int]:
    """The caller's past queries, newest first. ``user_id=None`` is the anonymous local user."""
    owner = Query.user_id.is_(None) if user_id is None else Query.user_id == user_id
    total = int(session.scalar(select(func.count()).select_from(Query).where(owner)) or 0)
    rows = session.scalars(
        select(Query).where(owner).order_by(Query.created_at.desc(), Query.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def ideas_for(*, session: Session, query_ids: list[int]) -> dict[int, list[Idea]]:
    out: dict[int, list[Idea]] = {qid: [] for qid in query_ids}
    if not query_ids:
        return out
    for idea in session.scalars(select(Idea).where(Idea.query_id.in_(query_ids)).order_by(Idea.query_id, Idea.rank)):
        out[idea.query_id].append(idea)
    return out
