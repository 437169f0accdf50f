"""Fixtures for job tests: a real local HTTP site, a fetch policy that may reach it, and collectors without waits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from tests.collect.localsite import LocalSite

from miles.collect.base import Politeness
from miles.config import Settings
from miles.jobs.collect import Collector
from miles.net import FetchPolicy

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite().running() as s:
        yield s


def local_policy() -> FetchPolicy:
    """Like production but allowed to reach the test server on 127.0.0.1 over http."""
    return FetchPolicy(
        allowed_hosts=frozenset({"127.0.0.1"}),
        schemes=frozenset({"http", "https"}),
        allow_private=True,
        max_bytes=1_000_000,
        max_pixels=4_000_000,
        timeout_s=5.0,
    )


class FakeSleep:
    """Records the pauses the collector asks for instead of waiting (backoff and rate limit are observable)."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)


def make_collector(settings: Settings, *, retries: int = 2, sleep: FakeSleep | None = None, **kw: object) -> Collector:
    """Thumbnail embeddings are off unless a test asks (building the image encoder takes seconds per cache dir)."""
    politeness = Politeness(delay_s=0.5, retries=retries, backoff_s=1.0, sleep=sleep or FakeSleep())
    kw.setdefault("embed_thumbnails", False)
    return Collector(settings=settings, politeness=politeness, fetch_policy=local_policy(), **kw)  # type: ignore[arg-type]
