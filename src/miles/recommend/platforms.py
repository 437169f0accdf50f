"""Which platform a model speaks for, and the clear answer when a platform has no model yet (DESIGN.md §3.3).

Miles' models learn from YouTube data. A TikTok draft or video is scored only by a model trained on TikTok data
(its manifest says ``extra.platform = "tiktok"``); until one exists the answer is ``NoPlatformModel`` (HTTP 409,
CLI exit 1), never a YouTube forecast.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from miles.domain import PLATFORM_NAMES, TIKTOK_MIN_VIDEOS
from miles.errors import NoPlatformModel
from miles.store.repos.videos import trajectory_count


def model_platform(predictor: Any) -> str:
    """The platform a predictor learnt from; predictors that do not say are YouTube models (all before TikTok)."""
    return str(getattr(predictor, "platform", None) or "youtube")


def no_model_message(platform: str, *, session: Session | None) -> str:
    name = PLATFORM_NAMES.get(platform, platform)
    have = f" (Miles has {trajectory_count(session=session, platform=platform)})" if session is not None else ""
    return (
        f"no {name} model yet: track {TIKTOK_MIN_VIDEOS} {name} videos first{have}. Miles' model learnt from YouTube "
        f"and is not used for {name} forecasts; collect and track {name} videos (`miles collect tiktok`, "
        "`miles track add URL`); once there are enough, a model can be trained on them."
    )


def require_platform_model(predictor: Any, platforms: set[str], *, session: Session | None) -> None:
    """Raise ``NoPlatformModel`` when any of ``platforms`` is not the predictor's."""
    for platform in sorted(platforms - {model_platform(predictor)}):
        raise NoPlatformModel(no_model_message(platform, session=session), details={"platform": platform})
