"""create_app(settings) -> FastAPI: /api/v1 JSON routes, one error envelope, body and rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI

from miles import __version__
from miles.config import Settings, get_settings
from miles.serve.api import health, history, ideas, model, predict, quality, tracked, videos
from miles.serve.api.common import known_query
from miles.serve.errors import install_error_handlers
from miles.serve.limits import BodySizeLimit
from miles.serve.pages import install_pages
from miles.serve.security import SecurityHeaders
from miles.serve.services.model import PredictorHolder
from miles.serve.shared_limits import limits_for

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or get_settings()).for_app()  # PostgreSQL: act as the application role, under RLS
    app = FastAPI(
        title="Miles",
        version=__version__,
        description="How a short will perform, why, and what to make next. "
        "Authenticate with `Authorization: Bearer <API key>` or `X-API-Key: <API key>` (Authorize, below; create a key "
        "on the API keys page, /keys, or with `miles key create`).",
        docs_url=None,  # served by miles.serve.pages from /static (FastAPI's loads Swagger UI from a CDN)
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.rate_limiter, app.state.login_guard = limits_for(settings)  # Redis-shared when configured
    app.state.predictor = PredictorHolder(settings)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    for module in (health, model, predict, ideas, videos, tracked, history, quality):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=[Depends(known_query)])
    install_pages(app)  # HTML pages, their .json twins, /static and /assets/plotly.min.js
    build = app.openapi
    app.openapi = lambda: _key_optional(app, build)  # type: ignore[method-assign]
    return app


def _key_optional(app: FastAPI, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """FastAPI's schema with the API key declared (/docs' Authorize button) but optional, as it is: a route answers
    anonymously when MILES_ALLOW_ANONYMOUS is on, and a browser's login cookie stands in for it."""
    if app.openapi_schema is None:
        schema = build()  # FastAPI.openapi: builds and keeps app.openapi_schema
        for operation in (op for path in schema["paths"].values() for op in path.values()):
            if operation.get("security"):
                operation["security"] = [{}, *operation["security"]]
    return app.openapi_schema or build()
