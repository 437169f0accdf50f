"""Plain typed records shared by stages (no behaviour beyond validation helpers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(slots=True)
class Snapshot:
    """One row of the snapshot interchange format (DESIGN.md §2.1)."""

    video_id: str
    title: str
    published_at: datetime
    captured_at: datetime
    views: int
    platform: str = "youtube"
    channel_id: str | None = None
    channel_title: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    category_id: int | None = None
    duration_s: float | None = None
    likes: int | None = None
    comments: int | None = None
    channel_subscribers: int | None = None
    thumbnail_url: str | None = None
    country: str | None = None
    source: str | None = None
    published_at_is_date_only: bool = False
    captured_at_is_date_only: bool = False

    @property
    def age_h(self) -> float:
        return (self.captured_at - self.published_at).total_seconds() / 3600.0


SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "video_id",
    "platform",
    "channel_id",
    "channel_title",
    "title",
    "description",
    "tags",
    "category_id",
    "duration_s",
    "published_at",
    "captured_at",
    "views",
    "likes",
    "comments",
    "channel_subscribers",
    "thumbnail_url",
    "country",
    "source",
    "published_at_is_date_only",
    "captured_at_is_date_only",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("video_id", "title", "published_at", "captured_at", "views")
