"""Rate limits and login lockouts shared by every server process through Redis (``MILES_REDIS_URL``).

``miles serve --workers N`` runs N processes; the in-memory ``RateLimiter`` and ``LoginThrottle`` would give each
its own budget (N times the limit). With Redis, each bucket and each account's (or address's) failure record is
one Redis hash changed by one Lua script (atomic, timed by the Redis server's clock), so all processes - and
``miles mcp`` - share them. Keys carry a prefix derived from the database URL, so two deployments (or test runs)
sharing one Redis do not share budgets. If Redis stops answering, the process falls back to its own in-memory
limits (logged once) rather than refusing every request.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
from typing import Any

import redis

from miles.config import Settings
from miles.serve.limits import (
    ACCOUNT_SCOPE,
    ADDRESS_SCOPE,
    Limiter,
    LoginGuard,
    LoginThrottle,
    RateLimiter,
    limited,
    login_guard,
)

log = logging.getLogger("miles.serve.limits")

# KEYS[1] bucket; ARGV capacity, rate per second, cost. Returns {1, tokens} when taken, {0, seconds to wait}.
_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local capacity, rate, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(b[1]) or capacity
local updated = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local ok = 0
if tokens >= cost then tokens = tokens - cost; ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
if ok == 1 then return {1, tostring(tokens)} end
return {0, tostring((cost - tokens) / rate)}
"""

# KEYS[1] account; ARGV free attempts, base s, max s, forget s. Records a failure, returns the lockout seconds.
_FAILED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local free, base, maxs, forget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local r = redis.call('HMGET', KEYS[1], 'count', 'last')
local count = tonumber(r[1]) or 0
local last = tonumber(r[2]) or now
if now - last > forget then count = 0 end
count = count + 1
local lock = 0
if count - free >= 0 then lock = math.min(maxs, base * 2 ^ (count - free)) end
redis.call('HSET', KEYS[1], 'count', count, 'last', tostring(now), 'locked_until', tostring(now + lock))
redis.call('EXPIRE', KEYS[1], math.ceil(forget + maxs))
return tostring(lock)
"""

# KEYS[1] account. Returns the seconds the account stays locked (0: not locked).
_CHECK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local until_ = tonumber(redis.call('HGET', KEYS[1], 'locked_until')) or 0
return tostring(math.max(0, until_ - now))
"""


def redis_url(settings: Settings) -> str:
    """MILES_REDIS_URL, else the Celery broker when it is Redis, else "" (per-process limits)."""
    if settings.redis_url:
        return settings.redis_url
    return settings.broker_url if settings.broker_url.startswith(("redis://", "rediss://")) else ""


def key_prefix(settings: Settings) -> str:
    return "miles:" + hashlib.sha256(settings.sqlalchemy_url.encode()).hexdigest()[:12] + ":"


class _Shared:
    """A Redis client that falls back to a local object when Redis does not answer."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.warned = False

    def run(self, script: Any, key: str, *args: object) -> Any:
        try:
            return script(keys=[self.prefix + key], args=list(args))
        except redis.RedisError as exc:
            if not self.warned:
                log.warning("Redis did not answer (%s); limits are per process until it does", exc)
                self.warned = True
            return None


class RedisRateLimiter:
    """``RateLimiter``'s token buckets in Redis, shared by every process using the same Redis and database."""

    def __init__(self, client: redis.Redis, per_minute: int, prefix: str = "miles:") -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._shared = _Shared(client, prefix + "rl:")
        self._script = client.register_script(_BUCKET)
        self._fallback = RateLimiter(per_minute)

    def hit(self, key: str, cost: float = 1.0, what: str = "") -> None:
        result = self._shared.run(self._script, key, self.capacity, self.rate, cost)
        if result is None:
            self._fallback.hit(key, cost, what)
            return
        taken, value = int(result[0]), float(result[1])
        if not taken:
            raise limited(self.capacity, max(1, math.ceil(value)), what)


class RedisLoginThrottle(LoginThrottle):
    """``LoginThrottle``'s failure records in Redis (the same backoff), shared by every process; ``name`` keeps
    the per-account and per-address records apart."""

    def __init__(self, client: redis.Redis, prefix: str = "miles:", name: str = "login", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shared = _Shared(client, f"{prefix}{name}:")
        self._failed = client.register_script(_FAILED)
        self._check = client.register_script(_CHECK)

    def wait(self, account: str) -> int:
        left = self._shared.run(self._check, account)
        if left is None:
            return super().wait(account)
        return max(0, math.ceil(float(left)))

    def failed(self, account: str) -> None:
        args = (self.free_attempts, self.base_s, self.max_s, self.forget_s)
        if self._shared.run(self._failed, account, *args) is None:
            super().failed(account)

    def succeeded(self, account: str) -> None:
        with contextlib.suppress(redis.RedisError):
            self._shared.client.delete(self._shared.prefix + account)
        super().succeeded(account)


def limits_for(settings: Settings) -> tuple[Limiter, LoginGuard]:
    """Shared limits when Redis is configured, else this process's own."""
    per_account, per_address = settings.login_attempts_per_account, settings.login_attempts_per_address
    url = redis_url(settings)
    if not url:
        return RateLimiter(settings.rate_limit_per_minute), login_guard(per_account, per_address)
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    prefix = key_prefix(settings)
    guard = LoginGuard(
        RedisLoginThrottle(client, prefix, "login", free_attempts=per_account, scope=ACCOUNT_SCOPE),
        RedisLoginThrottle(client, prefix, "login-ip", free_attempts=per_address, scope=ADDRESS_SCOPE),
    )
    return RedisRateLimiter(client, settings.rate_limit_per_minute, prefix), guard
