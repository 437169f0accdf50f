"""Accounts and API keys in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from miles.config import Settings
from miles.errors import InvalidInput, NotFound
from miles.store.db import session_scope
from miles.store.repos import users
from miles.store.tables import ApiKey, User


def test_passwords_are_argon2_hashed_and_verified(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        user = users.create_user(session=session, email=" Alice@Example.com ", password="correct horse")
    assert user.email == "alice@example.com"
    assert user.password_hash.startswith("$argon2id$") and "correct horse" not in user.password_hash
    with session_scope(db_settings) as session:
        assert users.authenticate_password(session=session, email="alice@example.com", password="correct horse")
        assert users.authenticate_password(session=session, email="alice@example.com", password="wrong horse") is None
        assert users.authenticate_password(session=session, email="bob@example.com", password="correct horse") is None


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [("not-an-email", "long enough pw", "valid e-mail"), ("a@example.com", "short", "too short")],
)
def test_bad_accounts_are_refused(db_settings: Settings, email: str, password: str, message: str) -> None:
    with session_scope(db_settings) as session, pytest.raises(InvalidInput, match=message):
        users.create_user(session=session, email=email, password=password)


def test_duplicate_email_is_refused(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        users.create_user(session=session, email="a@example.com", password="long enough pw")
    with session_scope(db_settings) as session, pytest.raises(InvalidInput, match="already exists"):
        users.create_user(session=session, email="A@example.com", password="long enough pw")


def test_keys_are_stored_hashed_and_can_be_revoked(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        user = users.create_user(session=session, email="a@example.com", password="long enough pw")
        row, key = users.create_api_key(session=session, user_id=user.id, name="laptop")
        other, other_key = users.create_api_key(session=session, user_id=user.id)
    assert key.startswith("miles_") and len(key) > 40 and key != other_key
    with session_scope(db_settings) as session:
        stored = session.get(ApiKey, row.id)
        assert stored is not None and stored.key_hash == users.hash_key(key) and key not in stored.key_hash
        owner = users.owner_of_key(session=session, key=key)
        assert owner == users.KeyOwner(user_id=user.id, key_id=row.id)
        assert users.owner_of_key(session=session, key=key + "x") is None
        assert users.owner_of_key(session=session, key="not-a-miles-key") is None
        users.revoke_api_key(session=session, user_id=user.id, key_id=row.id)
    with session_scope(db_settings) as session:
        assert users.owner_of_key(session=session, key=key) is None
        assert users.owner_of_key(session=session, key=other_key) is not None
        assert [k.revoked_at is not None for k in users.list_api_keys(session=session, user_id=user.id)] == [
            True,
            False,
        ]
        with pytest.raises(NotFound):
            users.revoke_api_key(session=session, user_id=user.id + 1, key_id=other.id)


def test_keys_of_inactive_users_do_not_authenticate(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        user = users.create_user(session=session, email="a@example.com", password="long enough pw")
        _row, key = users.create_api_key(session=session, user_id=user.id)
    with session_scope(db_settings) as session:
        stored = session.get(User, user.id)
        assert stored is not None
        stored.is_active = False
    with session_scope(db_settings) as session:
        assert users.owner_of_key(session=session, key=key) is None
