"""Local accounts and API keys.

Passwords are hashed with argon2id (argon2-cffi) and must pass zxcvbn's strength estimate (``password_problem``).
API keys are 256-bit random tokens shown once; only their SHA-256 is stored (a slow hash is pointless for
high-entropy keys and would make every request slow). On PostgreSQL the ``api_keys`` and ``users`` tables are
under row-level security, so the lookups that happen before a request has a user go through SECURITY DEFINER
functions: key to owner (``miles_api_key_owner``, migration 0003), e-mail to user id and sign-up
(``miles_user_id``, ``miles_create_user``, migration 0005); the user's own row is then read as that user.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from miles.domain import control_char_problem, utcnow
from miles.errors import InvalidInput, NotFound
from miles.store.db import is_postgres
from miles.store.tables import ApiKey, User

KEY_PREFIX = "miles_"
MIN_PASSWORD_LENGTH = 10
MIN_PASSWORD_SCORE = 3  # zxcvbn: 0 too guessable ... 4 very unguessable
ZXCVBN_MAX_CHARS = 72
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HASHER = PasswordHasher()


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """The result of authenticating an API key."""

    user_id: int
    key_id: int


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A real argon2 hash of nothing anyone knows: unknown e-mails are verified against it, so a login for an
    unknown address takes as long as one for a known address (no timing oracle for which e-mails exist)."""
    return _HASHER.hash(secrets.token_urlsafe(32))


def password_problem(password: str, *, email: str = "") -> str | None:
    """Why ``password`` is too weak to accept, or None.

    At least ``MIN_PASSWORD_LENGTH`` characters, not the e-mail address, and - judged by zxcvbn (Dropbox's
    password strength estimator: dictionaries of common passwords, names and words, keyboard patterns, repeats,
    sequences, dates, l33t) - at least ``MIN_PASSWORD_SCORE`` of 4 ("safely unguessable"). The refusal carries
    zxcvbn's own warning and suggestions. zxcvbn reads the first 72 characters (its limit; longer is fine).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password too short: use at least {MIN_PASSWORD_LENGTH} characters"
    email = email.strip().lower()
    if email and password.strip().lower() == email:
        return "password is your e-mail address: choose something else"
    hints = [email, email.partition("@")[0], "miles"] if email else ["miles"]
    strength = zxcvbn(password[:ZXCVBN_MAX_CHARS], user_inputs=hints)
    if strength["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = strength["feedback"]
    words = " ".join(
        part if part.endswith((".", "!", "?")) else part + "."
        for part in [feedback.get("warning") or "", *feedback.get("suggestions", [])]
        if part
    )
    return f"password too easy to guess (strength {strength['score']} of 4, needs {MIN_PASSWORD_SCORE}): " + (
        words or "Add another word or two. Uncommon words are better."
    )


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320 or control_char_problem(email, multiline=False):
        raise InvalidInput(f"not a valid e-mail address: {email!r}")
    return email


def create_user(*, session: Session, email: str, password: str) -> User:
    """A new account; on PostgreSQL the transaction then acts as the new user (its row is visible only so)."""
    email = normalise_email(email)
    if problem := password_problem(password, email=email):
        raise InvalidInput(problem)
    if _user_id_by_email(session, email) is not None:
        raise InvalidInput(f"a user with e-mail {email} already exists")
    if not is_postgres(session):
        user = User(email=email, password_hash=hash_password(password))
        session.add(user)
        session.flush()
        return user
    user_id = int(session.scalar(text("SELECT miles_create_user(:e, :h)"), {"e": email, "h": hash_password(password)}))
    set_current_user(session=session, user_id=user_id)
    created = session.get(User, user_id)
    assert created is not None, "a user just created is visible to itself"
    return created


def _user_id_by_email(session: Session, email: str) -> int | None:
    """The id of the account with this (normalised) e-mail; through ``miles_user_id`` on PostgreSQL, where a
    request without a user cannot read ``users``."""
    email = email.strip().lower()
    if is_postgres(session):
        found = session.scalar(text("SELECT miles_user_id(:e)"), {"e": email})
    else:
        found = session.scalar(select(User.id).where(User.email == email))
    return None if found is None else int(found)


def get_user_by_email(*, session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def require_user(*, session: Session, email: str) -> User:
    user = get_user_by_email(session=session, email=email)
    if user is None:
        raise NotFound(f"no user with e-mail {email.strip().lower()}; create one with `miles user create`")
    return user


def authenticate_password(*, session: Session, email: str, password: str) -> User | None:
    """The user if the password is right and the account active. The row is read as that user (RLS on
    PostgreSQL); on failure the transaction goes back to acting for nobody."""
    user_id = _user_id_by_email(session, email)
    user = None
    if user_id is not None:
        set_current_user(session=session, user_id=user_id)
        user = session.get(User, user_id)
    if user is None:
        verify_password(_dummy_hash(), password)  # same work as for a known e-mail
    elif verify_password(user.password_hash, password) and user.is_active:
        return user
    set_current_user(session=session, user_id=None)
    return None


def end_sessions(*, session: Session, user_id: int) -> int:
    """Bump the user's session version: every session cookie issued before stops working (API keys do not).

    Returns the new version, which a cookie issued from now on carries."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    user.session_version += 1
    session.flush()
    return user.session_version


