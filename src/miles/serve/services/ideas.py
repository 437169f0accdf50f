"""The ideas service as the API and pages use it: the served predictor scores, MiniLM ranks and diversifies."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from miles.config import Settings
from miles.domain import utcnow
from miles.recommend.ideas import Collector, Embedder, IdeasDeps, past_queries, run_ideas
from miles.recommend.scoring import default_embedder, predictor_scorer
from miles.serve.services.model import PredictorLike
from miles.store.db import session_scope
from miles.store.repos import jobs

_EMBEDDER: dict[str, Embedder | None] = {}
_LOCK = threading.Lock()


def embedder_for(settings: Settings) -> Embedder | None:
    """One text encoder per process (building its ONNX file the first time takes a while)."""
    key = str(settings.cache_dir)
    with _LOCK:
        if key not in _EMBEDDER:
            _EMBEDDER[key] = default_embedder(settings)
        return _EMBEDDER[key]


def ideas_for(
    *,
    settings: Settings,
    predictor: PredictorLike,
    topic: str,
    vibe: str,
    n: int,
    seed: int,
    user_id: int | None,
    collect: Collector | None = None,
) -> dict[str, Any]:
    """``collect`` (the CLI passes one) refreshes a stale niche; the web app never collects inside a request."""
    deps = IdeasDeps(
        score=predictor_scorer(predictor),
        model_version=predictor.version,
        embed=embedder_for(settings),
        collect=collect,
        request_refresh=None if collect is not None else _queue_collection(settings),
    )
    return run_ideas(settings=settings, deps=deps, topic=topic, vibe=vibe, n=n, seed=seed, user_id=user_id)


def _queue_collection(settings: Settings) -> Callable[[str], int]:
    """The web app never collects inside a request: it queues the niche for the worker's `collect_requested`."""

    def request(topic: str) -> int:
        with session_scope(settings) as session:
            return jobs.request_collection(session=session, query=topic, now=utcnow()).id

    return request


def collection_status(*, settings: Settings, run_id: int) -> dict[str, Any]:
    with session_scope(settings) as session:
        run = jobs.get_run(session=session, run_id=run_id)
        return {
            "id": run.id,
            "job": run.job,
            "status": run.status,
            "counts": run.counts,
            "error": run.error,
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        }


def queries_for(*, settings: Settings, user_id: int | None, limit: int, offset: int) -> dict[str, Any]:
    return past_queries(settings=settings, user_id=user_id, limit=limit, offset=offset)
