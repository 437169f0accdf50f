"""yt-dlp info dicts -> snapshot records (DESIGN.md §4; STYLE.md habit 2).

Required: id, title, a publish time (``timestamp`` or ``upload_date``) and ``view_count``; a dict
without them is rejected with a reason. Everything else is optional and becomes ``None``.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from miles.collect.base import Entry, Example, Extracted, Failure, Listing, Politeness, Source, SourceError
from miles.domain import platform_of_url, utcnow, youtube_id_in_url, youtube_watch_url

log = logging.getLogger(__name__)


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


def platform_of(info: dict[str, Any]) -> str:
    """``tiktok`` for an info dict from one of yt-dlp's TikTok extractors (or a tiktok.com page), else ``youtube``."""
    for key in ("extractor_key", "ie_key", "extractor"):
        name = str(info.get(key) or "").lower()
        if name.startswith("tiktok") or name == "vm.tiktok":
            return "tiktok"
    url = str(info.get("webpage_url") or info.get("original_url") or "")
    return platform_of_url(url)


_HASHTAG = re.compile(r"(?<![\w&])#(\w{1,100})", re.UNICODE)


def hashtags(text: Any) -> list[str]:
    """The #hashtags of a caption, in order, once each (TikTok has no separate tags: they live in the caption)."""
    if not isinstance(text, str):
        return []
    return list(dict.fromkeys(_HASHTAG.findall(text)))


