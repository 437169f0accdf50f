"""Rate limits and login lockouts shared by every server process through Redis; per process without it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from tests.conftest import make_settings, port_open, skip_or_fail
from tests.serve.test_uvicorn import miles_serve

from miles.config import Settings
from miles.errors import RateLimited
from miles.serve.limits import LoginThrottle, RateLimiter
from miles.serve.shared_limits import RedisLoginThrottle, RedisRateLimiter, limits_for, redis_url

REDIS = os.environ.get("MILES_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    if not port_open("127.0.0.1", 6379):
        skip_or_fail("Redis is not reachable on 127.0.0.1:6379")
    c = redis.Redis.from_url(REDIS)
    yield c
    c.close()


def test_two_processes_share_one_bucket(client: redis.Redis) -> None:
    prefix = f"miles-test-{uuid.uuid4().hex}:"
    first, second = RedisRateLimiter(client, 3, prefix), RedisRateLimiter(client, 3, prefix)
    first.hit("ip:1.2.3.4")
    second.hit("ip:1.2.3.4")
    first.hit("ip:1.2.3.4")
    with pytest.raises(RateLimited) as err:
        second.hit("ip:1.2.3.4")
    assert err.value.retry_after_s >= 1  # 3 a minute: a token every 20 s
    second.hit("ip:5.6.7.8")  # other callers have their own bucket
    with pytest.raises(RateLimited, match="costs 3 tokens"):
        RedisRateLimiter(client, 3, prefix).hit("ip:5.6.7.8", 3, what="this request costs 3 tokens")


def test_login_lockout_is_shared(client: redis.Redis) -> None:
    prefix = f"miles-test-{uuid.uuid4().hex}:"
    one, two = RedisLoginThrottle(client, prefix), RedisLoginThrottle(client, prefix)
    for i in range(5):
        (one if i % 2 else two).failed("victim@example.com")
    with pytest.raises(RateLimited) as err:
        one.check("victim@example.com")
    assert 29 <= err.value.retry_after_s <= 30
    two.check("other@example.com")
    two.succeeded("victim@example.com")
    one.check("victim@example.com")


def test_without_redis_answering_limits_fall_back_to_the_process(tmp_path: Path) -> None:
    dead = redis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)  # nothing listens on 9
    limiter = RedisRateLimiter(dead, 2, "miles-test:")
    limiter.hit("ip:a")
    limiter.hit("ip:a")
    with pytest.raises(RateLimited):
        limiter.hit("ip:a")
    throttle = RedisLoginThrottle(dead, "miles-test:")
    throttle.failed("a@example.com")
    throttle.check("a@example.com")


def test_which_limits_a_setting_gives(tmp_path: Path) -> None:
    plain = make_settings(tmp_path)
    limiter, throttle = limits_for(plain)
    assert type(limiter) is RateLimiter and type(throttle) is LoginThrottle
    via_broker = make_settings(tmp_path, broker_url="redis://127.0.0.1:6379/3")
    assert redis_url(via_broker) == "redis://127.0.0.1:6379/3"
    assert isinstance(limits_for(via_broker)[0], RedisRateLimiter)
    assert redis_url(make_settings(tmp_path, broker_url="amqp://127.0.0.1//")) == ""
    assert redis_url(make_settings(tmp_path, redis_url="redis://h/2", broker_url="redis://h/3")) == "redis://h/2"


def test_two_server_workers_share_the_rate_limit(
    client: redis.Redis, sqlite_settings: Settings, tmp_path: Path
) -> None:
    """`miles serve --workers 2` with Redis: 4 requests a minute in all, whichever process answers."""
    env = {"MILES_RATE_LIMIT_PER_MINUTE": "4", "MILES_REDIS_URL": REDIS, "MILES_MODEL_DIR": str(tmp_path)}
    with miles_serve(sqlite_settings, workers=2, **env) as base:
        statuses = []
        for _ in range(8):
            with httpx.Client(base_url=base, timeout=10) as http:  # a new connection each time
                statuses.append(http.get("/api/v1/videos").status_code)
    assert sorted(statuses) == [200] * 4 + [429] * 4, statuses
