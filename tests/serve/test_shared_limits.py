"""Rate limits and login lockouts (per account and per address) shared by every server process through Redis; per
process without it."""

from __future__ import annotations

import html
import os
import re
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
from miles.serve.limits import LoginGuard, LoginThrottle, RateLimiter
from miles.serve.shared_limits import RedisLoginThrottle, RedisRateLimiter, limits_for, redis_url
from miles.store.db import session_scope
from miles.store.repos import users

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


def test_address_and_account_records_are_kept_apart(client: redis.Redis) -> None:
    prefix = f"miles-test-{uuid.uuid4().hex}:"
    guard = LoginGuard(
        RedisLoginThrottle(client, prefix, "login", free_attempts=2, scope="for this account"),
        RedisLoginThrottle(client, prefix, "login-ip", free_attempts=3, scope="from your address"),
    )
    guard.failed("10.0.0.1", "10.0.0.1")  # an "account" named like the address shares nothing with it
    guard.failed("10.0.0.1", "10.0.0.2")
    with pytest.raises(RateLimited, match="for this account"):
        guard.check("10.0.0.1", "10.0.0.3")
    guard.check("a@example.com", "10.0.0.1")
    guard.failed("b@example.com", "10.0.0.1")
    guard.failed("c@example.com", "10.0.0.1")
    with pytest.raises(RateLimited, match="from your address") as err:
        guard.check("d@example.com", "10.0.0.1")
    assert 29 <= err.value.retry_after_s <= 30
    guard.succeeded("d@example.com", "10.0.0.1")  # a success clears the account's record, not the address's
    with pytest.raises(RateLimited, match="from your address"):
        guard.check("d@example.com", "10.0.0.1")


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
    limiter, guard = limits_for(plain)
    assert type(limiter) is RateLimiter
    assert type(guard.account) is LoginThrottle and type(guard.address) is LoginThrottle
    assert (guard.account.free_attempts, guard.address.free_attempts) == (5, 20)
    via_broker = make_settings(tmp_path, broker_url="redis://127.0.0.1:6379/3", login_attempts_per_address=50)
    assert redis_url(via_broker) == "redis://127.0.0.1:6379/3"
    limiter, guard = limits_for(via_broker)
    assert isinstance(limiter, RedisRateLimiter) and isinstance(guard.address, RedisLoginThrottle)
    assert guard.address.free_attempts == 50 and "from your address" in guard.address.scope
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


def test_two_server_workers_share_the_login_lockouts(
    client: redis.Redis, sqlite_settings: Settings, tmp_path: Path
) -> None:
    """`miles serve --workers 2` with Redis, every attempt on a new connection (either process may answer): the
    account locks after 3 failures, the address after 6, whichever process counted them."""
    with session_scope(sqlite_settings) as session:
        users.create_user(session=session, email="victim@example.com", password="a-long-password")
    env = {
        "MILES_REDIS_URL": REDIS,
        "MILES_MODEL_DIR": str(tmp_path),
        "MILES_LOGIN_ATTEMPTS_PER_ACCOUNT": "3",
        "MILES_LOGIN_ATTEMPTS_PER_ADDRESS": "6",
    }
    with miles_serve(sqlite_settings, workers=2, **env) as base:
        with httpx.Client(base_url=base, timeout=10) as http:
            page = http.get("/login")
            cookies = dict(page.cookies)
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]

        def attempt(email: str, password: str) -> httpx.Response:
            with httpx.Client(base_url=base, timeout=10, cookies=cookies) as http:
                data = {"email": email, "password": password, "csrf_token": token}
                return http.post("/login", data=data, follow_redirects=False)

        assert [attempt("victim@example.com", f"guess-{i}").status_code for i in range(3)] == [401] * 3
        locked = attempt("victim@example.com", "a-long-password")
        assert locked.status_code == 429 and "for this account" in html.unescape(locked.text)
        assert 1 <= int(locked.headers["retry-after"]) <= 30
        assert [attempt(f"user{i}@example.com", "Summer2026!").status_code for i in range(3)] == [401] * 3
        sprayed = attempt("user9@example.com", "Summer2026!")
        assert sprayed.status_code == 429 and "from your address" in html.unescape(sprayed.text)
