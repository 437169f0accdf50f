"""Sessions end on logout and on a password change: a cookie saved before no longer works; API keys do."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.web.conftest import csrf, sign_up
from typer.testing import CliRunner

from miles.cli.main import app as cli_app
from miles.config import Settings, get_settings
from miles.serve.web_auth import COOKIE
from miles.store.db import session_scope
from miles.store.repos import users


def _signed_in(app: FastAPI, email: str, password: str = "a-long-password") -> TestClient:
    """A second browser logging in to an existing account."""
    other = TestClient(app)
    token = csrf(other)
    data = {"email": email, "password": password, "csrf_token": token}
    assert other.post("/login", data=data, follow_redirects=False).status_code == 303
    return other


def _cookie_works(app: FastAPI, cookie: str) -> bool:
    """A fresh client sending only ``cookie``: does it reach the user's own data (page twin and JSON API)?"""
    probe = TestClient(app, cookies={COOKIE: cookie})
    page = probe.get("/keys.json", follow_redirects=False)
    api = probe.get("/api/v1/queries")
    assert (page.status_code == 200) == (api.status_code == 200), (page.status_code, api.status_code)
    return api.status_code == 200


def _key_for(settings: Settings, email: str) -> dict[str, str]:
    with session_scope(settings) as session:
        user = users.require_user(session=session, email=email)
        _row, key = users.create_api_key(session=session, user_id=user.id, name="laptop")
    return {"Authorization": f"Bearer {key}"}


def test_a_cookie_saved_before_logout_no_longer_works(client: TestClient, app: FastAPI, db_settings: Settings) -> None:
    token = sign_up(client, email="saver@example.com")
    saved = client.cookies[COOKIE]
    assert _cookie_works(app, saved)
    laptop = _signed_in(app, "saver@example.com")
    key = _key_for(db_settings, "saver@example.com")
    logged_out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert logged_out.status_code == 303
    # Before: the saved cookie kept working for 14 days. Now logout ends it, and the other browser's too.
    assert not _cookie_works(app, saved)
    assert laptop.get("/keys.json").status_code == 401
    assert client.get("/api/v1/queries", headers=key).status_code == 200  # API keys are separate credentials
    again = _signed_in(app, "saver@example.com")  # logging in again works and gives a live cookie
    assert _cookie_works(app, again.cookies[COOKIE])


def test_a_password_change_ends_other_sessions_and_keeps_this_one(
    client: TestClient, app: FastAPI, db_settings: Settings
) -> None:
    token = sign_up(client, email="changer@example.com")
    laptop = _signed_in(app, "changer@example.com")
    stolen = laptop.cookies[COOKIE]
    key = _key_for(db_settings, "changer@example.com")
    form = {"current": "a-long-password", "password": "a-new-long-password", "confirm": "a-new-long-password"}
    changed = client.post("/password", data={**form, "csrf_token": token})
    assert changed.status_code == 200 and "Your password is changed" in changed.text
    assert client.get("/keys.json").status_code == 200  # this browser got a fresh cookie
    assert not _cookie_works(app, stolen)
    assert client.get("/api/v1/queries", headers=key).status_code == 200
    anonymous = TestClient(app)
    login = {"email": "changer@example.com", "csrf_token": csrf(anonymous)}
    assert anonymous.post("/login", data={**login, "password": "a-long-password"}).status_code == 401
    assert anonymous.post("/login", data={**login, "password": "a-new-long-password"}).status_code == 200


def test_a_password_change_needs_the_current_password_and_a_good_new_one(client: TestClient) -> None:
    token = sign_up(client, email="careful@example.com")
    wrong = {"current": "not-my-password", "password": "a-new-long-password", "confirm": "a-new-long-password"}
    refused = client.post("/password", data={**wrong, "csrf_token": token})
    assert refused.status_code == 401 and "current password: wrong" in refused.text
    weak = {"current": "a-long-password", "password": "bbbbbbbbbbbb", "confirm": "bbbbbbbbbbbb"}
    assert client.post("/password", data={**weak, "csrf_token": token}).status_code == 422
    differ = {"current": "a-long-password", "password": "a-new-long-password", "confirm": "another-long-one"}
    assert "differ" in client.post("/password", data={**differ, "csrf_token": token}).text
    assert client.get("/keys.json").status_code == 200  # refused changes end nothing
    assert client.post("/password", data={**weak, "csrf_token": "forged"}).status_code == 403
    assert TestClient(client.app).get("/password", follow_redirects=False).status_code == 303  # to /login


def test_an_operator_password_reset_logs_the_user_out(
    client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch, db_settings: Settings
) -> None:
    sign_up(client, email="reset@example.com")
    saved = client.cookies[COOKIE]
    monkeypatch.setenv("MILES_DATABASE_URL", db_settings.database_url)
    monkeypatch.setenv("MILES_DATA_DIR", str(db_settings.data_dir))
    monkeypatch.setenv("MILES_ENV", "test")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli_app, ["user", "password", "reset@example.com"], input="a-reset-password\na-reset-password\n"
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "logged out" in result.output
    assert not _cookie_works(app, saved)
    assert _cookie_works(app, _signed_in(app, "reset@example.com", "a-reset-password").cookies[COOKIE])
