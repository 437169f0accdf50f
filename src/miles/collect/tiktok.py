"""TikTok sources: one video, a user's posts and a hashtag page, through yt-dlp's TikTok extractors.

They share the YouTube sources' machinery (``YtDlpSource``: politeness, retries, failure reasons, the info
dict -> record mapping, which sets ``platform = tiktok``). What differs: TikTok listings already carry each
video's counts and publish time, so a listed video needs no second request; every TikTok video is short-form
(no duration filter); yt-dlp has no TikTok search, and its hashtag extractor is marked not working
(``TikTokTagIE._WORKING = False`` in yt-dlp 2026.10.26), so hashtag runs may fail live with a clear reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from miles.collect.base import Entry, Example, Failure, Listing, SourceError
from miles.collect.ytdlp import YtDlpSource, _float_or_none, _str
from miles.domain import is_tiktok_short_link, tiktok_tag_url, tiktok_user_url, tiktok_video_ref

TIKTOK_NO_SEARCH = (
    "yt-dlp has no TikTok search; collect a user (`miles collect tiktok user @name`), a hashtag "
    "(`miles collect tiktok tag NAME`) or a video URL instead"
)


def _complete(item: dict[str, Any]) -> bool:
    """Whether a listed item already holds what a snapshot needs (so extracting it again would only cost a request)."""
    return bool(item.get("id") and item.get("title") and item.get("timestamp") and item.get("view_count") is not None)


class TikTokSource(YtDlpSource):
    """Listing entries of TikTok pages keep their info dict when it is complete (user and hashtag listings)."""

    name: ClassVar[str] = "tiktok"

    def _entries(self, raw: dict[str, Any], target: str) -> Iterator[Entry]:
        if raw.get("_type", "video") != "playlist":
            yield from super()._entries(raw, target)
            return
        for item in raw.get("entries") or []:
            if not isinstance(item, dict):
                continue
            url = item.get("webpage_url") or item.get("url")
            if not url:
                continue
            video_id = _str(item.get("id"))
            ref = tiktok_video_ref(str(url))
            yield Entry(
                url=ref[1] if ref else str(url),
                video_id=video_id,
                title=_str(item.get("title")),
                duration_s=_float_or_none(item.get("duration")),
                target=target,
                info=item if _complete(item) else None,
            )


class TikTokVideo(TikTokSource):
    """One TikTok video: a tiktok.com/@user/video/ID link (id known without a request) or a vm.tiktok.com link."""

    name = "tiktok_video"
    description = "a single TikTok video"
    EXAMPLES = (
        Example(
            target="https://www.tiktok.com/@chefmiles.tt/video/7451234567890123456?is_from_webapp=1",
            responses={
                "https://www.tiktok.com/@chefmiles.tt/video/7451234567890123456": (
                    "tiktok_video_7451234567890123456.json"
                )
            },
            expect={
                "found": 1,
                "video_ids": ["7451234567890123456"],
                "failed": {},
                "first": {
                    "platform": "tiktok",
                    "views": 284_500,
                    "likes": 31_200,
                    "comments": 412,
                    "duration_s": 34.0,
                    "channel_id": "7012345678901234567",
                    "channel_title": "chefmiles.tt",
                    "channel_subscribers": None,
                    "tags": "pasta|pastatok|easyrecipe|fyp",
                },
            },
        ),
        Example(
            target="https://vm.tiktok.com/ZMhQx7AbC/",
            responses={"https://vm.tiktok.com/ZMhQx7AbC/": "tiktok_video_7451234567890123456.json"},
            expect={"found": 1, "video_ids": ["7451234567890123456"], "failed": {}, "first": {"platform": "tiktok"}},
        ),
    )

    @classmethod
    def matches(cls, target: str) -> bool:
        return tiktok_video_ref(target) is not None or is_tiktok_short_link(target)

    @classmethod
    def video_ref(cls, url: str) -> tuple[str, str] | None:
        return tiktok_video_ref(url)

    def list_entries(self, target: str, *, limit: int | None = None) -> Listing:
        ref = tiktok_video_ref(target)
        if ref is not None:
            entry = Entry(url=ref[1], video_id=ref[0], target=target)
        elif is_tiktok_short_link(target):
            entry = Entry(url=target.strip(), target=target)  # yt-dlp follows the short link to the video
        else:
            raise SourceError(Failure("unsupported_url", f"{target!r} is not a TikTok video URL"))
        return Listing(target=target, raw=None, entries=[entry])


class TikTokUser(TikTokSource):
    """A TikTok user's posts, newest first (tiktok.com/@name)."""

    name = "tiktok_user"
    description = "a TikTok user's posts"
    EXAMPLES = (
        Example(
            target="https://www.tiktok.com/@chefmiles.tt",
            options={"limit": 10},
            responses={
                "https://www.tiktok.com/@chefmiles.tt": "tiktok_user_chefmiles_flat.json",
                "https://www.tiktok.com/@chefmiles.tt/video/7451234567890123458": (
                    "tiktok_video_7451234567890123458_unavailable.json"
                ),
            },
            expect={
                "found": 3,
                "video_ids": ["7451234567890123456", "7451234567890123457"],
                "failed": {"unavailable": 1},
                "first": {"platform": "tiktok", "views": 284_500, "channel_id": "7012345678901234567"},
            },
        ),
    )

    @classmethod
    def matches(cls, target: str) -> bool:
        return target.strip().lower().startswith(("http://", "https://")) and tiktok_user_url(target) is not None

    def listing_urls(self, target: str, *, limit: int | None) -> list[str]:
        url = tiktok_user_url(target)
        if url is None:
            raise SourceError(Failure("unsupported_url", f"{target!r} is not a TikTok user URL"))
        return [url]


class TikTokHashtag(TikTokSource):
    """A TikTok hashtag page (tiktok.com/tag/NAME); yt-dlp marks its extractor as not working, so it may fail."""

    name = "tiktok_tag"
    description = "a TikTok hashtag page"
    EXAMPLES = (
        Example(
            target="https://www.tiktok.com/tag/pastatok",
            options={"limit": 10},
            responses={"https://www.tiktok.com/tag/pastatok": "tiktok_tag_pastatok.json"},
            expect={
                "found": 2,
                "video_ids": ["7459000000000000001", "7459000000000000002"],
                "failed": {},
                "first": {"platform": "tiktok", "views": 1_204_000, "channel_title": "nonna.rosa"},
            },
        ),
    )

    @classmethod
    def matches(cls, target: str) -> bool:
        return (
            "/tag/" in target
            and target.strip().lower().startswith(("http://", "https://"))
            and bool(tiktok_tag_url(target))
        )

    def listing_urls(self, target: str, *, limit: int | None) -> list[str]:
        url = tiktok_tag_url(target)
        if url is None:
            raise SourceError(Failure("unsupported_url", f"{target!r} is not a TikTok hashtag URL"))
        return [url]
