"""Which platform a model speaks for, and the clear answer when a platform has no model yet (DESIGN.md §3.3).

Miles' models learn from YouTube data. A TikTok draft or video is scored only by a model trained on TikTok data
(its manifest says ``extra.platform = "tiktok"``); until one exists the answer is ``NoPlatformModel`` (HTTP 409,
CLI exit 1), never a YouTube forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from miles.domain import PLATFORM_NAMES, TIKTOK_MIN_VIDEOS
from miles.errors import NoPlatformModel
from miles.store.repos.videos import trajectory_count

NAMED_ITEMS = 5  # a batch's refused drafts named in the message; details.items lists them all


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


def require_platform_model(
    predictor: Any, platforms: Sequence[str], *, session: Session | None, where: str = "body.items"
) -> None:
    """Raise ``NoPlatformModel`` when a draft's platform is not the predictor's. ``platforms`` holds each draft's, in
    order; in a batch the message and ``details.items`` name the drafts it refuses by index (``where[k]``), so a
    caller knows which item of many is the problem."""
    for platform in sorted(set(platforms) - {model_platform(predictor)}):
        details: dict[str, Any] = {"platform": platform}
        message = no_model_message(platform, session=session)
        if len(platforms) > 1:
            indexes = [k for k, p in enumerate(platforms) if p == platform]
            named = ", ".join(f"{where}[{k}]" for k in indexes[:NAMED_ITEMS])
            more = f" and {len(indexes) - NAMED_ITEMS} more" if len(indexes) > NAMED_ITEMS else ""
            message, details = f"{named}{more}: {message}", {**details, "items": indexes}
        raise NoPlatformModel(message, details=details)
