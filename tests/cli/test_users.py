"""`miles user create` and `miles key create|list|revoke`, driving the real CLI against a real database."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from miles.cli.main import app
from miles.config import Settings, get_settings
from miles.store.db import session_scope
from miles.store.repos import users


@pytest.fixture
def cli_env(sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("MILES_DATA_DIR", str(sqlite_settings.data_dir))
    monkeypatch.setenv("MILES_ENV", "test")
    get_settings.cache_clear()
    yield sqlite_settings  # type: ignore[misc]
    get_settings.cache_clear()


def test_user_and_key_lifecycle(cli_env: Settings) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["user", "create", "alice@example.com"], input="a-long-password\na-long-password\n")
    assert created.exit_code == 0, created.output
    assert "created user alice@example.com" in created.output
    key_out = runner.invoke(app, ["key", "create", "--email", "alice@example.com", "--name", "laptop"])
    assert key_out.exit_code == 0, key_out.output
    key = key_out.output.strip().splitlines()[-1]
    assert key.startswith("miles_")
    with session_scope(cli_env) as session:
        owner = users.owner_of_key(session=session, key=key)
        assert owner is not None
    listing = runner.invoke(app, ["key", "list", "-e", "alice@example.com"])
    assert listing.exit_code == 0 and "laptop" in listing.output and key not in listing.output
    revoked = runner.invoke(app, ["key", "revoke", str(owner.key_id), "-e", "alice@example.com"])
    assert revoked.exit_code == 0, revoked.output
    with session_scope(cli_env) as session:
        assert users.owner_of_key(session=session, key=key) is None


def test_key_for_unknown_user_is_a_clear_error(cli_env: Settings) -> None:
    result = CliRunner().invoke(app, ["key", "create", "--email", "nobody@example.com"])
    assert result.exit_code != 0
    assert "no user with e-mail nobody@example.com" in str(result.exception)


@pytest.mark.parametrize("password", ["aaaaaaaaaa", " " * 10, "password123"])
def test_weak_passwords_are_refused_by_the_cli_with_zxcvbns_words(cli_env: Settings, password: str) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["user", "create", "weak@example.com", "--password", password])
    assert created.exit_code == 1  # `miles` prints the message as "error: ..." and exits 1 (an expected error)
    message = str(created.exception)
    assert message.startswith("password too easy to guess") and "Add another word or two" in message
    with session_scope(cli_env) as session:
        assert users.get_user_by_email(session=session, email="weak@example.com") is None
    ok = runner.invoke(app, ["user", "create", "weak@example.com", "--password", "correct horse battery"])
    assert ok.exit_code == 0, ok.output
    reset = runner.invoke(app, ["user", "password", "weak@example.com", "--password", password])
    assert reset.exit_code == 1 and "password too easy to guess" in str(reset.exception)


def test_revoking_a_revoked_key_says_so_and_changes_nothing(cli_env: Settings) -> None:
    runner = CliRunner()
    with session_scope(cli_env) as session:
        user = users.create_user(session=session, email="bob@example.com", password="correct horse battery")
        key_id = users.create_api_key(session=session, user_id=user.id, name="laptop")[0].id
    first = runner.invoke(app, ["key", "revoke", str(key_id), "-e", "bob@example.com"])
    assert first.exit_code == 0 and f"revoked API key {key_id} of bob@example.com" in first.output
    with session_scope(cli_env) as session:
        (key,) = users.list_api_keys(session=session, user_id=user.id)
        revoked_at = key.revoked_at
    assert revoked_at is not None
    again = runner.invoke(app, ["key", "revoke", str(key_id), "-e", "bob@example.com"])
    assert again.exit_code == 0, again.output  # a no-op, as `miles track add` of a tracked video (exit 0)
    said = " ".join(again.output.split())
    assert said == (f"API key {key_id} of bob@example.com was already revoked on {revoked_at:%Y-%m-%d %H:%M} UTC: "
                    "nothing changed")  # fmt: skip
    with session_scope(cli_env) as session:
        assert [k.revoked_at for k in users.list_api_keys(session=session, user_id=user.id)] == [revoked_at]


def test_revoking_a_key_the_account_does_not_have_names_no_internal_id(cli_env: Settings) -> None:
    """`miles key revoke 9 -e bob@…` said "user 3 has no API key with id 9": the user typed an e-mail, not an id."""
    with session_scope(cli_env) as session:
        users.create_user(session=session, email="bob@example.com", password="correct horse battery")
    result = CliRunner().invoke(app, ["key", "revoke", "9", "-e", "bob@example.com"])
    said = str(result.exception)  # the CLI's entry point prints it as "error: ..." (exit 1)
    assert "this account has no API key with id 9" in said and "user " not in said, said


def test_user_list_shows_every_account_with_its_active_keys(cli_env: Settings) -> None:
    """There was no way to see which accounts exist (`miles key list` needs the e-mail already)."""
    runner = CliRunner()
    assert "no accounts yet" in runner.invoke(app, ["user", "list"]).output
    with session_scope(cli_env) as session:
        ann = users.create_user(session=session, email="ann@example.com", password="correct horse battery")
        users.create_user(session=session, email="bob@example.com", password="correct horse battery")
        users.create_api_key(session=session, user_id=ann.id, name="laptop")
        gone = users.create_api_key(session=session, user_id=ann.id, name="old")[0]
        users.revoke_api_key(session=session, user_id=ann.id, key_id=gone.id)
    listed = runner.invoke(app, ["user", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(r["email"], r["active_keys"]) for r in json.loads(listed.output)] == [
        ("ann@example.com", 1), ("bob@example.com", 0)
    ]  # fmt: skip
    human = runner.invoke(app, ["user", "list"]).output
    assert "2 accounts" in human and "ann@example.com" in human and "bob@example.com" in human