def _tiktok_channel(info: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel id, channel title) of a TikTok info dict.

    The id is the numeric author id (``uploader_id``): it never changes, while yt-dlp's ``channel_id`` (the
    ``secUid``, ~76 characters) does not fit the 64-character id column. The title is the @handle (``uploader``),
    which is how creators name a TikTok account and what ``--channel @name`` is matched against.
    """
    author = _str(info.get("uploader_id"))
    handle = _str(info.get("uploader")) or _str(info.get("channel"))
    return author, handle


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
    platform = platform_of(info)
    if platform == "tiktok":
        channel_id, channel_title = _tiktok_channel(info)
        tags = tags or hashtags(info.get("description"))
    else:
        channel_id, channel_title = info.get("channel_id"), info.get("channel") or info.get("uploader")
    return {
        "video_id": str(video_id),
        "platform": platform,
        "channel_id": channel_id,
        "channel_title": channel_title,
        "title": str(info["title"]),
        "description": info.get("description"),
        "tags": "|".join(tags) if tags else None,
        "category_id": None,
        "category_name": categories[0] if categories else None,
        "duration_s": _float_or_none(info.get("duration")),
        "published_at": published,
        "captured_at": captured,
        "views": views,
        # yt-dlp's view_count, taken as YouTube's public count; a source that reports another count says so here
        "view_metric": "views",
        "likes": _int_or_none(info.get("like_count")),
        "comments": _int_or_none(info.get("comment_count")),
        "channel_subscribers": _int_or_none(info.get("channel_follower_count")),
        "thumbnail_url": best_thumbnail(info),
        "country": None,
        "source": "ytdlp",
        "published_at_is_date_only": date_only,
        "captured_at_is_date_only": False,
    }, None


# --- yt-dlp sources ----------------------------------------------------------------------------------

SHORTS_MAX_DURATION_S = 180.0  # YouTube Shorts may run up to three minutes
_CHANNEL_URL = re.compile(
    r"^https?://(?:www\.|m\.)?youtube\.com/(?P<base>(?:@[\w.-]+|channel/UC[\w-]{22}|c/[\w.-]+|user/[\w.-]+))"
    r"(?:/(?P<tab>videos|shorts|streams|featured))?/?$"
)
YdlFactory = Callable[[dict[str, Any]], Any]


class _QuietLogger:
    """yt-dlp prints errors to stderr even when quiet; send everything to logging at debug level instead."""

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    info = warning = error = debug


@functools.cache
def _recording_ydl_class() -> type[Any]:
    """``YoutubeDL`` keeping the network errors of its requests, also those an extractor lets pass (``fatal=False``).

    Such an extractor swallows the error and fails later for want of the page: yt-dlp's TikTok user
    extractor then says "Unable to extract secondary user ID" when the network is down. ``classify``
    reads the kept errors to name the real cause.
    """
    import yt_dlp
    from yt_dlp.networking.exceptions import TransportError

    class RecordingYoutubeDL(yt_dlp.YoutubeDL):  # type: ignore[misc]  # yt-dlp ships no type hints
        network_errors: list[BaseException]

        def urlopen(self, req: Any) -> Any:
            try:
                return super().urlopen(req)
            except TransportError as exc:
                self.network_errors.append(exc)
                raise

    return RecordingYoutubeDL


def _default_factory(params: dict[str, Any]) -> Any:
    ydl = _recording_ydl_class()(params)
    ydl.network_errors = []
    return ydl


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        exc_info = getattr(cur, "exc_info", None)
        inner = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None
        todo.extend([getattr(cur, "cause", None), cur.__cause__, cur.__context__, inner])


def _cause_failure(cur: BaseException, message: str) -> Failure | None:
    from yt_dlp.networking.exceptions import HTTPError, TransportError

    if isinstance(cur, HTTPError):
        status = int(cur.status)
        if status == 429 or status >= 500:
            return Failure("http_429" if status == 429 else "http_5xx", message, transient=True)
        return Failure(f"http_{status}", message)
    if isinstance(cur, TimeoutError) or "timed out" in str(cur).lower():
        return Failure("timeout", message, transient=True)
    if isinstance(cur, TransportError | ConnectionError):
        return Failure("network", message, transient=True)
    return None


def classify(exc: BaseException, swallowed: Sequence[BaseException] = ()) -> Failure:
    """Map a yt-dlp (or network) exception to a failure reason; network, timeouts, 429 and 5xx are transient.

    ``swallowed``: network errors of requests the extractor let pass before failing; when nothing else
    explains the failure, the first of them is why (its text replaces yt-dlp's misleading one).
    """
    message = re.sub(r"^ERROR:\s*", "", str(getattr(exc, "msg", None) or exc)).strip()
    for cur in _causes(exc):
        failure = _cause_failure(cur, message)
        if failure is not None:
            return failure
    lowered = message.lower()
    if "not a bot" in lowered or "sign in to confirm" in lowered:
        return Failure("blocked", message)
    if "unsupported url" in lowered:
        return Failure("unsupported_url", message)
    for cur in swallowed:
        failure = _cause_failure(cur, str(cur) or message)
        if failure is not None and failure.reason in ("network", "timeout"):
            return failure
    return Failure("unavailable", message)


class YtDlpSource(Source):
    """Shared machinery of the yt-dlp sources: ``YoutubeDL.extract_info(..., download=False)``, flat then full."""

    name: ClassVar[str] = "ytdlp"
    shorts_only: ClassVar[bool] = False

    def __init__(
        self,
        *,
        politeness: Politeness | None = None,
        timeout_s: float = 10.0,
        ydl_factory: YdlFactory | None = None,
    ) -> None:
        self.politeness = politeness or Politeness(delay_s=0.0, retries=0)
        self.timeout_s = timeout_s
        self.ydl_factory = ydl_factory or _default_factory

    @classmethod
    def video_ref(cls, url: str) -> tuple[str, str] | None:
        """(video id, canonical URL) when ``url`` names one video of this source; None otherwise."""
        return None

    def _params(self, *, flat: bool, limit: int | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "quiet": True,
            "no_warnings": True,
            "skip_download": True,
            "noprogress": True,
            "logger": _QuietLogger(),
            "socket_timeout": self.timeout_s,
            "retries": 0,
            "extractor_retries": 0,
        }
        if flat:
            params["extract_flat"] = "in_playlist"
            if limit:
                params["playlistend"] = limit
        else:
            params["noplaylist"] = True
        return params

    def _extract_info(self, url: str, *, flat: bool, limit: int | None = None) -> dict[str, Any]:
        def once() -> dict[str, Any]:
            ydl = None
            try:
                with self.ydl_factory(self._params(flat=flat, limit=limit)) as ydl:
                    info = ydl.extract_info(url, download=False)
                    return dict(ydl.sanitize_info(info)) if info is not None else {}
            except Exception as exc:  # yt-dlp raises DownloadError/ExtractorError wrapping the cause
                raise SourceError(classify(exc, getattr(ydl, "network_errors", ()))) from exc

        return self.politeness.call(once, what=url)

    def listing_urls(self, target: str, *, limit: int | None) -> list[str]:
        return [target]

    def list_entries(self, target: str, *, limit: int | None = None) -> Listing:
        raws: list[dict[str, Any]] = []
        entries: list[Entry] = []
        skipped: dict[str, int] = {}
        seen: set[str] = set()
        for url in self.listing_urls(target, limit=limit):
            raw = self._extract_info(url, flat=True, limit=limit)
            raws.append(raw)
            for entry in self._entries(raw, target):
                if entry.key in seen:
                    continue
                seen.add(entry.key)
                if self.shorts_only and (entry.duration_s or 0) > SHORTS_MAX_DURATION_S:
                    skipped["not_a_short"] = skipped.get("not_a_short", 0) + 1
                    continue
                entries.append(entry)
        if limit is not None:
            entries = entries[:limit]
        raw_out = raws[0] if len(raws) == 1 else {"_type": "listings", "target": target, "listings": raws}
        return Listing(target=target, raw=raw_out, entries=entries, skipped=skipped)

    def _entries(self, raw: dict[str, Any], target: str) -> Iterator[Entry]:
        if raw.get("_type", "video") != "playlist":
            url = raw.get("webpage_url") or raw.get("original_url") or target
            yield Entry(
                url=str(url), video_id=_str(raw.get("id")), title=_str(raw.get("title")), target=target, info=raw
            )
            return
        for item in raw.get("entries") or []:
            if not isinstance(item, dict):
                continue
            if item.get("_type") == "playlist":  # a channel page listing its tabs
                yield from self._entries(item, target)
                continue
            url = item.get("webpage_url") or item.get("url")
            if not url:
                continue
            yield Entry(
                url=str(url),
                video_id=_str(item.get("id")),
                title=_str(item.get("title")),
                duration_s=_float_or_none(item.get("duration")),
                target=target,
            )

    def extract(self, entry: Entry, *, now: datetime | None = None) -> Extracted:
        now = now or utcnow()
        try:
            raw = dict(entry.info) if entry.info is not None else self._extract_info(entry.url, flat=False)
        except SourceError as exc:
            return Extracted(entry=entry, raw=None, record=None, failure=exc.failure)
        record, reason = info_to_record(raw, captured_at=now)
        if record is None:
            return Extracted(entry=entry, raw=raw, record=None, failure=Failure(f"rejected: {reason}", str(reason)))
        record["source"] = f"ytdlp:{self.name}"
        if self.shorts_only and (record["duration_s"] or 0) > SHORTS_MAX_DURATION_S:
            return Extracted(entry=entry, raw=raw, record=None, skipped="not_a_short")
        return Extracted(entry=entry, raw=raw, record=record)


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def video_id_from_url(url: str) -> str | None:
    return youtube_id_in_url(url) if is_url(url) else None


def is_url(target: str) -> bool:
    return bool(re.match(r"^https?://", target.strip(), re.IGNORECASE))


class YouTubeSearch(YtDlpSource):
    """``ytsearchN:QUERY``: the top results for a query, Shorts only (by duration)."""

    name = "youtube_search"
    description = "YouTube search results for a query (Shorts only)"
    shorts_only = True
    EXAMPLES = (
        Example(
            target="pasta recipe",
            options={"limit": 3},
            responses={
                "ytsearch6:pasta recipe": "search_pasta_flat.json",
                "https://www.youtube.com/shorts/pAsTa000001": "video_pasta000001.json",
                "https://www.youtube.com/shorts/pAsTa000002": "video_pasta000002.json",
                "https://www.youtube.com/shorts/pAsTa000003": "video_pasta000003_no_views.json",
            },
            expect={
                "found": 3,
                "video_ids": ["pAsTa000001", "pAsTa000002"],
                "failed": {"rejected: missing required field view_count": 1},
                "skipped": {"not_a_short": 1},
                "first": {"title": "30-second garlic pasta #shorts", "views": 152_340, "duration_s": 31.0},
            },
        ),
    )

    @classmethod
    def matches(cls, target: str) -> bool:
        return not is_url(target) and bool(target.strip())

    def listing_urls(self, target: str, *, limit: int | None) -> list[str]:
        # ask for more than needed: long videos are filtered out after the listing
        return [f"ytsearch{2 * (limit or 10)}:{target.strip()}"]


class YouTubeChannel(YtDlpSource):
    """A channel's Shorts tab and its uploads (``/shorts``, ``/videos``)."""

    name = "youtube_channel"
    description = "a YouTube channel's Shorts tab and uploads"
    shorts_only = True
    tabs: tuple[str, ...] = ("shorts", "videos")
    EXAMPLES = (
        Example(
            target="https://www.youtube.com/@chefmiles",
            options={"limit": 10},
            responses={
                "https://www.youtube.com/@chefmiles/shorts": "channel_chefmiles_shorts_flat.json",
                "https://www.youtube.com/@chefmiles/videos": "channel_chefmiles_videos_flat.json",
                "https://www.youtube.com/shorts/cHeF0000001": "video_chef0000001.json",
                "https://www.youtube.com/shorts/cHeF0000002": "video_chef0000002_date_only.json",
                "https://www.youtube.com/watch?v=cHeF0000003": "video_chef0000003_unavailable.json",
            },
            expect={
                "found": 3,
                "video_ids": ["cHeF0000001", "cHeF0000002"],
                "failed": {"unavailable": 1},
                "skipped": {"not_a_short": 1},
                "first": {"channel_id": "UCchefmiles0000000000000", "channel_subscribers": 48_200},
            },
        ),
    )

    @classmethod
    def matches(cls, target: str) -> bool:
        return bool(_CHANNEL_URL.match(target.strip()))

    def listing_urls(self, target: str, *, limit: int | None) -> list[str]:
        match = _CHANNEL_URL.match(target.strip())
        if match is None:
            raise SourceError(Failure("unsupported_url", f"{target!r} is not a YouTube channel URL"))
        tabs = (match.group("tab"),) if match.group("tab") else self.tabs
        return [f"https://www.youtube.com/{match.group('base')}/{tab}" for tab in tabs]


class YouTubeVideo(YtDlpSource):
    """One video (watch, Shorts, youtu.be URL); the id comes from the URL, so listing needs no request."""

    name = "youtube_video"
    description = "a single YouTube video or Short"
    EXAMPLES = (
        Example(
            target="https://youtu.be/pAsTa000001",
            responses={"https://www.youtube.com/watch?v=pAsTa000001": "video_pasta000001.json"},
            expect={"found": 1, "video_ids": ["pAsTa000001"], "failed": {}, "first": {"likes": 8_100}},
        ),
    )

    @classmethod
    def matches(cls, target: str) -> bool:
        return video_id_from_url(target) is not None

    @classmethod
    def video_ref(cls, url: str) -> tuple[str, str] | None:
        video_id = video_id_from_url(url)
        return (video_id, youtube_watch_url(video_id)) if video_id else None

    def list_entries(self, target: str, *, limit: int | None = None) -> Listing:
        video_id = video_id_from_url(target)
        if video_id is None:
            raise SourceError(Failure("unsupported_url", f"{target!r} is not a YouTube video URL"))
        entry = Entry(url=youtube_watch_url(video_id), video_id=video_id, target=target)
        return Listing(target=target, raw=None, entries=[entry])


class GenericPage(YtDlpSource):
    """Any other page yt-dlp understands (its generic extractor: schema.org VideoObject, RSS feeds, ...)."""

    name = "generic"
    description = "any page or feed yt-dlp can read"
    EXAMPLES = (
        Example(
            target="https://example.org/feed.xml",
            responses={
                "https://example.org/feed.xml": "generic_feed_flat.json",
                "https://example.org/clips/one.html": "generic_page_one.json",
            },
            expect={"found": 1, "video_ids": ["one"], "failed": {}, "first": {"views": 1234, "channel_id": None}},
        ),
    )

    @classmethod
    def matches(cls, target: str) -> bool:
        return is_url(target)
