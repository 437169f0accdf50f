"""The ``Source`` base (STYLE.md habit 1): name, URL matching, flat listing, full extraction, ``EXAMPLES``.

Sources talk to the outside world and hand back plain records; they never write to the database
(a collector stage in ``miles.jobs.collect`` does). Politeness lives here too: a rate limit between
requests and retries with exponential backoff for transient failures (network, timeouts, HTTP 429/5xx).
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from miles.domain import Snapshot, utcnow
from miles.errors import SourceUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """Why one request or video failed. ``reason`` is a short stable name used to count failures."""

    reason: str
    message: str
    transient: bool = False


class SourceError(SourceUnavailable):
    """A request to a source failed; ``failure.transient`` says whether retrying may help."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message, details={"reason": failure.reason, "transient": failure.transient})
        self.failure = failure


@dataclass(frozen=True)
class Entry:
    """One video found by a flat listing. ``info`` is set when the listing already returned the full info dict."""

    url: str
    video_id: str | None = None
    title: str | None = None
    duration_s: float | None = None
    target: str = ""
    info: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        return self.video_id or self.url


@dataclass(frozen=True)
class Listing:
    """A flat listing of a target: the raw payload as received and the entries found in it."""

    target: str
    raw: Mapping[str, Any] | None
    entries: list[Entry]
    skipped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Extracted:
    """The result of fully extracting one entry: the raw info dict, and a record or a failure."""

    entry: Entry
    raw: Mapping[str, Any] | None
    record: dict[str, Any] | None
    failure: Failure | None = None
    skipped: str | None = None  # a reason the video was deliberately left out (e.g. not a short)

    @property
    def video_id(self) -> str | None:
        return str(self.record["video_id"]) if self.record else self.entry.video_id


@dataclass(frozen=True)
class Example:
    """An offline example of a source (replayed from ``tests/fixtures/`` like yt-dlp's ``_TESTS``).

    ``responses`` maps each URL the source asks yt-dlp for to a fixture file; ``expect`` holds
    the expected ``found`` count, ``video_ids`` collected, ``failed`` reasons and fields of the first record.
    """

    target: str
    responses: Mapping[str, str]
    expect: Mapping[str, Any]
    options: Mapping[str, Any] = field(default_factory=dict)


class Politeness:
    """Rate limit between requests and exponential backoff on transient failures.

    ``sleep`` and ``clock`` are injectable so tests run without waiting.
    """

    def __init__(
        self,
        *,
        delay_s: float,
        retries: int,
        backoff_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.delay_s = delay_s
        self.retries = retries
        self.backoff_s = 2 * delay_s if backoff_s is None else backoff_s
        self.sleep = sleep
        self.clock = clock
        self.attempts = 0
        self._last: float | None = None

    def wait_turn(self) -> None:
        if self._last is not None and self.delay_s > 0:
            remaining = self.delay_s - (self.clock() - self._last)
            if remaining > 0:
                self.sleep(remaining)
        self._last = self.clock()

    def call(self, fn: Callable[[], T], *, what: str) -> T:
        """Run ``fn`` after the rate-limit pause; retry transient ``SourceError``s with backoff."""
        for attempt in range(self.retries + 1):
            self.wait_turn()
            self.attempts += 1
            try:
                return fn()
            except SourceError as exc:
                if not exc.failure.transient or attempt == self.retries:
                    if exc.failure.transient:
                        log.info("%s: giving up after %d attempts", what, attempt + 1)
                    raise
                pause = self.backoff_s * 2**attempt
                log.info("%s: %s; retry %d/%d in %.1f s", what, exc.failure.reason, attempt + 1, self.retries, pause)
                self.sleep(pause)
        raise AssertionError("unreachable")


def record_to_snapshot(record: Mapping[str, Any]) -> Snapshot:
    tags = record.get("tags")
    return Snapshot(
        video_id=str(record["video_id"]),
        title=str(record["title"]),
        published_at=record["published_at"],
        captured_at=record["captured_at"],
        views=int(record["views"]),
        platform=record.get("platform") or "youtube",
        channel_id=record.get("channel_id"),
        channel_title=record.get("channel_title"),
        description=record.get("description"),
        tags=[t for t in str(tags).split("|") if t] if tags else [],
        category_id=record.get("category_id"),
        duration_s=record.get("duration_s"),
        likes=record.get("likes"),
        comments=record.get("comments"),
        channel_subscribers=record.get("channel_subscribers"),
        thumbnail_url=record.get("thumbnail_url"),
        country=record.get("country"),
        source=record.get("source"),
        published_at_is_date_only=bool(record.get("published_at_is_date_only")),
        captured_at_is_date_only=bool(record.get("captured_at_is_date_only")),
    )


class Source(ABC):
    """A place videos come from. Subclasses set ``name`` and ``EXAMPLES`` and implement the two steps."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    EXAMPLES: ClassVar[tuple[Example, ...]] = ()

    @classmethod
    @abstractmethod
    def matches(cls, target: str) -> bool:
        """Whether this source handles ``target`` (a URL, or a search query for search sources)."""

    @abstractmethod
    def list_entries(self, target: str, *, limit: int | None = None) -> Listing:
        """Flat extraction: the videos a target lists, cheaply (ids, titles), without their full metadata."""

    @abstractmethod
    def extract(self, entry: Entry, *, now: datetime | None = None) -> Extracted:
        """Full extraction of one entry; failures come back as ``Extracted.failure``, never raised."""

    def fetch(self, target: str, *, limit: int | None = None) -> Iterator[Snapshot]:
        """Flat listing then full extraction of every entry, yielding the snapshots that map cleanly."""
        for entry in self.list_entries(target, limit=limit).entries:
            result = self.extract(entry, now=utcnow())
            if result.record is not None:
                yield record_to_snapshot(result.record)
            elif result.failure is not None:
                log.warning("%s: %s", entry.key, result.failure.message)
