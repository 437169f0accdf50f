"""A stand-in for ``yt_dlp.YoutubeDL`` replaying recorded info dicts: only where the live site would be needed."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ytdlp"


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


class FakeYoutubeDL:
    """Answers ``extract_info(url)`` from ``responses`` (URL -> fixture name, info dict or exception)."""

    def __init__(self, params: dict[str, Any], responses: Mapping[str, Any], calls: list[str]) -> None:
        self.params = params
        self.responses = responses
        self.calls = calls

    def __enter__(self) -> FakeYoutubeDL:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def extract_info(self, url: str, download: bool = True) -> dict[str, Any]:
        from yt_dlp.utils import DownloadError

        assert download is False
        self.calls.append(url)
        if url not in self.responses:
            raise DownloadError(f"ERROR: [fake] no recorded response for {url}")
        value = self.responses[url]
        if callable(value):
            value = value()
        if isinstance(value, BaseException):
            raise value
        info = load_fixture(value) if isinstance(value, str) else dict(value)
        if "_error" in info:
            raise DownloadError(info["_error"]["msg"])
        return info

    @staticmethod
    def sanitize_info(info: dict[str, Any]) -> dict[str, Any]:
        return info


def fake_factory(responses: Mapping[str, Any], calls: list[str] | None = None) -> Callable[[dict[str, Any]], Any]:
    log = calls if calls is not None else []

    def factory(params: dict[str, Any]) -> FakeYoutubeDL:
        return FakeYoutubeDL(params, responses, log)

    return factory
