"""Plain typed records shared by stages (no behaviour beyond validation helpers)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal
from urllib.parse import parse_qs, urlsplit

# digits every surface (API, MCP, CLI JSON) gives a forecast's views and viral chance: more were noise
# (p50 35.13188642793597); a ratio of views to a forecast (views ÷ p50) gets RATIO_DECIMALS (251.1099949773983)
VIEW_DECIMALS, CHANCE_DECIMALS, RATIO_DECIMALS = 1, 4, 2


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """A time as every JSON answer gives it: ISO 8601 in UTC with a ``Z`` (as the API's response models write it),
    e.g. '2026-05-01T16:30:00Z'."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


def local_text(when: datetime, tz: tzinfo) -> str:
    """A time as a page shows it: on the clock of ``tz`` (the browser's zone), e.g. '2026-05-01 18:30 CEST'."""
    return as_utc(when).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


# Publish times Miles accepts: from YouTube's first year to one year ahead (a planned upload).
EARLIEST_PUBLISH = datetime(2005, 1, 1, tzinfo=UTC)
MAX_PUBLISH_AHEAD = timedelta(days=365)


def checked_utc(value: datetime) -> datetime:
    """``as_utc`` that raises ValueError (not OverflowError) for a time UTC cannot hold, e.g. year 1 at +14:00."""
    try:
        return as_utc(value)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} is out of range") from None


def checked_publish_time(value: datetime, *, now: datetime | None = None) -> datetime:
    """The publish time in UTC, or ValueError unless it lies between 2005 and one year from now."""
    utc = checked_utc(value)
    latest = (now or utcnow()) + MAX_PUBLISH_AHEAD
    if utc < EARLIEST_PUBLISH:
        raise ValueError(f"publish time {value.isoformat()} is before 2005 (YouTube's first year)")
    if utc > latest:
        raise ValueError(f"publish time {value.isoformat()} is more than one year ahead (latest {latest:%Y-%m-%d})")
    return utc


# Platforms Miles stores. Each is modelled apart: a forecast for one never comes from a model trained on another.
PLATFORMS = ("youtube", "tiktok")
PLATFORM_NAMES = {"youtube": "YouTube", "tiktok": "TikTok"}
# Tracked TikTok videos needed before a TikTok model is trained (the retrain job, issue 16, checks it): 500 leaves
# about 100 videos for each of the validation and test folds of a forward, channel-grouped split.
TIKTOK_MIN_VIDEOS = 500


def checked_platform(value: str) -> str:
    """The platform name in lower case, or ValueError naming the accepted ones."""
    name = value.strip().lower()
    if name not in PLATFORMS:
        raise ValueError(f"unknown platform {value!r}; use one of {', '.join(PLATFORMS)}")
    return name


# A source's failure in words for whoever reads it (a creator on Track, `miles track add`), by the collector's name
# for it (``collect.base.Failure.reason``); yt-dlp's own text named a Python exception two levels deep.
FAILURE_WORDS = {
    "network": "the site could not be reached (no network, or it is down)",
    "timeout": "the site did not answer in time",
    "http_429": "the site is refusing requests for now (too many)",
    "http_5xx": "the site had an error",
    "http_404": "the site has no such video",
    "unavailable": "the video is not available (removed, private, or not shown where Miles runs)",
    "blocked": "the site asked Miles to sign in to prove it is not a bot",
}


def failure_words(reason: str | None) -> str:
    """A failure in words (``FAILURE_WORDS``); "the site failed" for a reason without its own words."""
    return FAILURE_WORDS.get(reason or "", "the site failed")


# C0 controls, DEL and C1 controls. Tab, line feed and carriage return are ordinary in long text.
CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f]")
CONTROL_CHARS_EXCEPT_WHITESPACE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_char_problem(text: str, *, multiline: bool = True) -> str | None:
    """Why ``text`` cannot be stored (a NUL or other control character), or None when it is fine."""
    pattern = CONTROL_CHARS_EXCEPT_WHITESPACE if multiline else CONTROL_CHARS
    found = pattern.search(text)
    if found is None:
        return None
    return f"contains a control character (U+{ord(found.group()):04X}) at position {found.start() + 1}"


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


_CHANNEL_ID = re.compile(r"^UC[0-9A-Za-z_-]{22}$")
_CHANNEL_URL_ID = re.compile(r"^(?:https?://)?(?:www\.|m\.)?youtube\.com/channel/(UC[0-9A-Za-z_-]{22})(?:[/?#].*)?$")
_HANDLE = re.compile(
    r"^(?:(?:https?://)?(?:www\.|m\.)?youtube\.com/)?@([\w.-]{1,100})(?:/(?:shorts|videos|featured))?/?$"
)


def parse_channel_ref(text: str) -> tuple[str, str]:
    """A creator's channel as typed: ("id", "UC...") for a channel id or /channel/ URL, ("handle", "name") for
    @name or a youtube.com/@name URL (its Shorts or videos tab included), else ("id", text) for any other id."""
    value = text.strip()
    if match := _CHANNEL_URL_ID.match(value):
        return "id", match.group(1)
    if match := _HANDLE.match(value):
        return "handle", match.group(1)
    if _CHANNEL_ID.match(value) or ("/" not in value and " " not in value and value):
        return "id", value
    raise ValueError(f"{text!r} is not a channel id, @handle or youtube.com channel URL")


def channel_url(text: str) -> str | None:
    """The youtube.com address to collect a creator's channel from (its uploads and Shorts tabs): for a ``UC…``
    id, a /channel/ URL, an @handle or a youtube.com/@handle URL; None for an id that names no YouTube channel."""
    kind, value = parse_channel_ref(text)
    if kind == "handle":
        return f"https://www.youtube.com/@{value}"
    return f"https://www.youtube.com/channel/{value}" if _CHANNEL_ID.match(value) else None


