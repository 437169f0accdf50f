"""A user's tracked videos with what the Track page shows of each: its views so far, its forecast (early mode once
it has views) and how far the forecast made before publishing was off. The Track page, its JSON twin, the API's
``GET /tracked`` and ``GET /tracked/{id}`` and the MCP tool ``tracked_videos`` all read them from ``tracked_forecasts``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from miles.domain import (
    YOUTUBE_VIDEO_ID,
    as_utc,
    failure_words,
    is_tiktok_short_link,
    tiktok_video_ref,
    utcnow,
    youtube_id_in_url,
    youtube_watch_url,
)
from miles.errors import InvalidInput, MilesError
from miles.inputs import InputError, parse_views
from miles.model.predict import DraftInput, nothing_left_to_forecast
from miles.recommend.platforms import model_platform, no_model_message
from miles.serve.paging import next_offset
from miles.serve.schemas import TrackedVideoOut, TrackedVideosPage, ViewsIn
from miles.serve.services.early import forecast_check
from miles.serve.services.model import PredictorLike
from miles.serve.services.predict import mode_of, to_prediction_out
from miles.store.repos import predictions, tracked, videos
from miles.store.repos.snapshots import MANUAL_SOURCE
from miles.store.tables import TrackedVideo, Video, VideoSnapshot


@dataclass(frozen=True)
class TrackedForecasts:
    total: int  # the user's tracked videos, all pages
    items: list[dict[str, Any]]  # this page's, newest first
    model_message: str | None  # why there is no forecast at all (no model), else None


VIDEO_URLS_TAKEN = (
    "give a YouTube video's watch, Shorts or youtu.be URL (https://youtube.com/shorts/<id>), its 11-character id, "
    "or a TikTok video URL (https://www.tiktok.com/@name/video/<id>)"
)


def youtube_video_id(url: str, field: str = "body.url") -> str:
    """The 11-character id from a watch, shorts, embed or youtu.be URL, or a bare id."""
    url = url.strip()
    if YOUTUBE_VIDEO_ID.match(url):
        return url
    found = youtube_id_in_url(url)
    if found is None:
        problem = f"not a YouTube video URL or id (nor a TikTok video URL): {url[:200]!r}; {VIDEO_URLS_TAKEN}"
        raise InvalidInput.at(field, problem)
    return found


def video_to_track(url: str, field: str = "body.url") -> tuple[str, str]:
    """(video id, URL to poll) of a YouTube or TikTok video link (or a bare YouTube id)."""
    if ref := tiktok_video_ref(url):
        return ref
    if is_tiktok_short_link(url):
        problem = (
            "a TikTok short link names no video id; open it and give the full https://www.tiktok.com/@name/video/ID "
            "address (`miles track add` follows short links)"
        )
        raise InvalidInput.at(field, problem)
    video_id = youtube_video_id(url, field)
    return video_id, youtube_watch_url(video_id)


def link_to_track(url: str, field: str = "URL") -> str:
    """The address ``miles track add`` reads a video at: its canonical URL (``video_to_track``), or a TikTok short
    link as given, since that command reads the video at once and yt-dlp follows the link to its id (the API stores
    the id before any read, so it cannot take one)."""
    if is_tiktok_short_link(url):
        return url.strip()
    return video_to_track(url, field)[1]


def tracked_forecasts(
    *, session: Session, user_id: int, load_predictor: Callable[[], PredictorLike], limit: int, offset: int = 0
) -> TrackedForecasts:
    """One page of the user's tracked videos, newest first, each forecast when it is read (the model is loaded only
    when some video has been read)."""
    rows, total = tracked.list_tracked(session=session, user_id=user_id, limit=limit, offset=offset)
    items, model_message = _forecast_rows(session, rows, user_id, load_predictor)
    return TrackedForecasts(total=total, items=items, model_message=model_message)


def tracked_videos_page(
    *, session: Session, user_id: int, load_predictor: Callable[[], PredictorLike], limit: int, offset: int = 0
) -> TrackedVideosPage:
    """``tracked_forecasts`` as the API's ``GET /tracked`` and the MCP tool ``tracked_videos`` give it."""
    found = tracked_forecasts(
        session=session, user_id=user_id, load_predictor=load_predictor, limit=limit, offset=offset
    )
    return TrackedVideosPage(
        total=found.total,
        limit=limit,
        offset=offset,
        next_offset=next_offset(offset, limit, found.total),
        items=[TrackedVideoOut.model_validate(item) for item in found.items],
        model_message=found.model_message,
    )


def tracked_forecast(
    *, session: Session, user_id: int, tracked_id: int, load_predictor: Callable[[], PredictorLike]
) -> dict[str, Any]:
    """One of the user's tracked videos as ``tracked_forecasts`` gives it (another user's id is not found); without a
    model, its ``forecast_note`` says why."""
    row = tracked.get_tracked(session=session, user_id=user_id, tracked_id=tracked_id)
    [item], model_message = _forecast_rows(session, [row], user_id, load_predictor)
    if model_message is not None and item["forecast_note"] is None:
        item["forecast_note"] = model_message
    return item


