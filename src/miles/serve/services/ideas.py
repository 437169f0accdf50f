"""The ideas service as the API and pages use it: the served predictor scores, MiniLM ranks and diversifies."""

from __future__ import annotations

import threading
from typing import Any

from miles.config import Settings
from miles.recommend.ideas import Embedder, IdeasDeps, past_queries, run_ideas
from miles.recommend.scoring import default_embedder, predictor_scorer
from miles.serve.services.model import PredictorLike

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
    *, settings: Settings, predictor: PredictorLike, topic: str, vibe: str, n: int, seed: int, user_id: int | None
) -> dict[str, Any]:
    deps = IdeasDeps(score=predictor_scorer(predictor), model_version=predictor.version, embed=embedder_for(settings))
    return run_ideas(settings=settings, deps=deps, topic=topic, vibe=vibe, n=n, seed=seed, user_id=user_id)


def queries_for(*, settings: Settings, user_id: int | None, limit: int, offset: int) -> dict[str, Any]:
    return past_queries(settings=settings, user_id=user_id, limit=limit, offset=offset)
