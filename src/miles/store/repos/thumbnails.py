"""Thumbnails stored once per content hash (SHA-256 of the bytes), with their image statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from miles.store.tables import Thumbnail, Video


@dataclass(frozen=True)
class MissingThumbnail:
    video_id: str
    url: str


def get_thumbnail(*, session: Session, content_hash: str) -> Thumbnail | None:
    return session.get(Thumbnail, content_hash)


def store_thumbnail(
    *,
    session: Session,
    content_hash: str,
    url: str | None,
    width: int,
    height: int,
    stats: dict[str, Any],
    image: bytes | None,
) -> bool:
    """Insert a thumbnail unless the same bytes are already stored; True when it was new."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(Thumbnail)
        .values(content_hash=content_hash, url=url, width=width, height=height, stats=stats, image=image)
        .on_conflict_do_nothing(index_elements=["content_hash"])
    )
    return bool(session.execute(stmt.returning(Thumbnail.content_hash)).first())


def link_video(*, session: Session, video_id: str, content_hash: str) -> None:
    session.execute(update(Video).where(Video.id == video_id).values(thumbnail_hash=content_hash))


def videos_missing_thumbnail(
    *, session: Session, video_ids: Sequence[str] | None = None, limit: int = 500
) -> list[MissingThumbnail]:
    """Videos with a thumbnail URL but no stored thumbnail (optionally only among ``video_ids``)."""
    stmt = (
        select(Video.id, Video.thumbnail_url)
        .where(Video.thumbnail_hash.is_(None), Video.thumbnail_url.is_not(None))
        .order_by(Video.created_at.desc(), Video.id)
        .limit(limit)
    )
    if video_ids is not None:
        if not video_ids:
            return []
        stmt = stmt.where(Video.id.in_(list(video_ids)))
    return [MissingThumbnail(video_id=vid, url=str(url)) for vid, url in session.execute(stmt)]


@dataclass(frozen=True)
class VideoImage:
    video_id: str
    content_hash: str
    has_image: bool  # the image bytes are stored (an embedding can be computed from them)


def video_images(*, session: Session, video_ids: Sequence[str] | None = None) -> list[VideoImage]:
    """Videos linked to a stored thumbnail (optionally only among ``video_ids``) and whether its bytes are kept."""
    stmt = select(Video.id, Thumbnail.content_hash, Thumbnail.image.is_not(None)).join(
        Thumbnail, Thumbnail.content_hash == Video.thumbnail_hash
    )
    wanted = None if video_ids is None else set(video_ids)
    return [VideoImage(video_id=vid, content_hash=h, has_image=bool(has))
            for vid, h, has in session.execute(stmt) if wanted is None or vid in wanted]  # fmt: skip


def thumbnail_images(*, session: Session, content_hashes: Sequence[str]) -> dict[str, bytes]:
    """The stored image bytes of these thumbnails (those that keep them)."""
    out: dict[str, bytes] = {}
    hashes = list(dict.fromkeys(content_hashes))
    for start in range(0, len(hashes), 200):
        stmt = select(Thumbnail.content_hash, Thumbnail.image).where(
            Thumbnail.content_hash.in_(hashes[start : start + 200]), Thumbnail.image.is_not(None)
        )
        out.update({h: bytes(image) for h, image in session.execute(stmt) if image is not None})
    return out
