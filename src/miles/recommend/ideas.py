"""Topic + vibe -> niche candidates -> outliers -> patterns -> generated ideas, scored, ranked and diversified.

The service is one function over injected parts (``IdeasDeps``) so the CLI, the API and the tests run
the same code: the predictor that scores, the text encoder that ranks candidates and diversifies ideas,
an optional collector for stale niches, and the idea generator.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from miles.config import Settings
from miles.domain import utcnow, words
from miles.errors import InvalidInput, SourceUnavailable
from miles.features.labels import ViralLabeler
from miles.inputs import format_count
from miles.recommend.candidates import (
    LANGUAGES,
    MIN_IN_LANGUAGE,
    MIN_RELEVANCE,
    MIN_RELEVANCE_ALL_TERMS,
    MIN_RELEVANCE_UNNAMED,
    SHORTS_CHOICES,
    Candidates,
    Filters,
    filler_words,
    has_cjk,
)
from miles.recommend.candidates import select as select_candidates
from miles.recommend.generate import IdeaDraft, IdeaGenerator, NicheContext, OfflineGenerator, generator_for
from miles.recommend.outliers import MIN_BASELINE, MIN_BASIS_VIEWS, fit_reference_labeler, niche_outliers
from miles.recommend.patterns import Pattern, find_patterns
from miles.recommend.templates import BY_LANGUAGE, templates_for
from miles.store.db import session_scope
from miles.store.repos import ideas as ideas_repo
from miles.store.repos import niche as niche_repo
from miles.store.repos import users
from miles.store.repos.snapshots import count_snapshots, load_snapshot_frame

log = logging.getLogger(__name__)
MAX_CANDIDATES = 150
MIN_TRUSTED_OUTLIERS = 3  # fewer trusted outliers than this: the page says the niche has too little evidence
OUTLIERS_SHOWN = 12
MMR_LAMBDA = 0.7
MAX_IDEA_SIMILARITY = 0.85  # two ideas closer than this (MiniLM cosine, or word overlap) are one idea
REFERENCE_TTL_S = 24 * 3600
# The rules a result was made by (niche, outliers): part of the cache key, so a result cached under older rules is
# recomputed rather than served for another ideas_cache_ttl_s. 2: the subject-word relevance rule; 3: no multiple
# without the channel's own uploads; 4: the ideas' language read from whole words of titles, not hashtags; 5: no
# "no stored niche video is recent" when there is none; 6: the rating template reads "I rated 5 viral hacks", and a
# subject the long English stop list carries ("home workouts") is searched for, and a guessed topic language that
# keeps fewer videos than it drops gives way to every language; 7: one outlier per title (re-uploads of one ad);
# 8: hashtags cast no vote on a topic word's spelling; 9: the outlier note counts titles as shown, and each scored
# idea carries its accuracy sentence.
RULES_VERSION = 9

Scorer = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
Embedder = Callable[[list[str]], np.ndarray]
Collector = Callable[[str], int]


SAME_FORECAST = 0.005  # rank values (log10 views + viral chance) this close: the model does not tell the ideas apart
SAME_FORECAST_NOTE = (
    "the model forecasts the same views for every idea here (its forecast rests on channel size and age, not on a "
    "title's words), so the ideas are ordered for variety and the niche's evidence, not by the forecast"
)
NO_SUBSCRIBERS_NOTE = (
    "no subscriber count given: the forecasts are for a typical channel of the model's training data, not yours; "
    "give your subscriber count for your channel's numbers (a small channel's are far lower)"
)


@dataclass(frozen=True, slots=True)
class Refresh:
    """What asking the worker to collect a stale niche gave this caller: the run and (anonymous callers) its
    owner token, or why nothing was queued (the caller's cap of waiting collections)."""

    run_id: int | None
    token: str | None = None
    refused: str | None = None


@dataclass
class IdeasDeps:
    score: Scorer | None  # drafts -> predictions; None when no model speaks for ``platform`` (ideas left unscored)
    model_version: str
    embed: Embedder | None = None
    collect: Collector | None = None  # topic -> number of videos collected (blocking: the CLI)
    request_refresh: Callable[[str], Refresh] | None = None  # topic -> this caller's queued collection (API, web)
    generator: IdeaGenerator | None = None
    worker_seen: Callable[[], bool] | None = None  # whether a worker ran lately (None: unknown, assume it did)
    platform: str = "youtube"  # the niche's platform: candidates, reference model and collection follow it
    unscored_note: str | None = None  # why ideas carry no prediction (no model for the platform)
    subscribers: float | None = None  # the creator's channel size ``score`` forecasts for (None: not given)


def cache_key(
    topic: str,
    vibe: str,
    n: int,
    seed: int,
    model_version: str,
    generator: str,
    filters: Filters | None = None,
    subscribers: float | None = None,
    store_mark: str | None = None,
) -> str:
    """``store_mark``: when the newest niche-eligible video was stored; new videos are a new answer (an import after
    "no video of this niche yet" was still answered from the cache for hours)."""
    chosen = (filters or Filters()).key()
    parts = [topic.strip().lower(), vibe.strip().lower(), n, seed, model_version, generator, chosen, subscribers]
    parts += [RULES_VERSION, store_mark]
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
    filters: Filters | None = None,
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
    filters = _checked(filters or Filters())
    generator = deps.generator or generator_for(settings)
    generator_id = f"{generator.name}/{generator.version}/{deps.platform}"
    with session_scope(settings) as session:
        newest = niche_repo.newest_video_at(session=session, platform=deps.platform)
        key = cache_key(topic, vibe, n, seed, deps.model_version, generator_id, filters, deps.subscribers,
                        newest.isoformat() if newest else None)  # fmt: skip
        cached = ideas_repo.cache_get(session=session, key=key, now=now)
    result = cached or _jsonable(_compute(settings, deps, generator, Request(topic, vibe, n, seed, filters), now))
    with session_scope(settings) as session:
        users.set_current_user(session=session, user_id=user_id)  # PostgreSQL RLS: the query row is the user's
        if not cached:
            ideas_repo.cache_put(session=session, key=key, payload=result, now=now, ttl_s=settings.ideas_cache_ttl_s)
        query = ideas_repo.save_query(
            session=session,
            user_id=user_id,
            topic=topic,
            vibe=vibe,
            model_version=deps.model_version if deps.score is not None else None,
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
        how = "run `miles collect tiktok user|tag`" if deps.platform == "tiktok" else "run `miles collect search`"
        notes.append(f"to fetch fresh ones, {how}")
        return {"freshness": freshness, "notes": notes}
    refresh = deps.request_refresh(topic)
    worker = deps.worker_seen() if deps.worker_seen is not None else True
    freshness.update(refresh_run_id=refresh.run_id, refresh_token=refresh.token, worker_running=worker)
    if refresh.run_id is None:
        notes.append(f"fresh videos were {refresh.refused}")
    elif worker:
        token = f"?token={refresh.token}" if refresh.token else ""
        notes.append(
            f"fresh ones are being collected in the background (run {refresh.run_id}, by the running worker; "
            f"status at /api/v1/collections/{refresh.run_id}{token})"
        )
    else:
        what = "these videos are not being refreshed" if result.get("candidates") else "no video of it will arrive"
        notes.append(
            f"{what}: nothing is collecting now, so the request waits (run "
            f"{refresh.run_id}); whoever runs Miles starts the collector with `miles worker`, or runs `miles ideas "
            "--collect`"
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


@dataclass(frozen=True)
class Request:
    topic: str
    vibe: str
    n: int
    seed: int
    filters: Filters


def _checked(filters: Filters) -> Filters:
    if filters.shorts not in SHORTS_CHOICES:
        raise InvalidInput(f"shorts: must be one of {', '.join(SHORTS_CHOICES)}, got {filters.shorts!r}")
    if filters.language not in ("auto", "any", *LANGUAGES):
        raise InvalidInput(f"language: must be auto, any or one of {', '.join(LANGUAGES)}, got {filters.language!r}")
    return filters


def _compute(
    settings: Settings, deps: IdeasDeps, generator: IdeaGenerator, req: Request, now: datetime
) -> dict[str, Any]:
    notes: list[str] = []
    found, freshness = _candidates(settings, deps, req, now, notes)
    with session_scope(settings) as session:
        snaps = niche_repo.snapshots_for(session=session, video_ids=found.ids)
        channels = snaps["channel_id"].dropna().unique().tolist()
        history = niche_repo.channel_history(session=session, channel_ids=channels)
    outliers = niche_outliers(snaps, history, reference_labeler(settings, now, deps.platform))
    # patterns compare the niche's videos with each other: the niche multiple stands in where the channel's is unknown
    patterns = find_patterns(outliers.assign(shown_multiple=outliers["multiple"], multiple=outliers["rank_multiple"]),
                             seed=req.seed)  # fmt: skip
    top = _outliers_out(beating_expectation(outliers, notes).head(OUTLIERS_SHOWN).to_dict("records"), found.info, notes)
    language = ideas_language(found, top, req.topic)
    titles = snaps["title"].dropna().astype(str).unique().tolist() if "title" in snaps else []
    context = NicheContext(topic=req.topic, vibe=req.vibe, outliers=top, patterns=patterns, language=language,
                           titles=titles)  # fmt: skip
    drafts, used = _generate(generator, context, req.n, req.seed, notes)
    written = templates_for(language)[0] if used.startswith("offline") else language
    if language is not None and written != language:
        notes.append(f"the niche is in {language}, but the offline generator writes {written} ideas here (it writes "
                     f"{', '.join(BY_LANGUAGE)}); an LLM generator (MILES_LLM_*) writes in any language")  # fmt: skip
    ideas = _score_and_rank(deps, drafts, req.n, top, notes)
    _evidence_notes(found, top, patterns, req, notes, language)
    if deps.score is None and deps.unscored_note:
        notes.append(f"ideas are not scored: {deps.unscored_note}")
    elif deps.score is not None and deps.subscribers is None:
        notes.append(NO_SUBSCRIBERS_NOTE)
    if len(ideas) < req.n:
        distinct = len({d.title.lower() for d in drafts})
        why = (
            f"the generator gave only {distinct} distinct titles"
            if distinct < req.n
            else f"the others were near-copies (similarity above {MAX_IDEA_SIMILARITY}) or could not be scored"
        )
        notes.append(f"{len(ideas)} of the {req.n} ideas asked for: {why}")
    return {
        "topic": req.topic,
        "vibe": req.vibe,
        "platform": deps.platform,
        "model_version": deps.model_version if deps.score is not None else None,
        "channel_subscribers": deps.subscribers if deps.score is not None else None,
        "generator": used,
        "ideas_language": written,  # what the titles and hooks are written in (None: the LLM's choice)
        "generated_at": now.isoformat(),
        "candidates": len(found.ids),
        "niche": _niche_out(found, req.filters),
        "freshness": freshness,
        "outliers": top,
        "patterns": [p.as_dict() for p in patterns],
        "ideas": ideas,
        "notes": notes,
    }


def ideas_language(found: Candidates, outliers: list[dict[str, Any]], topic: str = "") -> str | None:
    """The language to write ideas in: the niche's filter, else the topic's, else that of most of the niche's outliers
    whose titles hold every word of the topic ("astuces tech" is too short to tell, its French tech videos are not),
    else unknown (written in English, the pages' language). Most outliers of any title were no evidence: a niche
    shows videos in every language when the topic's cannot be told, and "iphone tricks" got French ideas from
    French iPhone videos while its outliers about iPhone tricks were English."""
    if found.language:
        return found.language
    if found.topic_language and not found.language_fallback:  # a guess the niche gave way on is no evidence either:
        return found.topic_language  # "feta pasta" (guessed Portuguese) said its English niche was "in pt"
    said = words(topic)
    holding = [o for o in outliers if said and _holds_every_word(str(o.get("title", "")), said)]
    counts = Counter(str(o["language"]) for o in holding if o.get("language"))
    if counts:
        top, count = counts.most_common(1)[0]
        if count > len(holding) / 2:
            return top
    return None


def _holds_every_word(title: str, topic_words: list[str]) -> bool:
    """Whether ``title`` says each of ``words`` in its own text: a whole word, not inside a hashtag ("#iphonetricks"
    held "iphone tricks" in French titles, which then wrote that English topic's ideas in French); a CJK word, which
    has no spaces around it, anywhere in the title."""
    text = re.sub(r"#\S+", " ", title.lower())
    tokens = set(words(text))
    return all(w in text if has_cjk(w) else w in tokens for w in topic_words)


def _niche_out(found: Candidates, filters: Filters) -> dict[str, Any]:
    """How the niche was chosen: matches, the relevance bar, what each filter left out."""
    return {
        "matched": found.matched,
        "relevant": found.relevant,
        "kept": len(found.ids),
        "relevance_by": found.relevance_by,
        "min_relevance": MIN_RELEVANCE,
        "min_relevance_all_terms": MIN_RELEVANCE_ALL_TERMS,  # for a title holding every topic word
        "subject": found.subject,
        "min_relevance_unnamed": MIN_RELEVANCE_UNNAMED,
        "topic_language": found.topic_language,
        "language": found.language,
        "filters": asdict(filters),
        "dropped": dict(found.dropped),
        "language_fallback": found.language_fallback,
    }


def beating_expectation(outliers: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """The niche videos that beat what their basis expects (multiple above 1): an outlier over-performs. Listed as
    outliers and cited by ideas, the niche's best at 0.4x and 0.1x read as evidence of what works."""
    if outliers.empty or "multiple" not in outliers:
        return outliers
    # a video of unknown basis has no multiple: what its niche expects (``rank_multiple``) decides
    ranking = outliers["rank_multiple"] if "rank_multiple" in outliers else outliers["multiple"]
    beat = outliers[pd.to_numeric(ranking, errors="coerce") > 1.0]
    # one video per title, its best: re-uploads of one ad under three ids were listed (and cited) as three outliers
    above = beat[~beat["title"].astype(str).str.casefold().str.split().str.join(" ").duplicated()]
    if len(beat) < len(outliers) and len(above) < OUTLIERS_SHOWN:  # counted as shown (it said 6 and showed 4)
        merged = " (a title uploaded again counted once)" if len(beat) > len(above) else ""
        notes.append(f"{len(above)} of the niche's {len(outliers)} videos beat what their channel or the niche "
                     f"expects for their age{merged}; only those are shown as outliers")  # fmt: skip
    return above


def _bar(found: Candidates) -> str:
    """The relevance bar in words: what the videos below it lacked."""
    if not found.subject or found.relevance_by.startswith("full text only"):
        return f"relevance below {MIN_RELEVANCE:.2f}"
    words = ", ".join(f"“{w}”" for w in found.subject)
    need = words if len(found.subject) == 1 else f"{(len(found.subject) + 1) // 2} of {words}"
    return f"relevance below {MIN_RELEVANCE:.2f}, or not naming {need} and below {MIN_RELEVANCE_UNNAMED:.2f}"


def _evidence_notes(
    found: Candidates,
    top: list[dict[str, Any]],
    patterns: list[Pattern],
    req: Request,
    notes: list[str],
    language: str | None = None,
) -> None:
    """Say plainly how much evidence the niche gave."""
    if not found.matched:
        notes.append("no stored video mentions these words: no outliers; the ideas rest on the topic alone")
    elif not found.relevant:
        notes.append(
            f"{found.matched} stored videos share a word with “{req.topic}” but none is about it ({_bar(found)}): "
            "no outliers; the ideas rest on the topic alone"
        )
    elif not found.ids:
        dropped = ", ".join(f"{k}: {v}" for k, v in found.dropped.most_common())
        notes.append(f"the filters left no video of the {found.relevant} relevant ones ({dropped}); loosen them")
    elif found.dropped:
        dropped = ", ".join(f"{v} {k}" for k, v in found.dropped.most_common())
        notes.append(f"left out by the filters: {dropped}")
    if found.language_fallback:
        notes.append(
            f"fewer than {MIN_IN_LANGUAGE} relevant videos are in the topic's language ({found.topic_language}, "
            "guessed from the topic), so videos in every language are shown; pick a language to narrow it"
        )
    elif found.ids and req.filters.language == "auto" and found.topic_language is None:
        ideas_in = (f"; most of its outliers about “{req.topic}” are in {language}, so the ideas are written in it"
                    if language else "; the ideas are written in English")  # fmt: skip
        notes.append(f"the language of “{req.topic}” could not be told (too few words), so videos in every language "
                     f"are shown; pick a language to narrow it{ideas_in}")  # fmt: skip
    trusted = sum(1 for o in top if o["trusted"])
    unknown = sum(1 for o in top if o["multiple"] is None)
    if found.ids and trusted < MIN_TRUSTED_OUTLIERS:
        notes.append(
            f"too little evidence in this niche: {format_count(trusted, 'outlier')} with a baseline of at least "
            f"{MIN_BASELINE} earlier uploads of its channel and {MIN_BASIS_VIEWS:,} usual views; treat the ideas as "
            "guesses"
        )
    if unknown:
        notes.append(
            f"{format_count(unknown, 'video')} shown {'comes' if unknown == 1 else 'come'} from channels whose usual "
            "views Miles does not know (no earlier upload stored at that age): their views are shown, but no outlier "
            "multiple, and no idea cites them"
        )
    if found.ids and not any(p.is_finding for p in patterns):
        notes.append("no pattern stands out in this niche (no effect whose 95 % interval excludes 1x)")


def _candidates(
    settings: Settings, deps: IdeasDeps, req: Request, now: datetime, notes: list[str]
) -> tuple[Candidates, dict[str, Any]]:
    found = _relevant(settings, deps, req)
    since = now - timedelta(hours=settings.fresh_window_h)
    with session_scope(settings) as session:
        fresh = niche_repo.fresh_count(session=session, video_ids=found.ids, since=since)
    collected = 0
    if fresh < settings.min_fresh_candidates and deps.collect is not None:
        try:
            collected = deps.collect(req.topic)
        except SourceUnavailable as exc:
            notes.append(f"could not collect fresh videos: {exc.message}")
        if collected:
            found = _relevant(settings, deps, req)
            with session_scope(settings) as session:
                fresh = niche_repo.fresh_count(session=session, video_ids=found.ids, since=since)
    stale = fresh < settings.min_fresh_candidates and deps.collect is None
    if stale and found.ids:  # none at all is said once, by the note that no stored video is about the topic
        notes.append(
            f"{fresh} of the {len(found.ids)} niche videos have a snapshot from the last "
            f"{settings.fresh_window_h:g} h; these results use the stored snapshots"
        )
    freshness = {
        "fresh": fresh,
        "collected": collected,
        "window_h": settings.fresh_window_h,
        "stale": stale,
        "refresh_run_id": None,
        "refresh_token": None,
    }
    return found, freshness


def _relevant(settings: Settings, deps: IdeasDeps, req: Request) -> Candidates:
    return niche_candidates(settings, req.topic, platform=deps.platform, embed=deps.embed, filters=req.filters)


def niche_candidates(
    settings: Settings, topic: str, *, platform: str = "youtube", embed: Embedder | None, filters: Filters
) -> Candidates:
    """A topic's niche, as Ideas and Explore both read it: stored videos sharing a topic word (not a function word),
    above the relevance bar, kept by the filters (language, Shorts, long-form, ads); at most MAX_CANDIDATES."""
    with session_scope(settings) as session:
        ids = niche_repo.search_video_ids(session=session, topic=topic, platform=platform, skip=filler_words(topic))
        rows = niche_repo.candidate_rows(session=session, video_ids=ids)

    def channel_titles(channel_ids: list[str]) -> dict[str, list[str]]:
        with session_scope(settings) as session:
            return niche_repo.channel_titles(session=session, channel_ids=channel_ids)

    found = select_candidates(topic, ids, rows, embed, filters, channel_titles)
    found.ids = found.ids[:MAX_CANDIDATES]
    return found


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


def _outliers_out(
    rows: list[dict[str, Any]], info: dict[str, dict[str, Any]], notes: list[str]
) -> list[dict[str, Any]]:
    """The outliers as JSON; a video whose stored values cannot be read is skipped with a note, never fatal."""
    out = []
    for row in rows:
        try:
            out.append({**_outlier_out(row), **info.get(str(row["video_id"]), {})})
        except (TypeError, ValueError, KeyError) as exc:
            notes.append(f"skipped video {row.get('video_id')}: its stored values are unusable ({exc})")
    return out


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
        "baseline_count": int(row["baseline_count"]),
        "baseline_kind": str(row["baseline_kind"]),
        "basis_views": num(row.get("basis_views")),
        "tiny_base": bool(row.get("tiny_base", False)),
        "age_window": str(row["age_window"]),
        "trusted": bool(row["trusted"]),
        "channel_multiple": num(row["channel_multiple"]),
        # views / what the niche expects at its age and channel size: what ranks a video of unknown basis
        "niche_multiple": num(row.get("niche_multiple")),
        "duration_s": num(row.get("duration_s")),
        "thumbnail_url": row.get("thumbnail_url"),
        "published_at": pd.Timestamp(row["published_at"]).isoformat(),
        "captured_at": pd.Timestamp(row["captured_at"]).isoformat(),
        "source": source_label(row.get("source")),
    }


def source_label(source: Any) -> str:
    """Where a snapshot came from, in words: collected by a yt-dlp source, or imported from a dataset file."""
    if source is None or (isinstance(source, float) and np.isnan(source)) or not str(source):
        return "unknown source"
    text = str(source)
    return (
        f"collected ({text.split(':', 1)[1] if ':' in text else text})"
        if text.startswith("ytdlp")
        else (f"imported ({text})")
    )


def _generate(
    generator: IdeaGenerator, context: NicheContext, n: int, seed: int, notes: list[str]
) -> tuple[list[IdeaDraft], str]:
    try:
        return generator.generate(context, n=n, seed=seed), generator.name
    except SourceUnavailable as exc:
        notes.append(f"LLM ideas unavailable ({exc.message}); showing the offline generator's ideas instead")
        return OfflineGenerator().generate(context, n=n, seed=seed), "offline (fallback)"


def _score_and_rank(
    deps: IdeasDeps, drafts: list[IdeaDraft], n: int, outliers: list[dict[str, Any]], notes: list[str]
) -> list[dict[str, Any]]:
    unique = list({d.title.lower(): d for d in drafts}.values())
    if not unique:
        return []
    # without a model for the platform, ideas are picked for variety alone and carry no forecast
    predictions: list[dict[str, Any] | None]
    if deps.score is None:
        predictions = [None] * len(unique)
    else:
        unique, scored = _scored(deps, unique, notes)
        predictions = list(scored)
    if not unique:
        return []
    values = np.array([rank_value(p) if p else 0.0 for p in predictions])
    if deps.score is not None and len(values) > 1 and np.ptp(values) < SAME_FORECAST:
        notes.append(SAME_FORECAST_NOTE)
    chosen = _mmr(deps, [d.title for d in unique], values, n)
    titles = {o["video_id"]: o["title"] for o in outliers}
    return [
        {
            **unique[i].model_dump(),
            "prediction": predictions[i],
            "score": float(values[i]) if predictions[i] else None,
            "inspired_by_titles": list(dict.fromkeys(titles.get(v, v) for v in unique[i].inspired_by)),
        }
        for i in chosen
    ]


def _scored(deps: IdeasDeps, drafts: list[IdeaDraft], notes: list[str]) -> tuple[list[IdeaDraft], list[dict[str, Any]]]:
    """Score all drafts at once; when the batch fails on bad input, one by one, skipping (with a note) what fails."""

    def inputs(ds: list[IdeaDraft]) -> list[dict[str, Any]]:
        return [{"title": d.title, "description": d.hook, "duration_s": d.duration_s} for d in ds]

    assert deps.score is not None
    try:
        return drafts, deps.score(inputs(drafts))
    except (InvalidInput, ValueError):
        kept, predictions = [], []
        for draft in drafts:
            try:
                predictions.append(deps.score(inputs([draft]))[0])
                kept.append(draft)
            except (InvalidInput, ValueError) as exc:
                notes.append(f"skipped idea “{draft.title}”: the model could not score it ({exc})")
        return kept, predictions


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
        rest = [i for i in rest if all(similarity[i, j] <= MAX_IDEA_SIMILARITY for j in chosen)]
        if not rest:  # every remaining idea is a near-copy of one already picked
            break
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