def check_reading(
    *,
    session: Session,
    user_id: int,
    tracked_id: int,
    views: int | None,
    captured_at: datetime | None,
    title: str | None = None,
    published_at: datetime | None = None,
    tz: tzinfo = UTC,
    found: Iterable[Mapping[str, str]] = (),
    at: str | Mapping[str, str] = "",
) -> None:
    """The one validation pass of a reading the user typed (Track page, API, MCP tool): every problem at once in one
    ``InvalidInput`` (422), each ``{"field", "message"}`` naming the value that is wrong and why: a negative count,
    a read time before publishing or in the future, a count that contradicts another reading. ``found`` holds the
    problems of fields the caller could not read (those are neither asked for nor compared). ``at`` names each field:
    a prefix (``body.`` for the API, whose other errors name fields so) or each field's own name (the CLI's options).
    Raises before anything is stored;
    record_views checks again, and would name only the first."""
    problems = [{"field": p["field"], "message": p["message"]} for p in found]
    if views is not None and views < 0:
        try:
            parse_views(views, "views")  # the words of every count field (form, CLI, API)
        except InputError as exc:
            problems.append({"field": "views", "message": exc.short})
    problems += tracked.views_problems(
        session=session, user_id=user_id, tracked_id=tracked_id, views=views, captured_at=captured_at, title=title,
        published_at=published_at, tz=tz, unreadable={p["field"] for p in problems},
    )  # fmt: skip
    if problems:
        raise _reading_error(problems, at)


def _reading_error(problems: Iterable[Mapping[str, str]], at: str | Mapping[str, str] = "") -> InvalidInput:
    """One 422 naming every problem of a reading, each field as ``at`` names it (``check_reading``)."""

    def name(field: str) -> str:
        return f"{at}{field}" if isinstance(at, str) else at.get(field, field)

    located = [{"field": name(p["field"]), "message": _unnamed(p["message"], p["field"])} for p in problems]
    return InvalidInput("; ".join(f"{p['field']}: {p['message']}" for p in located), details=located)


def _unnamed(message: str, field: str) -> str:
    """'views: 1,000 at ... does not fit' -> '1,000 at ... does not fit': the field is named once, by the error."""
    return message.removeprefix(f"{field}: ")


STORED_ALREADY = "This count was stored already at that time; nothing changed."


def enter_views(
    *,
    session: Session,
    user_id: int,
    tracked_id: int,
    body: ViewsIn,
    load_predictor: Callable[[], PredictorLike],
    at: str | Mapping[str, str] = "body.",
) -> dict[str, Any]:
    """Store views the user read for one of their tracked videos (``tracked.record_views``) once ``check_reading``
    found nothing wrong; the notes say which typed values were not used, and the video comes back with its forecast
    from them. Problems name fields as the API does (``body.views``); the MCP tool passes ``at=""`` (its arguments),
    the CLI its options (``check_reading``)."""
    reading: dict[str, Any] = {"session": session, "user_id": user_id, "tracked_id": tracked_id, "views": body.views,
                               "captured_at": body.read_at or utcnow(), "title": body.title,
                               "published_at": body.published_at}  # fmt: skip
    check_reading(**reading, at=at)
    recorded = tracked.record_views(**reading, channel_subscribers=body.channel_subscribers)
    session.flush()
    video = tracked_forecast(session=session, user_id=user_id, tracked_id=tracked_id, load_predictor=load_predictor)
    notes = recorded.notes if recorded.stored else [*recorded.notes, STORED_ALREADY]
    return {"notes": notes, "video": video}


UNREAD_NOTE = (
    "No forecast yet: Miles has not read this video. Its forecast starts from its first views: the worker's next "
    "poll, or the views you enter with its title and publish time."
)


def _forecast_rows(
    session: Session, rows: list[TrackedVideo], user_id: int, load_predictor: Callable[[], PredictorLike]
) -> tuple[list[dict[str, Any]], str | None]:
    """Each row's item, forecast when it has been read, and why there is no model. The model is loaded only for a
    video read, or one of another platform than YouTube's (whether any model speaks for it decides its note)."""
    pairs = [_item(session, r, user_id) for r in rows]
    for item, row in pairs:
        if row is None:
            item["forecast_note"] = UNREAD_NOTE
    predictor, model_message = None, None
    if any(row is not None or item["platform"] != "youtube" for item, row in pairs):
        predictor, model_message = _predictor(load_predictor)
    if predictor is not None:
        wanted = [(item, row) for item, row in _same_platform(session, predictor, pairs) if row is not None]
        if wanted:
            _forecasts(predictor, wanted)
    return [item for item, _ in pairs], model_message


def _snapshot_points(video: Video, snaps: list[VideoSnapshot]) -> list[dict[str, Any]]:
    published = as_utc(video.published_at)
    points = []
    for s in snaps:
        age_h = (as_utc(s.captured_at) - published).total_seconds() / 3600.0
        if age_h > 0:
            points.append({"captured_at": s.captured_at, "age_h": round(age_h, 3), "views": int(s.views)})
    return points


