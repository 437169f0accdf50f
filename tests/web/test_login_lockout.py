"""Failed-login lockouts with exponential backoff, per account and per client address: guesses against one account
stop working, one address spraying many accounts stops too, and neither locks out other people. Also the password
policy (zxcvbn) as the sign-up and change-password pages show it."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import csrf, sign_up

from miles.errors import RateLimited
from miles.serve.limits import LoginThrottle, RateLimiter, address_key, login_guard


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


def test_an_ipv6_host_counts_as_its_slash_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("203.0.113.7") == address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_key("unknown") == "unknown"
    guard = login_guard(per_account=100, per_address=2, clock=Clock())
    guard.failed("a@example.com", "2001:db8:1:2::1")
    guard.failed("b@example.com", "2001:db8:1:2::2")
    with pytest.raises(RateLimited, match="from your address"):
        guard.check("c@example.com", "2001:db8:1:2::3")
    guard.check("c@example.com", "2001:db8:9:9::3")


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
    assert locked.status_code == 429 and "too many failed logins for this account" in locked.text
    assert int(locked.headers["Retry-After"]) >= 1
    assert attempt("wrong-password-x", email="someone-else@example.com") == 401


def _login(client: TestClient, email: str, password: str) -> tuple[int, str, str | None]:
    token = csrf(client)
    data = {"email": email, "password": password, "csrf_token": token}
    response = client.post("/login", data=data, follow_redirects=False)
    return response.status_code, html.unescape(response.text), response.headers.get("retry-after")


def _guarded(web: TestClient) -> Clock:
    """A login guard on a clock the test moves; the general page rate limit out of the way (it is separate)."""
    clock = Clock()
    web.app.state.login_guard = login_guard(clock=clock)
    web.app.state.rate_limiter = RateLimiter(1_000_000)
    return clock


def _from(web: TestClient, address: str) -> TestClient:
    """Another browser on the same server, connecting from ``address``."""
    return TestClient(web.app, client=(address, 40000))


def test_199_guesses_in_a_row_against_one_account_are_refused_and_the_lockout_decays(web: TestClient) -> None:
    """The issue's attack: 199 guesses against one account in 40 s with no lockout. Now 5 are checked, the rest
    get 429 with Retry-After and a clear message - the right password too - until the lockout runs out."""
    clock = _guarded(web)
    sign_up(web, email="victim@example.com", password="a-long-password")
    attacker, victim = _from(web, "203.0.113.7"), _from(web, "198.51.100.4")
    results = [_login(attacker, "victim@example.com", f"guess-number-{i}") for i in range(199)]
    statuses = [status for status, _, _ in results]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429] * 194
    status, text, retry = results[5]
    assert "too many failed logins for this account; try again in 30 s" in text and retry == "30"
    assert "even with the right password" in text
    assert results[-1][2] == "30"  # refused attempts do not verify the password, so they do not add to the lock

    status, text, retry = _login(victim, "victim@example.com", "a-long-password")  # the owner, from elsewhere
    assert status == 429 and retry == "30" and "for this account" in text

    clock.now += 31  # the lockout decays: the right password works again
    assert _login(victim, "victim@example.com", "a-long-password")[0] == 303
    clock.now += 1  # and the success cleared the account's record: five more free attempts
    assert [_login(attacker, "victim@example.com", f"again-{i}")[0] for i in range(5)] == [401] * 5
    clock.now += 31
    assert _login(attacker, "victim@example.com", "again-6")[0] == 401  # the next failure after a lock doubles it
    status, _, retry = _login(attacker, "victim@example.com", "again-7")
    assert status == 429 and retry == "60"


def test_an_attack_on_one_account_does_not_lock_out_another_user(web: TestClient) -> None:
    _guarded(web)
    sign_up(web, email="victim@example.com", password="a-long-password")
    sign_up(web, email="bystander@example.com", password="correct horse battery")
    attacker, bystander = _from(web, "203.0.113.7"), _from(web, "198.51.100.4")
    assert {_login(attacker, "victim@example.com", f"guess-{i}")[0] for i in range(30)} == {401, 429}
    assert _login(bystander, "bystander@example.com", "correct horse battery")[0] == 303


def test_one_address_spraying_many_accounts_is_throttled(web: TestClient) -> None:
    """One password tried against many accounts (each account sees one failure): the address is locked after 20
    failures - even for a right password - while other addresses log in as usual."""
    clock = _guarded(web)
    sign_up(web, email="real@example.com", password="a-long-password")
    sprayer, other = _from(web, "203.0.113.9"), _from(web, "198.51.100.4")
    statuses = [_login(sprayer, f"user{i}@example.com", "Summer2026!")[0] for i in range(40)]
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429] * 20
    status, text, retry = _login(sprayer, "real@example.com", "a-long-password")
    assert status == 429 and "too many failed logins from your address; try again in 30 s" in text and retry == "30"
    assert _login(other, "real@example.com", "a-long-password")[0] == 303
    clock.now += 31
    assert _login(sprayer, "real@example.com", "a-long-password")[0] == 303  # decays like the account's
    assert _login(sprayer, "user99@example.com", "Summer2026!")[0] == 401  # a success does not reset the address
    assert _login(sprayer, "user98@example.com", "Summer2026!")[0] == 429


def test_guessing_the_current_password_on_the_password_page_is_throttled(web: TestClient) -> None:
    _guarded(web)
    token = sign_up(web, email="owner@example.com", password="a-long-password")

    def change(current: str) -> tuple[int, str]:
        data = {"current": current, "password": "kettle fjord orbit", "confirm": "kettle fjord orbit"}
        response = web.post("/password", data={**data, "csrf_token": token})
        return response.status_code, html.unescape(response.text)

    assert [change(f"guess-{i}")[0] for i in range(5)] == [401] * 5
    status, text = change("a-long-password")
    assert status == 429 and "too many failed logins for this account" in text


@pytest.mark.parametrize("password", ["aaaaaaaaaa", " " * 10])
def test_sign_up_and_password_change_refuse_weak_passwords_with_zxcvbns_words(web: TestClient, password: str) -> None:
    token = csrf(web)
    data = {"email": "weak@example.com", "password": password, "confirm": password, "csrf_token": token}
    refused = web.post("/signup", data=data)
    text = html.unescape(refused.text)
    assert refused.status_code == 422
    assert 'password too easy to guess (strength 0 of 4, needs 3): Repeats like "aaa" are easy to guess.' in text
    assert "Add another word or two. Uncommon words are better." in text
    token = sign_up(web, email="weak@example.com", password="a-long-password")
    data = {"current": "a-long-password", "password": password, "confirm": password, "csrf_token": token}
    changed = web.post("/password", data=data)
    assert changed.status_code == 422 and "password too easy to guess" in html.unescape(changed.text)
    assert web.get("/login.json").json()["user"]["email"] == "weak@example.com"  # still logged in, same password
