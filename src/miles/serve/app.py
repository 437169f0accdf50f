"""create_app(settings) -> FastAPI."""

from __future__ import annotations

from fastapi import FastAPI

from miles import __version__
from miles.config import Settings, get_settings
from miles.serve.api import health


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Miles", version=__version__, docs_url="/docs", openapi_url="/openapi.json")
    app.state.settings = settings
    app.include_router(health.router, prefix="/api/v1")
    return app
