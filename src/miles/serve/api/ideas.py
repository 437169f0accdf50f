"""POST /ideas (topic + vibe -> outliers, patterns, scored ideas) and GET /queries (your past queries)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from miles.inputs import MAX_SUBSCRIBERS
from miles.recommend.candidates import Filters
from miles.serve.api.common import ERRORS, MODEL_ERRORS, Limit, Offset, next_offset
from miles.serve.deps import MaybeUserDep, PredictorDep, SettingsDep, UserIdDep
from miles.serve.schemas import CleanText, Platform, Subscribers
from miles.serve.services.collections import collection_status
from miles.serve.services.ideas import ideas_for, queries_for

router = APIRouter(tags=["ideas"])


class IdeasIn(CleanText):
    topic: str = Field(min_length=1, max_length=200, description="The niche, e.g. 'sourdough bread'.")
    vibe: str = Field("", max_length=200, description="The feel you want, e.g. 'funny', 'cozy', 'educational'.")
    n: int = Field(5, ge=1, le=20, description="How many ideas to return.")
    channel_subscribers: Subscribers | None = Field(
        None,
        ge=0,
        le=MAX_SUBSCRIBERS,
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


@router.post("/ideas", summary="Ideas for a topic and vibe, with the evidence behind them", responses=MODEL_ERRORS)
def ideas(body: IdeasIn, caller: MaybeUserDep, settings: SettingsDep, predictor: PredictorDep) -> dict[str, Any]:
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
    return {"ok": True, **result}


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
