"""Per-account failed-login lockout with exponential backoff: guesses against one account stop working."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import csrf, sign_up

from miles.errors import RateLimited
from miles.serve.limits import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lockout_starts_after_five_failures_and_doubles() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_attempts=5, base_s=30, max_s=900, clock=clock)
    for _ in range(4):
        throttle.failed("a@example.com")
        throttle.check("a@example.com")
    throttle.failed("a@example.com")
    with pytest.raises(RateLimited) as err:
        throttle.check("a@example.com")
    assert err.value.retry_after_s == 30
    throttle.check("b@example.com")  # other accounts are not affected
    clock.now += 31
    throttle.check("a@example.com")
    throttle.failed("a@example.com")
    with pytest.raises(RateLimited) as err:
        throttle.check("a@example.com")
    assert err.value.retry_after_s == 60
    for _ in range(10):
        throttle.failed("a@example.com")
    with pytest.raises(RateLimited) as err:
        throttle.check("a@example.com")
    assert err.value.retry_after_s == 900  # capped
    throttle.succeeded("a@example.com")
    throttle.check("a@example.com")


def test_the_login_page_locks_an_account_after_repeated_wrong_passwords(web: TestClient) -> None:
    sign_up(web, email="victim@example.com")
    web.cookies.clear()
    token = csrf(web)

    def attempt(password: str, email: str = "victim@example.com") -> int:
        data = {"email": email, "password": password, "csrf_token": token}
        return web.post("/login", data=data, follow_redirects=False).status_code

    assert [attempt(f"guess-number-{i}") for i in range(5)] == [401] * 5
    locked = web.post(
        "/login",
        data={"email": "Victim@example.com", "password": "a-long-password", "csrf_token": token},
        follow_redirects=False,
    )
    assert locked.status_code == 429 and "too many failed logins" in locked.text
    assert int(locked.headers["Retry-After"]) >= 1
    assert attempt("wrong-password-x", email="someone-else@example.com") == 401
