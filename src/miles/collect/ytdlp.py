"""yt-dlp info dicts -> snapshot records (DESIGN.md §4; STYLE.md habit 2).

Required: id, title, a publish time (``timestamp`` or ``upload_date``) and ``view_count``; a dict
without them is rejected with a reason. Everything else is optional and becomes ``None``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _float_or_none(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def best_thumbnail(info: dict[str, Any]) -> str | None:
    """The largest thumbnail yt-dlp lists (by preference, then area), else the ``thumbnail`` field."""
    thumbs = [t for t in info.get("thumbnails") or [] if isinstance(t, dict) and t.get("url")]
    if thumbs:

        def rank(t: dict[str, Any]) -> tuple[int, int]:
            area = (_int_or_none(t.get("width")) or 0) * (_int_or_none(t.get("height")) or 0)
            return (_int_or_none(t.get("preference")) or 0, area)

        return str(max(thumbs, key=rank)["url"])
    thumb = info.get("thumbnail")
    return str(thumb) if thumb else None


def published_time(info: dict[str, Any]) -> tuple[datetime | None, bool]:
    """(publish time, is_date_only). ``timestamp`` is exact; ``upload_date`` (YYYYMMDD) is a day."""
    for key in ("timestamp", "release_timestamp"):
        ts = _int_or_none(info.get(key))
        if ts is not None:
            return datetime.fromtimestamp(ts, UTC), False
    upload_date = info.get("upload_date")
    if isinstance(upload_date, str) and len(upload_date) == 8 and upload_date.isdigit():
        try:
            return datetime.strptime(upload_date, "%Y%m%d").replace(tzinfo=UTC), True
        except ValueError:
            return None, False
    return None, False


def info_to_record(info: Any, *, captured_at: datetime) -> tuple[dict[str, Any] | None, str | None]:
    """Map one info dict to an interchange row, or (None, reason) when a required field is missing."""
    if not isinstance(info, dict):
        return None, "info is not a JSON object"
    video_id = info.get("id")
    if not video_id:
        return None, "missing required field id"
    if not info.get("title"):
        return None, "missing required field title"
    published, date_only = published_time(info)
    if published is None:
        return None, "missing required field timestamp/upload_date"
    views = _int_or_none(info.get("view_count"))
    if views is None:
        return None, "missing required field view_count"
    epoch = _int_or_none(info.get("epoch"))
    captured = datetime.fromtimestamp(epoch, UTC) if epoch is not None else captured_at
    if date_only and captured < published:
        captured = published
    categories = info.get("categories") or []
    tags = [str(t) for t in info.get("tags") or [] if t]
    return {
        "video_id": str(video_id),
        "platform": "youtube",
        "channel_id": info.get("channel_id"),
        "channel_title": info.get("channel") or info.get("uploader"),
        "title": str(info["title"]),
        "description": info.get("description"),
        "tags": "|".join(tags) if tags else None,
        "category_id": None,
        "category_name": categories[0] if categories else None,
        "duration_s": _float_or_none(info.get("duration")),
        "published_at": published,
        "captured_at": captured,
        "views": views,
        "likes": _int_or_none(info.get("like_count")),
        "comments": _int_or_none(info.get("comment_count")),
        "channel_subscribers": _int_or_none(info.get("channel_follower_count")),
        "thumbnail_url": best_thumbnail(info),
        "country": None,
        "source": "ytdlp",
        "published_at_is_date_only": date_only,
        "captured_at_is_date_only": False,
    }, None