def set_password(*, session: Session, user: User, password: str) -> int:
    """Replace the password (policy-checked) and end every session of the user; returns the new session version."""
    if problem := password_problem(password, email=user.email):
        raise InvalidInput(problem)
    user.password_hash = hash_password(password)
    return end_sessions(session=session, user_id=user.id)


def change_password(*, session: Session, user_id: int, current: str, new: str) -> int:
    """The user's own change: the current password must be right; every other session ends."""
    user = session.get(User, user_id)
    if user is None or not verify_password(user.password_hash, current):
        raise InvalidInput("current password: wrong", status=401)
    if verify_password(user.password_hash, new):
        raise InvalidInput("new password: same as the current one; choose a different password")
    return set_password(session=session, user=user, password=new)


def create_api_key(*, session: Session, user_id: int, name: str = "default") -> tuple[ApiKey, str]:
    """A new key for ``user_id``; returns the row and the plaintext key (the only time it exists)."""
    name = name.strip() or "default"
    if len(name) > 100:
        raise InvalidInput("key name too long: at most 100 characters")
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(user_id=user_id, name=name, prefix=plaintext[:12], key_hash=hash_key(plaintext))
    session.add(row)
    session.flush()
    return row, plaintext


def list_users(*, session: Session) -> list[tuple[User, int]]:
    """Every account, oldest first, with how many of its API keys are active."""
    active = (
        select(func.count(ApiKey.id))
        .where(ApiKey.user_id == User.id, ApiKey.revoked_at.is_(None))
        .correlate(User)
        .scalar_subquery()
    )
    return [(user, int(keys)) for user, keys in session.execute(select(User, active).order_by(User.id))]


def list_api_keys(*, session: Session, user_id: int) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id)))


def get_api_key(*, session: Session, user_id: int, key_id: int) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id))
    if row is None:
        # the account's own words, not its internal id ("user 3 has no API key" beside the e-mail a user typed)
        raise NotFound(f"this account has no API key with id {key_id} (its keys: `miles key list` or the Keys page)")
    return row


def revoke_api_key(*, session: Session, user_id: int, key_id: int) -> tuple[ApiKey, datetime | None]:
    """Revoke the key: (the key, when it was revoked before - None when revoked now). One revoked already keeps its
    first revocation time, and its callers say that nothing changed."""
    row = get_api_key(session=session, user_id=user_id, key_id=key_id)
    before = row.revoked_at
    if before is None:
        row.revoked_at = utcnow()
    return row, before


def owner_of_key(*, session: Session, key: str) -> KeyOwner | None:
    """Who owns this (unrevoked) key of an active user; None when the key is unknown or revoked."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    digest = hash_key(key)
    if is_postgres(session):
        row = session.execute(text("SELECT key_id, user_id FROM miles_api_key_owner(:h)"), {"h": digest}).first()
    else:
        row = session.execute(
            select(ApiKey.id, ApiKey.user_id)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None), User.is_active.is_(True))
        ).first()
    return None if row is None else KeyOwner(user_id=int(row[1]), key_id=int(row[0]))


def touch_api_key(*, session: Session, key_id: int) -> None:
    """Record use (at most once a minute, to keep requests read-only); runs after the request's user is set."""
    row = session.get(ApiKey, key_id)
    now = utcnow()
    if row is not None and (row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60):
        row.last_used_at = now


def set_current_user(*, session: Session, user_id: int | None) -> None:
    """Tell PostgreSQL's row-level-security policies whose request this transaction serves (no-op on SQLite).

    ``set_config(..., true)`` is transaction-local, like ``SET LOCAL``: it ends with the request's transaction.
    """
    if is_postgres(session):
        value = "" if user_id is None else str(int(user_id))
        session.execute(text("SELECT set_config('miles.user_id', :v, true)"), {"v": value})
