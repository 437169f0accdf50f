"""GET /videos (search stored videos) and GET /videos/{id} (one video with its snapshots)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from miles.errors import NotFound
from miles.serve.api.common import ERRORS, time_range
from miles.serve.deps import MaybeUserDep, SessionDep
from miles.serve.paging import Limit, Offset, next_offset
from miles.serve.schemas import Platform, SafeStr, SnapshotOut, UtcTime, VideoDetailOut, VideoOut, VideoPage
from miles.store.repos import videos
from miles.store.repos.videos import LatestStats
from miles.store.tables import Video

router = APIRouter(tags=["videos"], responses=ERRORS)


def video_out(video: Video, latest: LatestStats | None) -> VideoOut:
    return VideoOut(
        id=video.id,
        platform=video.platform,
        channel_id=video.channel_id,
        title=video.title,
        category_id=video.category_id,
        duration_s=video.duration_s,
        published_at=video.published_at,
        thumbnail_url=video.thumbnail_url,
        country=video.country,
        source=video.source,
        latest_views=latest.views if latest else None,
        latest_captured_at=latest.captured_at if latest else None,
    )


@router.get("/videos", summary="Search stored videos")
def list_videos(
    *,
    _caller: MaybeUserDep,
    session: SessionDep,
    limit: Limit = 20,
    offset: Offset = 0,
    q: Annotated[SafeStr | None, Query(max_length=200, description="Words that must all appear in the title.")] = None,
    category_id: Annotated[int | None, Query(ge=0, le=100, description="YouTube category (the niche).")] = None,
    channel_id: Annotated[SafeStr | None, Query(max_length=64)] = None,
    source: Annotated[SafeStr | None, Query(max_length=64, description="Dataset or collector, e.g. 'ytdlp'.")] = None,
    platform: Annotated[Platform | None, Query(description="Only videos of this platform.")] = None,
    published_from: Annotated[UtcTime | None, Query(description="Published at or after (UTC).")] = None,
    published_to: Annotated[UtcTime | None, Query(description="Published before (UTC).")] = None,
) -> VideoPage:
    """Newest first, with the latest view count of each video; `total` counts all matches. `published_to` is
    exclusive and must be after `published_from` (422 naming both otherwise)."""
    published_from, published_to = time_range(published_from, published_to, ("published_from", "published_to"))
    hits, total = videos.search_videos(
        session=session,
        q=q,
        category_id=category_id,
        channel_id=channel_id,
        source=source,
        platform=platform,
        published_from=published_from,
        published_to=published_to,
        limit=limit,
        offset=offset,
    )
    items = [video_out(h.video, h.latest) for h in hits]
    return VideoPage(
        total=total, limit=limit, offset=offset, next_offset=next_offset(offset, limit, total), items=items
    )


@router.get("/videos/{video_id}", summary="One stored video with its view snapshots")
def get_video(
    video_id: Annotated[SafeStr, Path(max_length=64)], caller: MaybeUserDep, session: SessionDep
) -> VideoDetailOut:
    """The collected snapshots, and the counts the caller typed in themselves (another user's are theirs alone)."""
    found = videos.get_video(session=session, video_id=video_id, user_id=caller.user_id)
    if found is None:
        raise NotFound(f"no stored video with id {video_id!r}")
    video, snaps = found
    last = snaps[-1] if snaps else None
    stats = (
        LatestStats(last.captured_at, last.views, last.likes, last.comments, last.channel_subscribers) if last else None
    )
    return VideoDetailOut(
        video=video_out(video, stats),
        description=video.description,
        tags=[str(t) for t in video.tags or []],
        snapshots=[
            SnapshotOut(
                captured_at=s.captured_at,
                age_h=round((s.captured_at - video.published_at).total_seconds() / 3600.0, 3),  # as /tracked gives it
                views=s.views,
                likes=s.likes,
                comments=s.comments,
                channel_subscribers=s.channel_subscribers,
            )
            for s in snaps
        ],
    )
