"""Topic + vibe -> niche candidates -> outliers -> patterns -> generated ideas, scored, ranked and diversified.

The service is one function over injected parts (``IdeasDeps``) so the CLI, the API and the tests run
the same code: the predictor that scores, the text encoder that ranks candidates and diversifies ideas,
an optional collector for stale niches, and the idea generator.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from miles.config import Settings
from miles.domain import utcnow
from miles.errors import InvalidInput, SourceUnavailable
from miles.features.labels import ViralLabeler
from miles.recommend.generate import IdeaDraft, IdeaGenerator, NicheContext, OfflineGenerator, generator_for
from miles.recommend.outliers import fit_reference_labeler, niche_outliers
from miles.recommend.patterns import find_patterns
from miles.store.db import session_scope
from miles.store.repos import ideas as ideas_repo
from miles.store.repos import niche as niche_repo
from miles.store.repos import users
from miles.store.repos.snapshots import count_snapshots, load_snapshot_frame

log = logging.getLogger(__name__)
MAX_CANDIDATES = 150
MIN_SIMILARITY = 0.25
OUTLIERS_SHOWN = 12
MMR_LAMBDA = 0.7
REFERENCE_TTL_S = 24 * 3600

Scorer = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
Embedder = Callable[[list[str]], np.ndarray]
Collector = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class Refresh:
    """What asking the worker to collect a stale niche gave this caller: the run and (anonymous callers) its
    owner token, or why nothing was queued (the caller's cap of waiting collections)."""

    run_id: int | None
    token: str | None = None
    refused: str | None = None


@dataclass
class IdeasDeps:
    score: Scorer  # drafts -> predictions (views at horizons, viral probability)
    model_version: str
    embed: Embedder | None = None
    collect: Collector | None = None  # topic -> number of videos collected (blocking: the CLI)
    request_refresh: Callable[[str], Refresh] | None = None  # topic -> this caller's queued collection (API, web)
    generator: IdeaGenerator | None = None


def cache_key(topic: str, vibe: str, n: int, seed: int, model_version: str, generator: str) -> str:
    parts = [topic.strip().lower(), vibe.strip().lower(), n, seed, model_version, generator]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def run_ideas(
    *,
    settings: Settings,
    deps: IdeasDeps,
    topic: str,
    vibe: str = "",
    n: int = 5,
    seed: int = 0,
    user_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Ideas for (topic, vibe), from the cache when fresh; every call is stored as the user's query."""
    topic, vibe = topic.strip(), vibe.strip()
    if not topic:
        raise InvalidInput("topic: must not be empty")
    if len(topic) > 200 or len(vibe) > 200:
        raise InvalidInput("topic and vibe: at most 200 characters each")
    if not 1 <= n <= 20:
        raise InvalidInput("n: must be between 1 and 20")
    now = now or utcnow()
    generator = deps.generator or generator_for(settings)
    key = cache_key(topic, vibe, n, seed, deps.model_version, f"{generator.name}/{generator.version}")
    with session_scope(settings) as session:
        cached = ideas_repo.cache_get(session=session, key=key, now=now)
    result = cached or _jsonable(_compute(settings, deps, generator, topic, vibe, n, seed, now))
    with session_scope(settings) as session:
        users.set_current_user(session=session, user_id=user_id)  # PostgreSQL RLS: the query row is the user's
        if not cached:
            ideas_repo.cache_put(session=session, key=key, payload=result, now=now, ttl_s=settings.ideas_cache_ttl_s)
        query = ideas_repo.save_query(
            session=session,
            user_id=user_id,
            topic=topic,
            vibe=vibe,
            model_version=deps.model_version,
            result=result,
            ideas=result["ideas"],
            now=now,
        )
        query_id = query.id
    return {**result, **_refreshed(deps, topic, result), "query_id": query_id, "cached": bool(cached)}


def _refreshed(deps: IdeasDeps, topic: str, result: dict[str, Any]) -> dict[str, Any]:
    """A stale niche is queued for the worker per caller (never cached: the run and its token are the caller's)."""
    freshness = dict(result.get("freshness") or {})
    if not freshness.get("stale"):
        return {}
    notes = list(result.get("notes") or [])
    if deps.request_refresh is None:
        notes.append("`miles collect search` or the worker fetch fresh ones")
        return {"freshness": freshness, "notes": notes}
    refresh = deps.request_refresh(topic)
    freshness.update(refresh_run_id=refresh.run_id, refresh_token=refresh.token)
    if refresh.run_id is None:
        notes.append(f"fresh videos were {refresh.refused}")
    else:
        token = f"?token={refresh.token}" if refresh.token else ""
        notes.append(
            f"fresh ones are being collected in the background (run {refresh.run_id}, by `miles worker`; "
            f"status at /api/v1/collections/{refresh.run_id}{token})"
        )
    return {"freshness": freshness, "notes": notes}


def _jsonable(value: Any) -> Any:
    """What is cached and stored must be plain JSON: numpy scalars become Python, NaN becomes null."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _compute(
    settings: Settings,
    deps: IdeasDeps,
    generator: IdeaGenerator,
    topic: str,
    vibe: str,
    n: int,
    seed: int,
    now: datetime,
) -> dict[str, Any]:
    notes: list[str] = []
    candidates, freshness = _candidates(settings, deps, topic, vibe, now, notes)
    with session_scope(settings) as session:
        snaps = niche_repo.snapshots_for(session=session, video_ids=candidates)
        channels = snaps["channel_id"].dropna().unique().tolist()
        history = niche_repo.channel_history(session=session, channel_ids=channels)
    outliers = niche_outliers(snaps, history, reference_labeler(settings, now))
    patterns = find_patterns(outliers, seed=seed)
    top = [_outlier_out(row) for row in outliers.head(OUTLIERS_SHOWN).to_dict("records")]
    context = NicheContext(topic=topic, vibe=vibe, outliers=top, patterns=patterns)
    drafts, used = _generate(generator, context, n, seed, notes)
    ideas = _score_and_rank(deps, drafts, n, top)
    if not candidates:
        notes.append("no stored videos match this topic yet; ideas rest on the topic words alone")
    return {
        "topic": topic,
        "vibe": vibe,
        "model_version": deps.model_version,
        "generator": used,
        "generated_at": now.isoformat(),
        "candidates": len(candidates),
        "freshness": freshness,
        "outliers": top,
        "patterns": [p.as_dict() for p in patterns],
        "ideas": ideas,
        "notes": notes,
    }


def _candidates(
    settings: Settings, deps: IdeasDeps, topic: str, vibe: str, now: datetime, notes: list[str]
) -> tuple[list[str], dict[str, Any]]:
    with session_scope(settings) as session:
        ids = niche_repo.search_video_ids(session=session, topic=topic)
        since = now - timedelta(hours=settings.fresh_window_h)
        fresh = niche_repo.fresh_count(session=session, video_ids=ids, since=since)
    collected = 0
    if fresh < settings.min_fresh_candidates and deps.collect is not None:
        try:
            collected = deps.collect(topic)
        except SourceUnavailable as exc:
            notes.append(f"could not collect fresh videos: {exc.message}")
        if collected:
            with session_scope(settings) as session:
                ids = niche_repo.search_video_ids(session=session, topic=topic)
                fresh = niche_repo.fresh_count(session=session, video_ids=ids, since=since)
    stale = fresh < settings.min_fresh_candidates and deps.collect is None
    if stale:
        notes.append(
            f"{fresh} of the {len(ids)} niche videos have a snapshot from the last {settings.fresh_window_h:g} h; "
            "these results use the stored snapshots"
        )
    ids = _rank_by_similarity(deps, ids, topic, vibe, settings)
    freshness = {
        "fresh": fresh,
        "collected": collected,
        "window_h": settings.fresh_window_h,
        "stale": stale,
        "refresh_run_id": None,
        "refresh_token": None,
    }
    return ids, freshness


def _rank_by_similarity(deps: IdeasDeps, ids: list[str], topic: str, vibe: str, settings: Settings) -> list[str]:
    if deps.embed is None or len(ids) <= MAX_CANDIDATES // 3:
        return ids[:MAX_CANDIDATES]
    with session_scope(settings) as session:
        titles = niche_repo.titles_of(session=session, video_ids=ids)
    vectors = deps.embed([f"{topic} {vibe}".strip(), *[titles[i] for i in ids]])
    sims = vectors[1:] @ vectors[0]
    order = np.argsort(-sims)
    kept = [ids[i] for i in order if sims[i] >= MIN_SIMILARITY][:MAX_CANDIDATES]
    return kept if len(kept) >= MAX_CANDIDATES // 3 else [ids[i] for i in order[:MAX_CANDIDATES]]


def reference_labeler(settings: Settings, now: datetime, platform: str = "youtube") -> ViralLabeler | None:
    """The niche expectation model of one platform (a typical TikTok is not a typical Short), refitted when the
    store grows and cached in the database for a day."""
    with session_scope(settings) as session:
        key = f"reference-labeler:{platform}:{count_snapshots(session=session)}"
        cached = ideas_repo.cache_get(session=session, key=key[:64], now=now)
        if cached is not None:
            return ViralLabeler.from_json(cached) if cached else None
        labeler = fit_reference_labeler(load_snapshot_frame(session=session, platform=platform))
        payload = labeler.to_json() if labeler else {}
        ideas_repo.cache_put(session=session, key=key[:64], payload=payload, now=now, ttl_s=REFERENCE_TTL_S)
        return labeler


def _outlier_out(row: dict[str, Any]) -> dict[str, Any]:
    def num(v: Any) -> float | None:
        return None if v is None or pd.isna(v) else float(v)

    return {
        "video_id": str(row["video_id"]),
        "title": str(row["title"]),
        "views": int(row["views"]),
        "age_h": round(float(row["age_h"]), 1),
        "multiple": num(row["multiple"]),
        "basis": row["basis"],
        "channel_multiple": num(row["channel_multiple"]),
        "niche_multiple": num(row["niche_multiple"]),
        "duration_s": num(row.get("duration_s")),
        "thumbnail_url": row.get("thumbnail_url"),
        "published_at": pd.Timestamp(row["published_at"]).isoformat(),
    }


def _generate(
    generator: IdeaGenerator, context: NicheContext, n: int, seed: int, notes: list[str]
) -> tuple[list[IdeaDraft], str]:
    try:
        return generator.generate(context, n=n, seed=seed), generator.name
    except SourceUnavailable as exc:
        notes.append(f"LLM ideas unavailable ({exc.message}); showing the offline generator's ideas instead")
        return OfflineGenerator().generate(context, n=n, seed=seed), "offline (fallback)"


def _score_and_rank(
    deps: IdeasDeps, drafts: list[IdeaDraft], n: int, outliers: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    unique = list({d.title.lower(): d for d in drafts}.values())
    if not unique:
        return []
    predictions = deps.score([{"title": d.title, "description": d.hook, "duration_s": d.duration_s} for d in unique])
    values = np.array([rank_value(p) for p in predictions])
    chosen = _mmr(deps, [d.title for d in unique], values, n)
    titles = {o["video_id"]: o["title"] for o in outliers}
    return [
        {
            **unique[i].model_dump(),
            "prediction": predictions[i],
            "score": float(values[i]),
            "inspired_by_titles": list(dict.fromkeys(titles.get(v, v) for v in unique[i].inspired_by)),
        }
        for i in chosen
    ]


def rank_value(prediction: dict[str, Any]) -> float:
    """log10 of the median predicted views at the longest horizon, nudged by the viral probability."""
    views = prediction.get("views") or {}
    horizon = max(views, key=lambda h: float(views[h].get("age_h", 0)), default=None)
    p50 = float(views[horizon]["p50"]) if horizon else 0.0
    return float(np.log10(1.0 + p50) + float(prediction.get("viral_probability") or 0.0))


def _mmr(deps: IdeasDeps, titles: list[str], values: np.ndarray, n: int) -> list[int]:
    """Maximal marginal relevance: trade predicted performance against similarity to ideas already picked."""
    if deps.embed is not None:
        vectors = deps.embed(titles)
        similarity = vectors @ vectors.T
    else:
        words = [set(t.lower().split()) for t in titles]
        similarity = np.array([[len(a & b) / max(len(a | b), 1) for b in words] for a in words])
    spread = float(values.max() - values.min()) or 1.0
    relevance = (values - values.min()) / spread
    chosen: list[int] = []
    while len(chosen) < min(n, len(titles)):
        rest = [i for i in range(len(titles)) if i not in chosen]
        penalty = [max((similarity[i, j] for j in chosen), default=0.0) for i in rest]
        scores = [MMR_LAMBDA * relevance[i] - (1 - MMR_LAMBDA) * p for i, p in zip(rest, penalty, strict=True)]
        chosen.append(rest[int(np.argmax(scores))])
    return chosen


def past_queries(*, settings: Settings, user_id: int | None, limit: int = 20, offset: int = 0) -> dict[str, Any]:
    with session_scope(settings) as session:
        users.set_current_user(session=session, user_id=user_id)
        rows, total = ideas_repo.list_queries(session=session, user_id=user_id, limit=limit, offset=offset)
        items = [
            {
                "id": q.id,
                "topic": q.topic,
                "vibe": q.vibe,
                "model_version": q.model_version,
                "created_at": q.created_at.isoformat(),
                "ideas": q.result.get("ideas", []),
            }
            for q in rows
        ]
    return {"items": items, "total": total, "limit": limit, "offset": offset}
