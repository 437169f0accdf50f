"""User A can never read or delete user B's tracked videos or history: in the API, and on PostgreSQL
in the database itself through row-level security (queried as a non-superuser role)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.serve.conftest import ENCODERS, ApiUser

from miles.config import Settings
from miles.store.db import get_engine, is_postgres

API = "/api/v1"


def test_tracked_videos_are_private(client: TestClient, user_factory: Callable[[str], ApiUser]) -> None:
    alice, bob = user_factory("alice@example.com"), user_factory("bob@example.com")
    added = client.post(
        f"{API}/tracked", json={"url": "https://www.youtube.com/shorts/dQw4w9WgXcQ"}, headers=alice.headers
    )
    assert added.status_code == 201, added.text
    tracked_id = added.json()["id"]
    assert added.json()["video_id"] == "dQw4w9WgXcQ"
    assert client.get(f"{API}/tracked", headers=bob.headers).json()["total"] == 0
    denied = client.delete(f"{API}/tracked/{tracked_id}", headers=bob.headers)
    assert denied.status_code == 404  # indistinguishable from a missing id
    assert client.get(f"{API}/tracked", headers=alice.headers).json()["total"] == 1
    # Bob may track the same video for himself; Alice cannot add it twice.
    assert (
        client.post(f"{API}/tracked", json={"url": "https://youtu.be/dQw4w9WgXcQ"}, headers=bob.headers).status_code
        == 201
    )
    dup = client.post(f"{API}/tracked", json={"url": "dQw4w9WgXcQ"}, headers=alice.headers)
    assert dup.status_code == 409
    assert client.delete(f"{API}/tracked/{tracked_id}", headers=alice.headers).status_code == 204
    assert client.get(f"{API}/tracked", headers=alice.headers).json()["total"] == 0
    assert client.get(f"{API}/tracked").status_code == 401
    bad = client.post(f"{API}/tracked", json={"url": "https://vimeo.com/12345678901"}, headers=alice.headers)
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("body.url")


@ENCODERS
def test_history_is_private(predictor_client: TestClient, user_factory: Callable[[str], ApiUser]) -> None:
    alice, bob = user_factory("alice@example.com"), user_factory("bob@example.com")
    predictor_client.post(f"{API}/predict", json={"title": "Alice's secret draft"}, headers=alice.headers)
    predictor_client.post(f"{API}/predict", json={"title": "anonymous draft"})
    assert predictor_client.get(f"{API}/history", headers=bob.headers).json()["total"] == 0
    mine = predictor_client.get(f"{API}/history", headers=alice.headers).json()
    assert [i["inputs"]["title"] for i in mine["items"]] == ["Alice's secret draft"]


def _rows_as(settings: Settings, role: str, user_id: int | None, sql: str) -> list[tuple[object, ...]]:
    with get_engine(settings).begin() as conn:
        conn.execute(text(f'SET LOCAL ROLE "{role}"'))
        conn.execute(
            text("SELECT set_config('miles.user_id', :v, true)"), {"v": "" if user_id is None else str(user_id)}
        )
        return [tuple(r) for r in conn.execute(text(sql))]


@ENCODERS
def test_row_level_security_on_postgres(
    db_settings: Settings, predictor_client: TestClient, user_factory: Callable[[str], ApiUser]
) -> None:
    """The model only creates prediction rows here. The test role is not a superuser and does
    not own the tables, so the policies apply to it; the app's own connection (superuser here) would bypass them."""
    with get_engine(db_settings).connect() as conn:
        if not is_postgres(conn.engine):
            pytest.skip("row-level security exists on PostgreSQL only")
    alice, bob = user_factory("alice@example.com"), user_factory("bob@example.com")
    predictor_client.post(f"{API}/tracked", json={"url": "dQw4w9WgXcQ"}, headers=alice.headers)
    predictor_client.post(f"{API}/tracked", json={"url": "9bZkp7q19f0"}, headers=bob.headers)
    predictor_client.post(f"{API}/predict", json={"title": "alice"}, headers=alice.headers)
    predictor_client.post(f"{API}/predict", json={"title": "anon"})
    role = f"miles_rls_{uuid.uuid4().hex[:8]}"
    engine = get_engine(db_settings)
    with engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        conn.execute(text(f'CREATE ROLE "{role}" NOSUPERUSER NOBYPASSRLS NOLOGIN'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        conn.execute(text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"'))
    try:
        assert _rows_as(db_settings, role, alice.user_id, "SELECT video_id FROM tracked_videos") == [("dQw4w9WgXcQ",)]
        assert _rows_as(db_settings, role, bob.user_id, "SELECT video_id FROM tracked_videos") == [("9bZkp7q19f0",)]
        assert _rows_as(db_settings, role, None, "SELECT video_id FROM tracked_videos") == []
        assert _rows_as(db_settings, role, bob.user_id, "SELECT count(*) FROM predictions") == [(0,)]
        assert _rows_as(db_settings, role, alice.user_id, "SELECT inputs->>'title' FROM predictions") == [("alice",)]
        assert _rows_as(db_settings, role, None, "SELECT inputs->>'title' FROM predictions") == [("anon",)]
        assert _rows_as(db_settings, role, bob.user_id, "SELECT count(*) FROM api_keys") == [(1,)]
        # Deleting someone else's rows silently affects nothing; writing rows for someone else is refused.
        _rows_as(db_settings, role, bob.user_id, "DELETE FROM tracked_videos RETURNING id")
        assert _rows_as(db_settings, role, alice.user_id, "SELECT count(*) FROM tracked_videos") == [(1,)]
        with pytest.raises(Exception, match="row-level security"):
            _rows_as(
                db_settings,
                role,
                bob.user_id,
                f"INSERT INTO queries (user_id, topic, vibe, result, created_at) "
                f"VALUES ({alice.user_id}, 't', '', '{{}}', now()) RETURNING id",
            )
        # Authentication works for the restricted role through the SECURITY DEFINER lookup function.
        from miles.store.repos.users import hash_key

        owner = _rows_as(db_settings, role, None, f"SELECT user_id FROM miles_api_key_owner('{hash_key(alice.key)}')")
        assert owner == [(alice.user_id,)]
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