# A bare YouTube video id ("dQw4w9WgXcQ"), which the API and `miles track add` take as well as a link.
YOUTUBE_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")


YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be"})


def youtube_id_in_url(url: str) -> str | None:
    """The 11-character id of a YouTube watch, shorts, embed, live or youtu.be link (the scheme may be left out);
    None for anything else, a bare id included (a search query can look like one)."""
    url = url.strip()
    try:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        host = (parts.hostname or "").lower()
    except ValueError:  # e.g. "Invalid IPv6 URL"
        return None
    candidate = ""
    if parts.scheme.lower() not in ("http", "https"):
        return None
    if host == "youtu.be":
        candidate = parts.path.strip("/").split("/")[0]
    elif host in YOUTUBE_HOSTS:
        segments = [s for s in parts.path.split("/") if s]
        if segments[:1] == ["watch"]:
            candidate = parse_qs(parts.query).get("v", [""])[0]
        elif len(segments) >= 2 and segments[0] in {"shorts", "embed", "live", "v"}:
            candidate = segments[1]
    return candidate if YOUTUBE_VIDEO_ID.match(candidate) else None


def youtube_watch_url(video_id: str) -> str:
    """The canonical URL Miles polls a YouTube video at."""
    return f"https://www.youtube.com/watch?v={video_id}"


def youtube_id_url(text: str) -> str | None:
    """The watch URL of a bare YouTube video id; None for anything else (links included)."""
    value = text.strip()
    return youtube_watch_url(value) if YOUTUBE_VIDEO_ID.match(value) else None


# TikTok addresses (yt-dlp's TikTokIE / TikTokUserIE / TikTokVMIE / TikTokTagIE URL shapes), shared by the
# collector and the API (which may not import ``collect``).
_TIKTOK_VIDEO = re.compile(
    r"^https?://(?:www\.|m\.)?tiktokv?\.com/(?:embed/|share/video/|@(?P<user>[\w.-]*)/video/)(?P<id>\d{6,25})"
    r"/?(?:[?#].*)?$"
)
_TIKTOK_SHORT = re.compile(r"^https?://(?:(?:vm|vt)\.tiktok\.com/|(?:www\.)?tiktok\.com/t/)(?P<code>\w+)/?(?:[?#].*)?$")
_TIKTOK_USER = re.compile(r"^(?:https?://(?:www\.|m\.)?tiktok\.com/)?@(?P<user>[\w.-]{1,100})/?(?:[?#].*)?$")
_TIKTOK_TAG = re.compile(r"^https?://(?:www\.|m\.)?tiktok\.com/tag/(?P<tag>[^/?#&\s]{1,100})/?(?:[?#].*)?$")


def tiktok_video_ref(url: str) -> tuple[str, str] | None:
    """(video id, canonical URL) of a TikTok video link; None for anything else (short links included)."""
    match = _TIKTOK_VIDEO.match(url.strip())
    if match is None:
        return None
    user = match.group("user") or "_"  # yt-dlp resolves the video by its id; "_" stands for an unknown author
    return match.group("id"), f"https://www.tiktok.com/@{user}/video/{match.group('id')}"


def is_tiktok_short_link(url: str) -> bool:
    """vm.tiktok.com / vt.tiktok.com / tiktok.com/t/ links: the video id is known only after following them."""
    return bool(_TIKTOK_SHORT.match(url.strip()))


def tiktok_user_url(text: str) -> str | None:
    """The profile URL for "@name" or a tiktok.com/@name URL; None otherwise."""
    match = _TIKTOK_USER.match(text.strip())
    return f"https://www.tiktok.com/@{match.group('user')}" if match else None


def tiktok_tag_url(text: str) -> str | None:
    """The hashtag page for "#tag", "tag" or a tiktok.com/tag/ URL; None when it is not one."""
    value = text.strip()
    if match := _TIKTOK_TAG.match(value):
        return f"https://www.tiktok.com/tag/{match.group('tag')}"
    tag = value.lstrip("#")
    return f"https://www.tiktok.com/tag/{tag}" if re.fullmatch(r"[\w.]{1,100}", tag) else None


def is_tiktok_url(url: str) -> bool:
    return bool(re.match(r"^https?://(?:[\w-]+\.)*tiktokv?\.com(?:[/:?#]|$)", url.strip(), re.IGNORECASE))


def platform_of_url(url: str) -> Literal["youtube", "tiktok"]:
    """The platform a video link (or a bare YouTube id) belongs to: ``tiktok`` for a tiktok.com address, else
    ``youtube``. The one rule the collector, a tracked row and a linked draft read a link's platform by."""
    return "tiktok" if is_tiktok_url(url) else "youtube"


WORD = re.compile(r"[^\W_]+")
"""A word in any script: letters and digits, split at underscores and punctuation (as SQLite's full-text index
splits)."""


def words(text: str) -> list[str]:
    """The words of ``text`` in lower case (one splitter for topics, titles and full-text queries)."""
    return WORD.findall(text.lower())


YOUTUBE_CATEGORIES: dict[int, str] = {
    1: "Film & Animation", 2: "Autos & Vehicles", 10: "Music", 15: "Pets & Animals", 17: "Sports",
    19: "Travel & Events", 20: "Gaming", 22: "People & Blogs", 23: "Comedy", 24: "Entertainment",
    25: "News & Politics", 26: "Howto & Style", 27: "Education", 28: "Science & Technology",
    29: "Nonprofits & Activism",
}  # fmt: skip
"""The categories YouTube lets a creator pick for an upload (YouTube Data API ``videoCategories``), by id."""
