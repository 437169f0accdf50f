"""Cookie sessions for the web pages: sign up, log in, log out, and CSRF protection for form posts.

The session is one signed cookie (``itsdangerous``, keyed by ``MILES_SECRET_KEY``), HttpOnly and SameSite=Lax,
holding the user id (or none, for an anonymous visitor), the user's session version and a random CSRF token. The
cookie names a live session only while its version equals ``users.session_version``: logging out and changing the
password bump that counter, so every cookie issued before (saved, copied or stolen) stops working at once. Every
form carries the token in a hidden field and every HTMX request sends it in the ``X-CSRF-Token`` header; a post
without the matching token is refused. Passwords are checked by the users repository (argon2).

The cookie also carries the browser's time zone (for showing times on pages; the API stays UTC) and, for one
page view, an encrypted one-time message (a new API key after POST-redirect-GET): it is readable only by
this server and removed when the page that shows it is rendered.

The JSON API accepts the cookie too (``deps.get_caller``), but for a state-changing method only together with
the ``X-CSRF-Token`` header; without it the request counts as anonymous.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from miles.config import Settings
from miles.errors import Forbidden, InvalidInput
from miles.store.repos import users
from miles.store.tables import User

COOKIE = "miles_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
MAX_AGE_S = 14 * 24 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SALT = "miles.web.session.v1"
FLASH_TTL_S = 600  # a one-time message not shown within 10 minutes is dropped


@dataclass(frozen=True, slots=True)
class WebSession:
    """What the cookie says: who is logged in (None: nobody) and the CSRF token of this browser session."""

    user_id: int | None
    csrf: str
    changed: bool = False  # the cookie must be (re)written on the response
    version: int | None = None  # the user's session_version when the cookie was issued
    tz: str | None = None  # the browser's IANA time zone, e.g. "Europe/Berlin"; None: UTC
    flash: str | None = None  # an encrypted one-time message for the next page view


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt=_SALT)


def new_session(user_id: int | None = None, version: int | None = None) -> WebSession:
    return WebSession(user_id=user_id, csrf=secrets.token_urlsafe(24), changed=True, version=version)


def _decode(request: Request, settings: Settings) -> WebSession | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data: Any = _serializer(settings).loads(raw, max_age=MAX_AGE_S)
    except BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
        return None
    uid, version = data.get("uid"), data.get("sv")
    tz, flash = data.get("tz"), data.get("flash")
    tz = tz if isinstance(tz, str) and valid_time_zone(tz) else None
    flash = flash if isinstance(flash, str) else None
    if not isinstance(uid, int) or not isinstance(version, int):  # a cookie without a version names no session
        return WebSession(user_id=None, csrf=data["csrf"], tz=tz, flash=flash)
    return WebSession(user_id=uid, csrf=data["csrf"], version=version, tz=tz, flash=flash)


def valid_time_zone(name: str) -> bool:
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _fernet(settings: Settings) -> Fernet:
    digest = hashlib.sha256(b"miles.web.flash|" + settings.secret_key.get_secret_value().encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def update_session(request: Request, web: WebSession, **changes: Any) -> WebSession:
    """The session with ``changes`` (cached on the request, marked for writing to the cookie)."""
    web = replace(web, changed=True, **changes)
    request.state.web_session = web
    return web


def put_flash(request: Request, web: WebSession, message: dict[str, Any]) -> WebSession:
    """Keep ``message`` for the next page view, encrypted (it may hold a secret, e.g. a new API key)."""
    settings: Settings = request.app.state.settings
    token = _fernet(settings).encrypt(json.dumps(message).encode()).decode()
    return update_session(request, web, flash=token)


def take_flash(request: Request, web: WebSession) -> tuple[dict[str, Any] | None, WebSession]:
    """The one-time message (None if there is none, or it is too old or not ours), removed from the session."""
    if web.flash is None:
        return None, web
    settings: Settings = request.app.state.settings
    cleared = update_session(request, web, flash=None)
    try:
        message = json.loads(_fernet(settings).decrypt(web.flash.encode(), ttl=FLASH_TTL_S))
    except (InvalidToken, ValueError):
        return None, cleared
    return (message if isinstance(message, dict) else None), cleared


def read_session(request: Request) -> WebSession:
    """The browser's session (cached on the request); a new anonymous one when the cookie is missing or bad."""
    cached = getattr(request.state, "web_session", None)
    if isinstance(cached, WebSession):
        return cached
    settings: Settings = request.app.state.settings
    web = _decode(request, settings) or new_session()
    request.state.web_session = web
    return web


def active_user(session: Session, web: WebSession) -> User | None:
    """The logged-in user if the account still exists, is active, and has not ended this session since (logout
    or password change: the cookie's version is older than the user's)."""
    if web.user_id is None:
        return None
    user = session.get(User, web.user_id)
    if user is None or not user.is_active or user.session_version != web.version:
        return None
    return user


def csrf_ok(web: WebSession, token: str | None) -> bool:
    return bool(token) and secrets.compare_digest(web.csrf, str(token))


def check_csrf(request: Request, form_token: str | None) -> WebSession:
    """Refuse a form post whose CSRF token (form field or header) does not match the session's."""
    web = read_session(request)
    token = form_token or request.headers.get(CSRF_HEADER)
    if web.changed or not csrf_ok(web, token):
        raise Forbidden("this form has expired or did not come from Miles (CSRF check failed); reload the page")
    return web


def cookie_session(request: Request) -> WebSession | None:
    """The session cookie naming a user, for the JSON API (``active_user`` then checks it is still live); unsafe
    methods also need the X-CSRF-Token header."""
    web = read_session(request)
    if web.user_id is None or web.changed:
        return None
    if request.method not in SAFE_METHODS and not csrf_ok(web, request.headers.get(CSRF_HEADER)):
        return None
    return web


def write_cookie(response: Response, request: Request, web: WebSession) -> None:
    settings: Settings = request.app.state.settings
    payload: dict[str, Any] = {"uid": web.user_id, "sv": web.version, "csrf": web.csrf}
    if web.tz:
        payload["tz"] = web.tz
    if web.flash:
        payload["flash"] = web.flash
    value = _serializer(settings).dumps(payload)
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=settings.env == "production",
        path="/",
    )


def start_session(request: Request, user: User | None) -> WebSession:
    """Log in as ``user`` (or out, with None): a fresh CSRF token too, so a token seen before login is useless
    after. The cookie carries the user's current session version; the browser's time zone is kept (it belongs to
    the browser, not the account)."""
    web = new_session(None) if user is None else new_session(user.id, user.session_version)
    web = replace(web, tz=read_session(request).tz)
    request.state.web_session = web
    return web


def sign_up(*, session: Session, email: str, password: str, confirm: str) -> User:
    if password != confirm:
        raise InvalidInput("the two passwords differ; type the same password twice")
    return users.create_user(session=session, email=email, password=password)


def log_in(*, session: Session, email: str, password: str) -> User:
    user = users.authenticate_password(session=session, email=email, password=password)
    if user is None:
        raise InvalidInput("e-mail or password is wrong (or the account is disabled)", status=401)
    return user
