"""GET /api/v1/health: database and model status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from miles import __version__
from miles.serve.services.model import PredictorHolder
from miles.store import migrate
from miles.store.db import session_scope
from miles.store.repos.stats import ping

router = APIRouter(tags=["health"])


@router.get("/health", responses={503: {"description": "The database is unreachable or not migrated (`ok` false)."}})
def health(request: Request, response: Response) -> dict[str, Any]:
    """`ok` is true when the database is reachable and migrated (HTTP 200), else HTTP 503 with the same body, so a
    health check that reads the status alone sees an unmigrated store as down; the model loads on the first
    prediction."""
    settings = request.app.state.settings
    with session_scope(settings) as session:
        db_ok = ping(session=session)
    revision = migrate.current_revision(settings) if db_ok else None
    migrated = revision is not None and revision == migrate.head_revision(settings)
    holder: PredictorHolder = request.app.state.predictor
    model = holder.status()
    if not (db_ok and migrated):
        response.status_code = 503
    return {
        "ok": db_ok and migrated,
        "version": __version__,
        "database": {"ok": db_ok, "revision": revision, "migrated": migrated},
        "model": {"state": model.state, "version": model.version, "origin": model.origin, "message": model.message},
    }
