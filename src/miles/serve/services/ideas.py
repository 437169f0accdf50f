"""The ideas service as the API and pages use it: the served predictor scores, MiniLM ranks and diversifies."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from miles.config import Settings
from miles.recommend.candidates import Filters
from miles.recommend.ideas import Collector, Embedder, IdeasDeps, Refresh, past_queries, run_ideas
from miles.recommend.platforms import model_platform, no_model_message
from miles.recommend.scoring import default_embedder, predictor_scorer
from miles.serve.services import collections
from miles.serve.services.model import PredictorLike
from miles.store.db import session_scope
from miles.store.repos.jobs import Requester

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
    requester: Requester,
    collect: Collector | None = None,
    filters: Filters | None = None,
    platform: str = "youtube",
    subscribers: float | None = None,
) -> dict[str, Any]:
    """Ideas scored for a channel of ``subscribers`` (the creator's; None: the model's typical channel, and a note
    says so). ``collect`` (the CLI passes one) refreshes a stale niche; the web app never collects inside a request: it
    queues the niche for the worker and says when no worker is running.

    A niche of another platform than the model's (TikTok) gets its outliers and patterns from its stored videos and
    unscored ideas: collection by topic is YouTube search, and a YouTube model does not forecast TikTok videos.
    """
    if platform != model_platform(predictor):
        with session_scope(settings) as session:
            note = no_model_message(platform, session=session)
        other = IdeasDeps(score=None, model_version=predictor.version, embed=embedder_for(settings),
                          platform=platform, unscored_note=note)  # fmt: skip
        return run_ideas(settings=settings, deps=other, topic=topic, vibe=vibe, n=n, seed=seed,
                         user_id=requester.user_id, filters=filters)  # fmt: skip
    deps = IdeasDeps(
        score=predictor_scorer(predictor, subscribers=subscribers),
        model_version=predictor.version,
        embed=embedder_for(settings),
        collect=collect,
        request_refresh=None if collect is not None else queue_collection(settings, requester),
        worker_seen=lambda: collections.worker_running(settings),
        subscribers=subscribers,
    )
    return run_ideas(
        settings=settings,
        deps=deps,
        topic=topic,
        vibe=vibe,
        n=n,
        seed=seed,
        user_id=requester.user_id,
        filters=filters,
    )


def queue_collection(settings: Settings, requester: Requester) -> Callable[[str], Refresh]:
    """The web app never collects inside a request: it queues the niche for the worker's `collect_requested`,
    as the caller's request (capped per caller, status shown to the caller only)."""

    def request(topic: str) -> Refresh:
        queued = collections.queue_in_own_transaction(settings, topic, requester)
        return Refresh(queued.run_id, queued.token, queued.refused)

    return request


def queries_for(*, settings: Settings, user_id: int | None, limit: int, offset: int) -> dict[str, Any]:
    return past_queries(settings=settings, user_id=user_id, limit=limit, offset=offset)
