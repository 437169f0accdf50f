"""Request body size limit (ASGI middleware) and an in-process token-bucket rate limiter.

The rate limiter keeps its buckets in memory, so limits are per server process: with several
uvicorn workers each enforces its own budget (docs/api.md says so).
"""

from __future__ import annotations

import html
import ipaddress
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from miles.errors import RateLimited
from miles.serve.errors import envelope


class _TooLarge(BaseException):
    """Raised from ``receive``; a BaseException so body parsers that catch Exception cannot turn it into a 400."""


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with a 413 envelope, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_page(scope):  # a web form (an oversized thumbnail): words in the page, not a JSON envelope
            message = html.escape(
                f"The form was larger than the limit of {self.max_bytes / 1e6:g} MB, so nothing was read: choose a "
                "smaller thumbnail image and send it again."
            )
            await self._send(send, f'<div class="error-box" role="alert"><p>{message}</p></div>'.encode(), b"text/html")
            return
        limit = f"larger than the limit of {self.max_bytes:,} bytes"
        problem = {"field": "body", "message": f"{limit} (MILES_MAX_BODY_BYTES)", "max_body_bytes": self.max_bytes}
        answer = envelope(413, "payload_too_large", f"request body is {limit}", [problem])
        await answer(scope, receive, send)  # the error envelope every other error answer has, serialized alike

    @staticmethod
    async def _send(send: Send, body: bytes, content_type: bytes) -> None:
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _is_page(scope: Scope) -> bool:
    """A web page's form post (HTMX or a plain browser), not the JSON API, MCP or a page's JSON twin."""
    path = str(scope.get("path", ""))
    if path.startswith(("/api/", "/mcp")) or path.endswith(".json"):
        return False
    accept = dict(scope["headers"]).get(b"accept", b"")
    return b"hx-request" in dict(scope["headers"]) or b"text/html" in accept


class Limiter(Protocol):
    """A rate limiter: in process memory (``RateLimiter``) or shared by every process through Redis."""

    capacity: float

    def hit(self, key: str, cost: float = 1.0, what: str = "") -> None: ...


def limited(capacity: float, wait: int, what: str = "") -> RateLimited:
    because = f" ({what})" if what else ""
    return RateLimited(
        f"rate limit of {int(capacity)} requests per minute exceeded{because}; retry in {wait} s", retry_after_s=wait
    )


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets of ``per_minute`` capacity refilled continuously, one per key ("key:12" or "ip:1.2.3.4")."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_buckets: int = 100_000):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_buckets = max_buckets
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, cost: float = 1.0, what: str = "") -> None:
        """Take ``cost`` tokens from ``key``'s bucket or raise RateLimited with the seconds to wait."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_buckets:
                    self._evict(now)
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return
            wait = math.ceil((cost - bucket.tokens) / self.rate)
        raise limited(self.capacity, wait, what)

    def _evict(self, now: float) -> None:
        """Drop buckets that are full again (idle long enough); they carry no state worth keeping."""
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0
    last: float = 0.0


def login_locked(scope: str, wait: int) -> RateLimited:
    return RateLimited(
        f"too many failed logins {scope}; try again in {wait} s (until then every login {scope} is refused, "
        "even with the right password)",
        retry_after_s=wait,
    )


class LoginThrottle:
    """Failed-login lockout with exponential backoff, one record per key (an account, or a client address); in
    process memory, like the rate limiter.

    After ``free_attempts`` consecutive failures the key is locked for ``base_s`` seconds, doubling with each
    further failure up to ``max_s``; while locked every attempt - even with the right password - is refused with
    the seconds to wait. A success clears the key's record; a record idle for ``forget_s`` is forgotten.
    ``scope`` words the refusal ("for this account", "from your address").
    """

    def __init__(
        self,
        *,
        free_attempts: int = 5,
        base_s: float = 30.0,
        max_s: float = 900.0,
        forget_s: float = 3600.0,
        scope: str = "for this account",
        clock: Callable[[], float] = time.monotonic,
        max_accounts: int = 100_000,
    ) -> None:
        self.free_attempts, self.base_s, self.max_s, self.forget_s = free_attempts, base_s, max_s, forget_s
        self.scope = scope
        self.clock = clock
        self.max_accounts = max_accounts
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def wait(self, account: str) -> int:
        """Seconds ``account`` stays locked (0: not locked)."""
        now = self.clock()
        with self._lock:
            record = self._failures.get(account)
            return max(0, math.ceil(record.locked_until - now)) if record is not None else 0

    def check(self, account: str) -> None:
        """Raise RateLimited while ``account`` is locked."""
        if (wait := self.wait(account)) > 0:
            raise login_locked(self.scope, wait)

    def failed(self, account: str) -> None:
        now = self.clock()
        with self._lock:
            record = self._failures.get(account)
            if record is None or now - record.last > self.forget_s:
                if len(self._failures) >= self.max_accounts:
                    self._forget_idle(now)
                record = self._failures[account] = _Failures()
            record.count += 1
            record.last = now
            extra = record.count - self.free_attempts
            if extra >= 0:
                record.locked_until = now + min(self.max_s, self.base_s * 2**extra)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(account, None)

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, r in self._failures.items() if now - r.last > self.forget_s and r.locked_until <= now]
        for key in idle:
            del self._failures[key]


def address_key(address: str) -> str:
    """The record an address's failures count against: the address itself, or for IPv6 its /64 network (one
    host usually holds a whole /64, so counting single addresses would give it billions of fresh records)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


ACCOUNT_SCOPE = "for this account"
ADDRESS_SCOPE = "from your address"


@dataclass
class LoginGuard:
    """The two failed-login throttles a password check goes through: per account (guessing one account's password
    from many addresses) and per client address (one address trying many accounts, or many passwords).

    Both must be open before the password is even checked; a failure counts against both. A success clears the
    account's record but not the address's, so an attacker holding one good account cannot reset the address's
    count between guesses; the address's record is forgotten after ``forget_s`` without failures.
    """

    account: LoginThrottle
    address: LoginThrottle

    def check(self, account: str, address: str) -> None:
        """Raise RateLimited (the longer wait, worded for whichever lock holds it) while either is locked."""
        waits = [(self.account.wait(account), ACCOUNT_SCOPE), (self.address.wait(address_key(address)), ADDRESS_SCOPE)]
        wait, scope = max(waits)
        if wait > 0:
            raise login_locked(scope, wait)

    def failed(self, account: str, address: str) -> None:
        self.account.failed(account)
        self.address.failed(address_key(address))

    def succeeded(self, account: str, address: str) -> None:
        self.account.succeeded(account)


def login_guard(per_account: int = 5, per_address: int = 20, clock: Callable[[], float] = time.monotonic) -> LoginGuard:
    """In-process throttles: ``per_account`` failures for one account, ``per_address`` from one address, before
    the 30 s lockout that doubles up to 15 min."""
    return LoginGuard(
        LoginThrottle(free_attempts=per_account, scope=ACCOUNT_SCOPE, clock=clock),
        LoginThrottle(free_attempts=per_address, scope=ADDRESS_SCOPE, clock=clock),
    )
