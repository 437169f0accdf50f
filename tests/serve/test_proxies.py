"""Forwarded headers are trusted only from MILES_TRUSTED_PROXIES (real `miles serve`), and every 429 says when to
retry (Retry-After), on the API and on the pages."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.conftest import make_settings
from tests.serve.test_uvicorn import miles_serve

from miles.cli.serve import uvicorn_options
from miles.config import Settings
from miles.errors import ConfigError
from miles.serve.app import create_app


def _statuses(base: str, n: int) -> list[int]:
    """``n`` anonymous requests, each claiming another client address in X-Forwarded-For."""
    with httpx.Client(base_url=base, timeout=10) as http:
        return [
            http.get("/api/v1/videos", headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(n)
        ]


def test_x_forwarded_for_from_loopback_does_not_escape_the_rate_limit(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    # Before: uvicorn trusted X-Forwarded-For from 127.0.0.1, so each request got a fresh bucket: 6 x 200.
    with miles_serve(sqlite_settings, MILES_RATE_LIMIT_PER_MINUTE="3", MILES_MODEL_DIR=str(tmp_path)) as base:
        assert _statuses(base, 6) == [200, 200, 200, 429, 429, 429]


def test_a_configured_proxy_is_trusted(sqlite_settings: Settings, tmp_path: Path) -> None:
    env = {"MILES_RATE_LIMIT_PER_MINUTE": "3", "MILES_TRUSTED_PROXIES": '["127.0.0.1/32"]'}
    with miles_serve(sqlite_settings, MILES_MODEL_DIR=str(tmp_path), **env) as base:
        assert _statuses(base, 6) == [200] * 6  # each forwarded client has its own bucket
        with httpx.Client(base_url=base, timeout=10) as http:
            same = [http.get("/api/v1/videos", headers={"X-Forwarded-For": "203.0.113.1"}) for _ in range(4)]
        assert [r.status_code for r in same] == [200, 200, 200, 429]
        assert int(same[-1].headers["retry-after"]) >= 1


def test_uvicorn_options_follow_the_setting(tmp_path: Path) -> None:
    none = uvicorn_options(make_settings(tmp_path), None, None)
    assert none["proxy_headers"] is False and none["server_header"] is False
    some = uvicorn_options(make_settings(tmp_path, trusted_proxies=["10.0.0.0/8", " 192.0.2.1 "]), None, 8170)
    assert some["proxy_headers"] is True and some["forwarded_allow_ips"] == "10.0.0.0/8,192.0.2.1"
    assert some["port"] == 8170
    with pytest.raises(ConfigError, match=r"MILES_TRUSTED_PROXIES.*not an IP address"):
        make_settings(tmp_path, trusted_proxies=["proxy.example.com"])


@pytest.mark.parametrize("path", ["/api/v1/videos", "/explore", "/explore.json"])
def test_every_429_carries_retry_after(sqlite_settings: Settings, path: str) -> None:
    # Before: a rate-limited page answered 429 without Retry-After (only the JSON API set it).
    with TestClient(create_app(sqlite_settings.model_copy(update={"rate_limit_per_minute": 2}))) as client:
        responses = [client.get(path) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert int(responses[-1].headers["retry-after"]) >= 1
