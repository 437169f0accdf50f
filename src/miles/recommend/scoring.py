"""Wire the real predictor and text encoder into the ideas service (``IdeasDeps``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from miles.config import Settings
from miles.domain import CHANCE_DECIMALS, VIEW_DECIMALS, utcnow
from miles.errors import InvalidInput
from miles.features.draft import Draft, DraftInput
from miles.features.labels import VIRAL_DEFINITION
from miles.inputs import round_half_up
from miles.recommend.ideas import Embedder, Scorer

log = logging.getLogger(__name__)


def served_model_dir(settings: Settings, session: Session | None) -> Path:
    """The model Miles serves, the one place serve, the CLI and the worker ask: ``MILES_MODEL_DIR``, else the model
    promoted with ``miles model promote`` (when its directory still exists), else the packaged default."""
    from miles.model.predict import default_model_dir
    from miles.store.repos.models import promoted_model

    promoted = None
    if session is not None:
        try:
            row = promoted_model(session=session)
        except SQLAlchemyError:  # an unmigrated database has no model_versions table: nothing was promoted
            row = None
        promoted = Path(row.path) if row is not None and Path(row.path).is_dir() else None
    return default_model_dir(settings, promoted)


NAMED_MODELS = ("served", "default")  # the words every `miles` command takes: what is served, the packaged default


def resolve_model(reference: str, *, settings: Settings) -> Path:
    """A model directory, a version from ``miles model list``, ``served`` or ``default`` -> its directory."""
    from miles.model.predict import packaged_default_dir
    from miles.store.db import session_scope
    from miles.store.repos import models as model_repo

    if reference == "default":
        return packaged_default_dir()
    if reference == "served":
        with session_scope(settings) as session:
            return served_model_dir(settings, session)
    path = Path(reference)
    if path.is_dir():
        return path
    with session_scope(settings) as session:
        if model_repo.find_model(session=session, version=reference) is None:
            raise InvalidInput(f"{reference!r} is neither a model directory nor a version from `miles model list`")
        return Path(model_repo.get_model(session=session, version=reference).path)


class PredictorLike(Protocol):
    """What the API, the pages, the worker and ideas need from a predictor: a version and batch prediction.

    ``predict(drafts)`` takes one :class:`~miles.features.draft.DraftInput` per draft and returns one result per
    draft, as an object or a mapping with ``horizons`` (each with ``horizon_h``, ``p10``, ``p50``,
    ``p90`` in views), ``viral_probability``, ``inputs_used``, ``contributions`` and optionally ``mode``;
    ``channel_history`` holds the stored snapshots of the drafts' channels (``miles.model.predict.Predictor``).
    """

    version: str

    def predict(self, rows: Sequence[DraftInput], *, channel_history: Any = None) -> Sequence[Any]: ...


def field_of(obj: Any, name: str, default: Any = None) -> Any:
    """A predictor result's field, whether the result is a mapping or an object (the API uses this too)."""
    return obj.get(name, default) if isinstance(obj, Mapping) else getattr(obj, name, default)


def horizon_label(hours: float) -> str:
    """'6h', '1d', '7d': how Miles names a horizon everywhere (CLI, API, pages)."""
    return f"{int(hours // 24)}d" if hours >= 24 and hours % 24 == 0 else f"{hours:g}h"


def _views(raw: Any) -> dict[str, dict[str, float]]:
    horizons = field_of(raw, "horizons") or []
    items = horizons.items() if isinstance(horizons, Mapping) else ((field_of(h, "horizon_h"), h) for h in horizons)
    return {
        horizon_label(float(h)): {
            "age_h": float(h),
            "p10": round_half_up(float(field_of(q, "p10")), VIEW_DECIMALS),  # as the API and CLI show a forecast
            "p50": round_half_up(float(field_of(q, "p50")), VIEW_DECIMALS),
            "p90": round_half_up(float(field_of(q, "p90")), VIEW_DECIMALS),
        }
        for h, q in items
    }


def idea_input(idea: Mapping[str, Any], publish_at: datetime, subscribers: float | None = None) -> DraftInput:
    """An idea as the predictor reads it: a draft of its title (and description, duration) published now on a
    channel of ``subscribers`` (None: not given, the model's typical channel); the publish time is Miles' choice,
    not the creator's."""
    draft = Draft(title=idea["title"], publish_at=publish_at, description=idea.get("description") or None,
                  duration_s=idea.get("duration_s"), channel_subscribers=subscribers)  # fmt: skip
    return DraftInput(draft, publish_given=False)


def predictor_scorer(
    predictor: PredictorLike, *, now: datetime | None = None, subscribers: float | None = None
) -> Scorer:
    """Ideas are scored as drafts published now on a channel of ``subscribers`` (the creator's, when given)."""

    def score(drafts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        when = now or utcnow()
        rows = [idea_input(d, when, subscribers) for d in drafts]
        out = []
        for raw in predictor.predict(rows):
            out.append(
                {
                    "views": _views(raw),
                    "viral_probability": round_half_up(
                        float(field_of(raw, "viral_probability") or 0.0), CHANCE_DECIMALS
                    ),
                    "model_version": str(field_of(raw, "model_version") or predictor.version),
                    "accuracy": field_of(raw, "accuracy"),  # the sentence the Score page shows beside a forecast
                    "viral_definition": VIRAL_DEFINITION,
                }
            )
        return out

    return score


def default_embedder(settings: Settings) -> Embedder | None:
    """The MiniLM text encoder with the database embedding cache, or None when it cannot load here."""
    try:
        from miles.model.encoders import TextEncoder
        from miles.store.db import session_scope
        from miles.store.repos.embeddings import DbEmbeddingCache

        cache = DbEmbeddingCache(lambda: session_scope(settings))
        encoder = TextEncoder.load(settings.cache_dir / "encoders", cache=cache)
    except Exception as exc:  # an encoder that cannot be built must not take ideas down
        log.warning("text encoder unavailable, ranking by text match only: %s", exc)
        return None

    def embed(texts: list[str]) -> np.ndarray:
        vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, 1e-9))

    return embed
