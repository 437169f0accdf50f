"""POST /ideas (topic + vibe -> outliers, patterns, scored ideas) and GET /queries (your past queries)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from miles.model.predict import VIRAL_DEFINITION
from miles.recommend.candidates import Filters
from miles.serve.api.common import ERRORS, MODEL_ERRORS
from miles.serve.deps import MaybeUserDep, PredictorDep, SettingsDep, UserIdDep
from miles.serve.paging import Limit, Offset, next_offset
from miles.serve.schemas import SUBSCRIBERS_EXAMPLES, CleanText, Platform, Subscribers
from miles.serve.services.collections import collection_status
from miles.serve.services.ideas import ideas_for, queries_for

router = APIRouter(tags=["ideas"])


class IdeasIn(CleanText):
    # a misspelt field ("subscribers", the form's name) was ignored and the ideas forecast for a typical channel
    model_config = ConfigDict(extra="forbid")

    topic: str = Field(min_length=1, max_length=200, description="The niche, e.g. 'sourdough bread'.")
    vibe: str = Field("", max_length=200, description="The feel you want, e.g. 'funny', 'cozy', 'educational'.")
    n: int = Field(5, ge=1, le=20, description="How many ideas to return.")
    channel_subscribers: Subscribers | None = Field(
        None,
        examples=SUBSCRIBERS_EXAMPLES,
        description="Your channel's subscribers ('1,200', '12k'): the ideas are forecast for your channel. Without "
        "it they are forecast for a typical channel of the training data, and a note says so.",
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the offline generator (same seed, same ideas).")
    language: str = Field(
        default="auto",
        max_length=8,
        description="Niche videos in this language: auto (the topic's, guessed), any, or a code.",
    )
    shorts: Literal["any", "only", "exclude"] = Field(default="any", description="Shorts only, no Shorts, or any.")
    include_long: bool = Field(default=False, description="Keep long-form videos (over 3 minutes) in the niche.")
    include_ads: bool = Field(default=False, description="Keep videos that look like ads in the niche.")
    platform: Platform = Field(
        default="youtube",
        description="The niche's platform. A TikTok niche: outliers and patterns of its stored TikTok videos, ideas "
        "unscored (no TikTok model yet; a note says so).",
    )


class NicheFiltersOut(BaseModel):
    language: str = Field(description="auto, any or a language code.")
    shorts: str = Field(description="any, only or exclude.")
    include_long: bool
    include_ads: bool


class NicheOut(BaseModel):
    matched: int = Field(description="Stored videos the full-text search found for the topic.")
    relevant: int = Field(description="Of those, the ones above the relevance bar.")
    kept: int = Field(description="Of those, the ones the filters kept: the niche.")
    relevance_by: str = Field(description="How relevance was judged (text encoder or full text only).")
    min_relevance: float
    subject: list[str] = Field(
        default_factory=list,
        description="The topic's subject words (generic ones such as 'tricks' or 'tips' left out): a video must name "
        "at least half of them, or be closer to the topic than min_relevance_unnamed.",
    )
    min_relevance_unnamed: float | None = None
    topic_language: str | None = Field(None, description="The topic's language, when it could be told.")
    language: str | None = Field(None, description="The language filter applied (null: any).")
    filters: NicheFiltersOut
    dropped: dict[str, int] = Field(default_factory=dict, description="Videos left out, by filter.")
    language_fallback: bool = Field(False, description="Too few videos in the topic's language: all were shown.")


class FreshnessOut(BaseModel):
    fresh: int = Field(description="Niche videos with a snapshot inside the freshness window.")
    collected: int = Field(description="Videos collected for this request (the CLI's --collect).")
    window_h: float = Field(description="The freshness window, in hours (MILES_FRESH_WINDOW_H).")
    stale: bool = Field(description="Too few fresh videos: a collection was queued (see refresh_run_id).")
    refresh_run_id: int | None = Field(None, description="The queued collection: GET /api/v1/collections/{id}.")
    refresh_token: str | None = Field(None, description="An anonymous caller's token to read that collection.")
    worker_running: bool | None = Field(None, description="Whether a worker runs to collect it.")


class NicheOutlierOut(BaseModel):
    video_id: str
    title: str
    views: int = Field(description="Views at its latest snapshot.")
    age_h: float = Field(description="Its age at that snapshot, in hours.")
    multiple: float | None = Field(
        description="Its views ÷ its channel's usual views at its age (the outlier score); null when those are unknown."
    )
    basis: str = Field(
        description="'channel' (its own channel's earlier uploads) or 'unknown' (no earlier upload of its channel is "
        "stored at its age: no multiple, only its views)."
    )
    baseline_count: int = Field(description="Uploads behind that expectation (0 when unknown).")
    baseline_kind: str = Field(description="The expectation, in words.")
    basis_views: float | None = Field(None, description="The views it is compared with (its basis's usual views).")
    tiny_base: bool = Field(False, description="A basis under 1,000 views: the multiple says more about the basis.")
    age_window: str = Field(description="The ages it was compared at.")
    trusted: bool = Field(description="Whether the baseline has enough videos and views to trust the multiple.")
    channel_multiple: float | None = None
    duration_s: float | None = None
    thumbnail_url: str | None = None
    published_at: str
    captured_at: str
    source: str = Field(description="Where its snapshot came from, in words.")
    relevance: float | None = Field(None, description="How close it is to the topic (0-1).")
    language: str | None = None
    kind: str | None = Field(None, description="short or long-form.")
    kind_basis: str | None = Field(None, description="How its kind was told.")
    is_ad: bool | None = None


class CounterExampleOut(BaseModel):
    video_id: str
    title: str
    multiple: float | None = Field(None, description="Its outlier multiple; null when its channel's usual is unknown.")


class PatternOut(BaseModel):
    key: str
    label: str = Field(description="The pattern in words, e.g. 'number in the title'.")
    group: str = Field(description="What it is about: title, duration, posting time ...")
    n_with: int
    n_without: int
    median_with: float | None = Field(description="Median outlier multiple of the niche videos with it.")
    median_without: float | None
    effect: float | None = Field(description="median_with ÷ median_without (null: too few videos).")
    ci_low: float | None = Field(description="95 % bootstrap interval of the effect.")
    ci_high: float | None
    counter_example: CounterExampleOut | None = Field(description="A niche video that goes against the effect.")
    enough_data: bool
    is_finding: bool = Field(description="Enough videos and an interval that excludes 1x (no effect).")


class IdeaViewsOut(BaseModel):
    age_h: float
    p10: float
    p50: float
    p90: float


class IdeaPredictionOut(BaseModel):
    views: dict[str, IdeaViewsOut] = Field(description="Forecast views by horizon label (1h ... 30d).")
    viral_probability: float = Field(description="Viral chance: " + VIRAL_DEFINITION + ".")
    model_version: str
    accuracy: str | None = Field(
        None,
        description="How far off forecasts for this channel size and age were on videos from channels the model never "
        "trained on, in one plain sentence (as POST /api/v1/predict gives it; null: the model records no such test).",
    )
    viral_definition: str = Field(default=VIRAL_DEFINITION, description="What the viral chance means.")


class IdeaOut(BaseModel):
    title: str
    hook: str = Field(description="What the first 2 seconds show or say.")
    format: str
    duration_s: float
    reasoning: str = Field(description="Why: the outliers and patterns it draws on.")
    inspired_by: list[str] = Field(description="video_ids of the outliers it came from.")
    inspired_by_titles: list[str]
    prediction: IdeaPredictionOut | None = Field(description="Its forecast as a draft (null: unscored).")
    score: float | None = Field(description="What the ideas are ranked by (null: unscored).")


class IdeasOut(BaseModel):
    ok: bool = True
    topic: str
    vibe: str
    platform: str
    model_version: str | None = Field(description="The model that scored the ideas (null: unscored).")
    channel_subscribers: float | None = Field(None, description="The channel size forecast for (null: typical).")
    generator: str = Field(description="What wrote the ideas: offline templates or an LLM.")
    ideas_language: str | None = None
    generated_at: str
    candidates: int = Field(description="Ideas generated before ranking and diversifying.")
    niche: NicheOut
    freshness: FreshnessOut
    outliers: list[NicheOutlierOut] = Field(description="The niche's videos that beat their expectation, best first.")
    patterns: list[PatternOut]
    ideas: list[IdeaOut]
    notes: list[str] = Field(description="What to know before trusting the results, in words.")
    query_id: int = Field(description="This query in your history (GET /api/v1/queries).")
    cached: bool


def ideas_answer(result: dict[str, Any]) -> IdeasOut:
    """An ideas result as every surface answers it (API, MCP, `miles ideas --json`): one shape, ``ok`` included."""
    return IdeasOut.model_validate({"ok": True, **json.loads(json.dumps(result, default=str))})


@router.post(
    "/ideas",
    summary="Ideas for a topic and vibe, with the evidence behind them",
    responses=MODEL_ERRORS,
    response_model=IdeasOut,
)
def ideas(body: IdeasIn, caller: MaybeUserDep, settings: SettingsDep, predictor: PredictorDep) -> IdeasOut:
    """Niche outliers (age-normalised), patterns with effect sizes, and scored, diversified ideas citing their
    inspiration. Results are cached per (topic, vibe, model version) for `MILES_IDEAS_CACHE_TTL_S`."""
    result = ideas_for(
        settings=settings,
        predictor=predictor(),
        topic=body.topic,
        vibe=body.vibe,
        n=body.n,
        seed=body.seed,
        requester=caller.requester,
        filters=Filters(
            language=body.language, shorts=body.shorts, include_long=body.include_long, include_ads=body.include_ads
        ),
        platform=body.platform,
        subscribers=float(body.channel_subscribers) if body.channel_subscribers is not None else None,
    )
    return ideas_answer(result)


@router.get("/queries", summary="Your past idea queries with their ideas", responses=ERRORS)
def queries(user_id: UserIdDep, settings: SettingsDep, limit: Limit = 20, offset: Offset = 0) -> dict[str, Any]:
    page = queries_for(settings=settings, user_id=user_id, limit=limit, offset=offset)
    return {"ok": True, **page, "next_offset": next_offset(offset, limit, page["total"])}


@router.get(
    "/collections/{run_id}", summary="Status of a background collection (e.g. one queued by /ideas)", responses=ERRORS
)
def collection(
    run_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="The run id from /ideas' freshness.")],
    caller: MaybeUserDep,
    settings: SettingsDep,
    token: Annotated[
        str | None,
        Query(max_length=64, description="The owner token an anonymous caller got when the collection was queued."),
    ] = None,
) -> dict[str, Any]:
    """Only the user who queued it sees a collection (or an anonymous caller showing its owner token); to
    anyone else it does not exist (404)."""
    return {"ok": True, **collection_status(settings=settings, run_id=run_id, user_id=caller.user_id, token=token)}
