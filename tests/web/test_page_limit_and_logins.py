"""Login posts count in the page budget of their address (each costs an argon2 hash), so an attacker flooding the
login form throttles their own address only: a signed-in user elsewhere keeps their pages, even while the attacker's
guesses keep the user's account locked for new logins. Over real HTTP (`miles serve`), from two loopback addresses."""

from __future__ import annotations

import re

import httpx
from tests.serve.test_uvicorn import miles_serve

from miles.config import Settings

PASSWORD = "violet staircase umbrella 1977"


def _browser(base: str, address: str) -> httpx.Client:
    return httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=address), timeout=30)


def _token(client: httpx.Client, path: str = "/login") -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text)
    assert found, client.get(path).status_code
    return found.group(1)


def test_flooding_the_login_form_does_not_take_a_signed_in_users_pages(sqlite_settings: Settings) -> None:
    with miles_serve(sqlite_settings, MILES_RATE_LIMIT_PER_MINUTE="15") as base:
        victim, attacker = _browser(base, "127.0.0.3"), _browser(base, "127.0.0.2")
        form = {"email": "victim@example.com", "password": PASSWORD, "confirm": PASSWORD}
        assert victim.post("/signup", data={**form, "csrf_token": _token(victim, "/signup")}).status_code == 303
        token = _token(attacker)
        statuses = []
        for i in range(30):
            r = attacker.post(
                "/login", data={"email": "victim@example.com", "password": f"guess {i}", "csrf_token": token}
            )
            statuses.append(r.status_code)
        assert statuses[0] == 401 and statuses[-1] == 429 and r.headers["Retry-After"].isdigit()
        assert attacker.get("/history").status_code == 429  # the attacker's own address is out of page budget
        for path in ("/history", "/password.json", "/score"):
            assert victim.get(path).status_code == 200, path  # the signed-in victim's pages still answer
        relogin = _browser(base, "127.0.0.4")
        r = relogin.post(
            "/login", data={"email": "victim@example.com", "password": PASSWORD, "csrf_token": _token(relogin)}
        )
        assert r.status_code == 429  # the account lockout refuses new logins, even with the right password (documented)
