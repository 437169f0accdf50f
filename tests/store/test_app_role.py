"""PostgreSQL row-level security binds by default: `miles db upgrade` creates (or checks) the application role, the
web app and MCP server act as it, and through direct SQL as that role one user's rows are invisible and unwritable
to another - users and API keys included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from tests.conftest import make_settings
from tests.serve.conftest import make_user, no_model

from miles.config import Settings
from miles.errors import ConfigError
from miles.serve.app import create_app
from miles.store import migrate
from miles.store.db import get_engine
from miles.store.repos.users import hash_key

pytestmark = pytest.mark.postgres
TRACK = (
    "INSERT INTO tracked_videos (user_id, video_id, url, added_at, anchor_at, poll_index, active) "
    "VALUES (:u, :v, 'https://youtu.be/x', now(), now(), 0, true)"
)


@pytest.fixture
def pg(pg_schema_url: str, tmp_path: Path) -> Iterator[Settings]:
    settings = make_settings(tmp_path, database_url=pg_schema_url)
    with get_engine(settings).begin() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()
        names = ", ".join(f'"{t}"' for t in tables if t != "alembic_version")
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield settings


def _as_user(conn: Connection, user_id: int | None) -> None:
    conn.execute(text("SELECT set_config('miles.user_id', :v, true)"), {"v": "" if user_id is None else str(user_id)})


def _seed(settings: Settings) -> tuple[int, int, str]:
    """Alice and Bob, each with a key, a tracked video and a prediction; returns their ids and Alice's key."""
    alice, bob = make_user(settings, "alice@example.com"), make_user(settings, "bob@example.com")
    with get_engine(settings).begin() as conn:  # the owner writes the fixtures
        for user, video in ((alice, "dQw4w9WgXcQ"), (bob, "9bZkp7q19f0")):
            conn.execute(
                text(TRACK),
                {"u": user.user_id, "v": video},
            )
    return alice.user_id, bob.user_id, alice.key


def test_the_app_acts_as_a_role_that_rls_binds(pg: Settings) -> None:
    app_settings = pg.for_app()
    with get_engine(app_settings).connect() as conn:
        me, superuser, bypass = conn.execute(
            text("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
        owned = conn.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tableowner = current_user")
        ).scalar_one()
    assert me == "miles_app" and not superuser and not bypass and owned == 0
    app = create_app(pg)
    assert app.state.settings.engine_role == "miles_app"


def test_one_users_rows_are_invisible_and_unwritable_to_another(pg: Settings) -> None:
    alice, bob, alice_key = _seed(pg)
    with get_engine(pg.for_app()).begin() as conn:
        _as_user(conn, bob)
        assert conn.execute(text("SELECT id FROM users")).scalars().all() == [bob]  # no e-mails or hashes of others
        assert conn.execute(text("SELECT user_id FROM api_keys")).scalars().all() == [bob]
        assert conn.execute(text("SELECT video_id FROM tracked_videos")).scalars().all() == ["9bZkp7q19f0"]
        hijack = conn.execute(text("UPDATE users SET password_hash = 'x' WHERE id = :a"), {"a": alice})
        assert hijack.rowcount == 0
        assert conn.execute(text("DELETE FROM api_keys WHERE user_id = :a"), {"a": alice}).rowcount == 0
        assert conn.execute(text("DELETE FROM tracked_videos WHERE user_id = :a"), {"a": alice}).rowcount == 0
        # Authentication still works without reading the tables: key -> owner, e-mail -> id only.
        owner = conn.execute(text("SELECT user_id FROM miles_api_key_owner(:h)"), {"h": hash_key(alice_key)})
        assert owner.scalar_one() == alice
        assert conn.execute(text("SELECT miles_user_id('alice@example.com')")).scalar_one() == alice
    for sql in (
        TRACK.replace(":u", ":a").replace(":v", "'x'"),
        "INSERT INTO api_keys (user_id, name, prefix, key_hash, created_at) VALUES (:a, 'k', 'p', 'h', now())",
        "UPDATE tracked_videos SET user_id = :a",
    ):
        with get_engine(pg.for_app()).begin() as conn, pytest.raises(Exception, match="row-level security"):
            _as_user(conn, bob)
            conn.execute(text(sql), {"a": alice})
    with get_engine(pg.for_app()).begin() as conn:
        _as_user(conn, None)  # an anonymous request sees no account at all
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
    with get_engine(pg).begin() as conn:  # the owner (migrations, worker, CLI) still sees everything
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 2
        hashes = conn.execute(text("SELECT password_hash FROM users WHERE id = :a"), {"a": alice}).scalar_one()
        assert hashes.startswith("$argon2")


def test_sign_up_log_in_and_keys_work_as_the_app_role(pg: Settings, tmp_path: Path) -> None:
    from tests.web.conftest import csrf, sign_up

    with TestClient(create_app(no_model(pg, tmp_path))) as web:
        token = sign_up(web, email="carol@example.com")
        created = web.post("/keys", data={"csrf_token": token, "name": "laptop"})
        assert created.status_code == 200 and "miles_" in created.text
        assert web.get("/keys.json").json()["keys"][0]["name"] == "laptop"
        dup = TestClient(web.app)
        form = {"email": "carol@example.com", "password": "a-long-password", "confirm": "a-long-password"}
        again = dup.post("/signup", data={**form, "csrf_token": csrf(dup)})
        assert again.status_code == 422 and "already exists" in again.text
        login = {"email": "carol@example.com", "csrf_token": csrf(dup)}
        assert dup.post("/login", data={**login, "password": "wrong-password-1"}).status_code == 401
        assert dup.post("/login", data={**login, "password": "a-long-password"}).status_code == 200


def test_a_login_role_from_the_app_url_is_created_and_used(pg: Settings, pg_schema_url: str) -> None:
    url = make_url(pg_schema_url).set(username="miles_app_login", password="app-secret")
    settings = pg.model_copy(update={"app_database_url": url.render_as_string(hide_password=False)})
    assert migrate.upgrade(settings) == "miles_app_login"
    with get_engine(settings.for_app()).connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == "miles_app_login"
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0  # bound by RLS


def test_upgrade_refuses_an_app_role_that_would_bypass_rls(pg: Settings, pg_schema_url: str) -> None:
    owner = make_url(pg_schema_url).username  # the superuser that owns the tables
    settings = pg.model_copy(update={"app_database_url": pg_schema_url})
    with pytest.raises(ConfigError, match=f"role '{owner}' is a superuser"):
        migrate.upgrade(settings)
