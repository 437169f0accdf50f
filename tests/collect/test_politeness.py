"""Rate limit and backoff of ``Politeness`` with an injected clock (no waiting, no wall-clock assertions)."""

from __future__ import annotations

import pytest

from miles.collect.base import Failure, Politeness, SourceError
from miles.collect.ytdlp import classify


class Clock:
    def __init__(self) -> None:
        self.t = 100.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def test_rate_limit_spaces_requests() -> None:
    clock = Clock()
    polite = Politeness(delay_s=2.0, retries=0, sleep=clock.sleep, clock=clock.now)
    polite.call(lambda: 1, what="a")
    clock.t += 0.5
    polite.call(lambda: 2, what="b")
    clock.t += 5
    polite.call(lambda: 3, what="c")
    assert clock.sleeps == [1.5]


def test_permanent_errors_are_not_retried_and_transient_ones_back_off() -> None:
    clock = Clock()
    polite = Politeness(delay_s=0, retries=3, backoff_s=1.0, sleep=clock.sleep, clock=clock.now)
    calls: list[int] = []

    def gone() -> None:
        calls.append(1)
        raise SourceError(Failure("unavailable", "Video unavailable"))

    with pytest.raises(SourceError):
        polite.call(gone, what="x")
    assert len(calls) == 1 and clock.sleeps == []

    def busy() -> None:
        calls.append(1)
        raise SourceError(Failure("http_429", "Too Many Requests", transient=True))

    with pytest.raises(SourceError, match="Too Many Requests"):
        polite.call(busy, what="y")
    assert len(calls) == 5 and clock.sleeps == [1.0, 2.0, 4.0]


def test_classify_yt_dlp_errors() -> None:
    from yt_dlp.networking.exceptions import TransportError
    from yt_dlp.utils import DownloadError, ExtractorError

    def wrapped(cause: BaseException) -> DownloadError:
        err = ExtractorError("Unable to download webpage", cause=cause)
        return DownloadError(f"ERROR: {err}", exc_info=(type(err), err, None))

    assert classify(wrapped(TransportError("Read timed out."))).reason == "timeout"
    assert classify(wrapped(TransportError("Connection refused"))).reason == "network"
    assert classify(DownloadError("ERROR: [youtube] x: Sign in to confirm you’re not a bot")).reason == "blocked"
    assert classify(DownloadError("ERROR: Unsupported URL: https://x")).reason == "unsupported_url"
    assert classify(DownloadError("ERROR: [youtube] x: Private video")).transient is False