def forecast_input(video: Video, snaps: list[VideoSnapshot]) -> DraftInput:
    """The predictor's input for a published video: early mode with its snapshots so far (the stored-video
    converter the worker's scoring uses too)."""
    return DraftInput.from_stored(video, snaps)


def _predictor(load: Callable[[], PredictorLike]) -> tuple[PredictorLike | None, str | None]:
    try:
        return load(), None
    except MilesError as exc:
        return None, exc.message


def _item(session: Session, row: TrackedVideo, user_id: int) -> tuple[dict[str, Any], DraftInput | None]:
    item: dict[str, Any] = {
        "id": row.id,
        "video_id": row.video_id,
        "url": row.url,
        "added_at": row.added_at,
        "next_poll_at": row.next_poll_at,
        "last_polled_at": row.last_polled_at,
        "last_error": row.last_error,
        "last_error_words": failure_words(row.last_error_reason) if row.last_error else None,
        "active": row.active,
        "title": None,
        "details_typed": False,
        "thumbnail_url": None,
        "published_at": None,
        "snapshots": [],
        "latest": None,
        "forecast": None,
        "platform": row.platform,  # from its link: known before the video is read, and never another platform's
        "forecast_note": None,
        "prepublish_forecast": None,
        "forecast_check": None,
        "linked_prediction_id": None,
        "linked_forecast": None,
        "linked_scored_after_h": None,
    }
    found = videos.get_video(session=session, video_id=row.video_id, user_id=user_id)
    if found is None:
        return item, None
    video, snaps = found
    points = _snapshot_points(video, snaps)
    item.update(title=video.title, thumbnail_url=video.thumbnail_url, published_at=video.published_at, snapshots=points,
                latest=points[-1] if points else None, details_typed=video.source == MANUAL_SOURCE)  # fmt: skip
    row_input = forecast_input(video, snaps)
    linked = predictions.linked_prediction(session=session, user_id=user_id, video_id=row.video_id)
    if linked is not None:  # the creator's own draft of this video: its forecast, and the channel size they gave
        item["linked_prediction_id"] = linked.id
        scored = (linked.outputs or {}).get("prediction") or {}
        item["linked_forecast"] = scored if scored.get("mode") == "prepublish" and scored.get("horizons") else None
        item["linked_scored_after_h"] = predictions.scored_after_h(linked, video.published_at)
        subscribers = (linked.inputs or {}).get("channel_subscribers")
        if row_input.draft.channel_subscribers is None and isinstance(subscribers, int | float):
            row_input = replace(row_input, draft=replace(row_input.draft, channel_subscribers=float(subscribers)))
    return item, row_input


def _same_platform(
    session: Session, predictor: PredictorLike, wanted: list[tuple[dict[str, Any], DraftInput | None]]
) -> list[tuple[dict[str, Any], DraftInput | None]]:
    """Videos of the model's platform; the others (TikTok), read or not, get a note instead of another platform's
    forecast."""
    platform = model_platform(predictor)
    for item, _ in wanted:
        if item["platform"] != platform:
            item["forecast_note"] = no_model_message(item["platform"], session=session)
    return [(item, row) for item, row in wanted if item["platform"] == platform]


def _forecasts(predictor: PredictorLike, wanted: list[tuple[dict[str, Any], DraftInput]]) -> None:
    """Each video's forecast (early mode once it has views) and the one made from its metadata alone, as before
    publishing, compared with its latest views: one predictor call for both."""
    before = [replace(row, draft=replace(row.draft, early_views=[])) for _, row in wanted]
    past = [nothing_left_to_forecast(row.draft) for _, row in wanted]  # views known past every horizon
    ahead = [row for (_, row), why in zip(wanted, past, strict=True) if why is None]
    raw = list(predictor.predict(ahead + before))
    rest = iter(raw[: len(ahead)])
    for i, (item, row) in enumerate(wanted):
        prior = to_prediction_out(raw[len(ahead) + i], version=predictor.version, mode="prepublish")
        item["prepublish_forecast"] = item["linked_forecast"] or prior.model_dump(mode="json")
        if past[i] is None:
            now = to_prediction_out(next(rest), version=predictor.version, mode=mode_of(row))
            item["forecast"] = now.model_dump(mode="json")
        else:
            item["forecast"], item["forecast_note"] = None, "No forecast now: its views are known past every horizon."
        if (last := _latest_within(item["snapshots"], item["prepublish_forecast"]["horizons"])) is not None:
            item["forecast_check"] = forecast_check(
                item["prepublish_forecast"]["horizons"], last["age_h"], last["views"]
            )


def _latest_within(points: list[dict[str, Any]], horizons: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest reading the forecast made before publishing reaches (its last horizon): read a year on, the
    check against 7 days' views vanished instead of staying."""
    last_h = max((float(h["horizon_h"]) for h in horizons), default=0.0)
    within = [p for p in points if p["age_h"] <= last_h]
    return within[-1] if within else None
