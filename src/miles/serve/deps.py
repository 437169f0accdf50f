"""FastAPI dependencies: settings, a per-request session with the caller set for RLS, the caller, the model."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from miles.config import Settings
from miles.errors import Unauthorized
from miles.serve.limits import Limiter
from miles.serve.services.model import PredictorHolder, PredictorLike
from miles.serve.web_auth import active_user, cookie_session
from miles.store.db import session_scope
from miles.store.repos import users
from miles.store.repos.jobs import Requester

KEY_HEADERS = "Authorization: Bearer <key> or X-API-Key: <key>"
"""How a request carries its API key, on the REST API and MCP over HTTP alike (:func:`key_from_headers`)."""
UNKNOWN_KEY = "API key is unknown or revoked; create one with `miles key create`"
KEY_REQUIRED = f"an API key is required ({KEY_HEADERS}); anonymous access is off"
OWN_DATA_NEEDS_KEY = f"this route needs an API key ({KEY_HEADERS}): it shows your own data"


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back when it raises."""
    with session_scope(settings) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""The request's transaction, committed *before* the response is sent (``scope="function"``): FastAPI's default
ends a yield dependency after sending, so a client could read 200 before the commit - its next request not seeing
the row it was just told about, or a commit failing after success was reported."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a user (through an API key) or anonymous, and the client address."""

    user_id: int | None
    key_id: int | None
    ip: str

    @property
    def rate_key(self) -> str:
        return f"key:{self.key_id}" if self.key_id is not None else f"ip:{self.ip}"

    @property
    def requester(self) -> Requester:
        """Whose collection requests these are: the user's, or the address's when anonymous."""
        return requester_of(self.user_id, self.ip)


def requester_of(user_id: int | None, ip: str) -> Requester:
    return Requester(user_id, f"user:{user_id}" if user_id is not None else f"ip:{ip}")


def key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The API key from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` (None when neither is sent): the
    REST API and MCP over HTTP read it alike (the API took only the first, so a key that worked for MCP was
    anonymous there). With both, the Authorization header is the one read."""
    lowered = {k.lower(): v for k, v in headers.items()}
    header = lowered.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization header must be 'Bearer <API key>'")
        return token.strip()
    key = lowered.get("x-api-key", "").strip()
    return key or None


def touch_key(settings: Settings, owner: users.KeyOwner) -> None:
    """Record key use in its own short transaction, so the request's session takes no write lock up front."""
    with session_scope(settings) as touch:
        users.set_current_user(session=touch, user_id=owner.user_id)
        users.touch_api_key(session=touch, key_id=owner.key_id)


def client_ip(request: Request) -> str:
    """The client's address: the peer's, or the one a trusted proxy forwarded (``miles serve`` trusts
    X-Forwarded-For only from ``MILES_TRUSTED_PROXIES``; uvicorn rewrites the peer before the app sees it)."""
    return request.client.host if request.client else "unknown"


API_KEY_SCHEME = HTTPBearer(
    auto_error=False,  # only declares the scheme (Swagger's Authorize button): key_from_headers reads the header
    scheme_name="API key",
    description="An API key: create one on the API keys page (/keys) or with `miles key create`.",
)
API_KEY_HEADER_SCHEME = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,  # declared only, as above
    scheme_name="API key header",
    description="The same API key in an X-API-Key header instead (as MCP over HTTP takes it).",
)
DocumentedKey = Annotated[HTTPAuthorizationCredentials | None, Depends(API_KEY_SCHEME)]
DocumentedKeyHeader = Annotated[str | None, Depends(API_KEY_HEADER_SCHEME)]


def get_caller(
    request: Request, session: SessionDep, _key: DocumentedKey = None, _key_header: DocumentedKeyHeader = None
) -> Caller:
    """Authenticate the API key (if any), set the RLS user for this transaction, and apply the rate limit."""
    ip = client_ip(request)
    limiter: Limiter = request.app.state.rate_limiter
    token = key_from_headers(request.headers)
    if token is None:
        limiter.hit(f"ip:{ip}")
        user_id = _cookie_user(request, session)
        return Caller(user_id=user_id, key_id=None, ip=ip)
    owner = users.owner_of_key(session=session, key=token)
    if owner is None:
        limiter.hit(f"ip:{ip}")  # failed attempts count against the address, so guessing keys is throttled
        raise Unauthorized(UNKNOWN_KEY)
    limiter.hit(f"key:{owner.key_id}")
    users.set_current_user(session=session, user_id=owner.user_id)
    touch_key(request.app.state.settings, owner)
    return Caller(user_id=owner.user_id, key_id=owner.key_id, ip=ip)


def _cookie_user(request: Request, session: Session) -> int | None:
    """The web session's user (pages' cookie) when there is no bearer key and the session is still live (not ended
    by logout or a password change); sets the RLS user either way."""
    web = cookie_session(request)
    if web is None:
        users.set_current_user(session=session, user_id=None)
        return None
    users.set_current_user(session=session, user_id=web.user_id)
    if active_user(session, web) is None:
        users.set_current_user(session=session, user_id=None)
        return None
    return web.user_id


CallerDep = Annotated[Caller, Depends(get_caller)]


def anonymous_allowed(caller: CallerDep, settings: SettingsDep) -> Caller:
    if caller.user_id is None and not settings.allow_anonymous:
        raise Unauthorized(KEY_REQUIRED)
    return caller


MaybeUserDep = Annotated[Caller, Depends(anonymous_allowed)]


def require_user(caller: CallerDep) -> int:
    if caller.user_id is None:
        raise Unauthorized(OWN_DATA_NEEDS_KEY)
    return caller.user_id


UserIdDep = Annotated[int, Depends(require_user)]


class PredictorSource:
    """Gives the predictor when called. Routes call it after validating their input, so a bad request
    is a 422 even while no model is available (FastAPI resolves dependencies before validating bodies)."""

    def __init__(self, holder: PredictorHolder, session: Session) -> None:
        self._holder = holder
        self._session = session

    def __call__(self) -> PredictorLike:
        return self._holder.get(self._session)


def get_predictor(request: Request, session: SessionDep) -> PredictorSource:
    return PredictorSource(request.app.state.predictor, session)


PredictorDep = Annotated[Callable[[], PredictorLike], Depends(get_predictor)]
