"""SQLAlchemy 2.0 mapped tables for every store table of DESIGN.md §2.2.

Timestamps are stored as naive UTC and returned as aware UTC (``UTCDateTime``), the same on
SQLite and PostgreSQL. User-owned tables carry ``user_id`` (indexed; RLS on PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from miles.domain import platform_of_url, utcnow


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), default="youtube")
    title: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Video(Base):
    """Static metadata of a video; counts live in ``video_snapshots``."""

    __tablename__ = "videos"
    __table_args__ = (
        Index("ix_videos_channel_published", "channel_id", "published_at"),
        Index("ix_videos_published", "published_at"),
        # the ideas cache key reads the newest stored video per platform on every request
        Index("ix_videos_platform_created", "platform", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), default="youtube")
    channel_id: Mapped[str | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    category_id: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    published_at: Mapped[datetime]
    published_at_is_date_only: Mapped[bool] = mapped_column(Boolean, default=False)
    thumbnail_url: Mapped[str | None] = mapped_column(String(2000))
    thumbnail_hash: Mapped[str | None] = mapped_column(ForeignKey("thumbnails.content_hash", ondelete="SET NULL"))
    country: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str | None] = mapped_column(String(64))
    # Capture time of the snapshot the metadata came from: an older file never overwrites newer metadata.
    meta_captured_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class VideoSnapshot(Base):
    """Append-only time series: one row per (video, capture time)."""

    __tablename__ = "video_snapshots"
    __table_args__ = (
        UniqueConstraint("video_id", "captured_at", name="uq_snapshot_video_time"),
        Index("ix_snapshots_captured", "captured_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    captured_at: Mapped[datetime]
    captured_at_is_date_only: Mapped[bool] = mapped_column(Boolean, default=False)
    views: Mapped[int] = mapped_column(BigInteger)
    likes: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[int | None] = mapped_column(BigInteger)
    channel_subscribers: Mapped[int | None] = mapped_column(BigInteger)
    country: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str | None] = mapped_column(String(64))
    # What ``views`` counts: "views" (the public count) or e.g. "engaged_views"; one trajectory never mixes them.
    view_metric: Mapped[str] = mapped_column(String(32), default="views", server_default="views")
    # Who typed this count in (source ``web-entry``): it is theirs alone (``snapshots.seen_by``); None if collected.
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class QualityFlag(Base):
    """A data-quality finding (``miles quality``); a quarantined snapshot is kept out of training and grading."""

    __tablename__ = "quality_flags"
    __table_args__ = (
        Index("ix_quality_flags_snapshot", "snapshot_id"),
        Index("ix_quality_flags_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)  # one row per finding, however often it is checked
    kind: Mapped[str] = mapped_column(String(32))
    snapshot_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("video_snapshots.id", ondelete="CASCADE")
    )
    video_id: Mapped[str | None] = mapped_column(String(64))
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelSnapshot(Base):
    __tablename__ = "channel_snapshots"
    __table_args__ = (UniqueConstraint("channel_id", "captured_at", name="uq_channel_snapshot_time"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    captured_at: Mapped[datetime]
    subscribers: Mapped[int | None] = mapped_column(BigInteger)
    video_count: Mapped[int | None] = mapped_column(Integer)


class Thumbnail(Base):
    __tablename__ = "thumbnails"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str | None] = mapped_column(String(2000))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    image: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Embedding(Base):
    """Embedding cache: a text or image is encoded once per encoder."""

    __tablename__ = "embeddings"

    encoder_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Copied into each session cookie; logout and password change bump it, ending every older cookie.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_user", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Query(Base):
    __tablename__ = "queries"
    __table_args__ = (Index("ix_queries_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(300))
    vibe: Mapped[str] = mapped_column(String(300), default="")
    model_version: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Idea(Base):
    __tablename__ = "ideas"
    __table_args__ = (Index("ix_ideas_user", "user_id"), Index("ix_ideas_query", "query_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("queries.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecommendationCache(Base):
    __tablename__ = "recommendation_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class TrackedVideo(Base):
    __tablename__ = "tracked_videos"
    __table_args__ = (
        UniqueConstraint("user_id", "video_id", name="uq_tracked_user_video"),
        Index("ix_tracked_user", "user_id"),
        Index("ix_tracked_due", "active", "next_poll_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    video_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    anchor_at: Mapped[datetime] = mapped_column(default=utcnow)
    poll_index: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_reason: Mapped[str | None] = mapped_column(String(40))  # the collector's name for it: "network", ...
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def platform(self) -> Literal["youtube", "tiktok"]:
        """Known from the link from the start (the video may not be read yet): a TikTok video is never a YouTube one."""
        return platform_of_url(self.url)


class TypedVideo(Base):
    """The title and publish time a user typed for a video Miles has not read (its ``videos`` row is then
    ``web-entry``): theirs alone, like their typed counts; another user tracking the same id types their own
    (``videos.video_as_seen``). Kept when tracking stops, as the counts are."""

    __tablename__ = "typed_videos"
    __table_args__ = (UniqueConstraint("user_id", "video_id", name="uq_typed_video_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    video_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(1000))
    published_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PredictionRecord(Base):
    __tablename__ = "predictions"
    __table_args__ = (
        Index("ix_predictions_user_created", "user_id", "created_at"),
        Index("ix_predictions_inputs", "inputs_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    model_version: Mapped[str] = mapped_column(String(64))
    inputs_hash: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    video_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PredictionGrade(Base):
    """A stored prediction against the views that arrived at (about) one of its horizons (the ``grade`` job)."""

    __tablename__ = "prediction_grades"
    __table_args__ = (
        UniqueConstraint("prediction_id", "horizon_h", name="uq_grade_prediction_horizon"),
        Index("ix_grades_version_graded", "model_version", "graded_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction_id: Mapped[int] = mapped_column(ForeignKey("predictions.id", ondelete="CASCADE"))
    model_version: Mapped[str] = mapped_column(String(64))
    video_id: Mapped[str] = mapped_column(String(64))
    horizon_h: Mapped[float] = mapped_column(Float)
    age_h: Mapped[float] = mapped_column(Float)  # the age of the capture the horizon was graded with
    actual_views: Mapped[int] = mapped_column(BigInteger)
    p10: Mapped[float] = mapped_column(Float)
    p50: Mapped[float] = mapped_column(Float)
    p90: Mapped[float] = mapped_column(Float)
    error_log10: Mapped[float] = mapped_column(Float)  # log10(p50 + 1) - log10(views + 1): > 0 means too high
    inside: Mapped[bool] = mapped_column(Boolean)  # p10 <= views <= p90
    channel_subscribers: Mapped[int | None] = mapped_column(BigInteger)
    graded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelVersion(Base):
    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    task: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(1000))
    feature_version: Mapped[str] = mapped_column(String(32))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        Index("ix_job_runs_job_started", "job", "started_at"),
        Index("ix_job_runs_job_status", "job", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # Who queued a collection request: the signed-in user, and "user:<id>" or "ip:<address>" for the cap.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE", name="fk_job_runs_user"))
    requester: Mapped[str | None] = mapped_column(String(80))


class JobLock(Base):
    """A row per running periodic job, so two workers never run the same job at once."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class RawPayload(Base):
    """Append-only archive of source payloads as received (STYLE.md habit 3)."""

    __tablename__ = "raw_payloads"
    __table_args__ = (UniqueConstraint("source", "content_hash", name="uq_raw_source_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


USER_OWNED_TABLES = ("queries", "ideas", "tracked_videos", "predictions", "api_keys", "typed_videos")
