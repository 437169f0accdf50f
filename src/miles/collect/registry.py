"""Every source, in matching order (most specific first), and ``source_for(target)``."""

from __future__ import annotations

from miles.collect.base import Politeness, Source
from miles.collect.tiktok import TikTokHashtag, TikTokUser, TikTokVideo
from miles.collect.ytdlp import GenericPage, YdlFactory, YouTubeChannel, YouTubeSearch, YouTubeVideo, YtDlpSource
from miles.config import Settings
from miles.errors import InvalidInput

SOURCES: tuple[type[YtDlpSource], ...] = (
    YouTubeVideo,
    YouTubeChannel,
    TikTokVideo,
    TikTokUser,
    TikTokHashtag,
    YouTubeSearch,
    GenericPage,
)


def source_class(target: str) -> type[YtDlpSource]:
    for cls in SOURCES:
        if cls.matches(target):
            return cls
    raise InvalidInput(f"no source handles {target!r}; give a search query or an http(s) URL")


def make_source(
    cls: type[YtDlpSource],
    *,
    settings: Settings,
    politeness: Politeness | None = None,
    ydl_factory: YdlFactory | None = None,
) -> YtDlpSource:
    """A source configured from settings: rate limit ``collect_delay_s``, ``collect_retries``, ``fetch_timeout_s``."""
    polite = politeness or Politeness(delay_s=settings.collect_delay_s, retries=settings.collect_retries)
    return cls(politeness=polite, timeout_s=settings.fetch_timeout_s, ydl_factory=ydl_factory)


def source_for(
    target: str, *, settings: Settings, politeness: Politeness | None = None, ydl_factory: YdlFactory | None = None
) -> Source:
    return make_source(source_class(target), settings=settings, politeness=politeness, ydl_factory=ydl_factory)
