"""Poll the tracked videos that are due (DESIGN.md §4): one snapshot per video, then its schedule moves on."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from miles.collect.base import Entry, Failure
from miles.domain import failure_words, youtube_id_url
from miles.errors import InvalidInput, SourceUnavailable, WorkerStopping
from miles.jobs.collect import CollectCounts, Collector, count_stored, finish_run, run_status, store_extracted
from miles.store.db import session_scope
from miles.store.repos import jobs as job_repo
from miles.store.repos import tracking
from miles.store.repos.users import require_user
from miles.store.tables import TrackedVideo

log = logging.getLogger(__name__)


@dataclass
class TrackReport:
    run_id: int
    status: str
    due: int
    counts: CollectCounts
    polled_video_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "job": "track", "status": self.status, "due": self.due, **self.counts.as_dict()}


def poll_due(*, collector: Collector, now: datetime | None = None, limit: int = 500) -> TrackReport:
    """Fully extract every video with a due poll (once per video, however many users track it)."""
    settings = collector.settings
    now = now or collector.clock()
    with session_scope(settings) as session:
        run_id = job_repo.start_run(session=session, job="track", now=now).id
        rows = tracking.due(session=session, now=now, limit=limit)
        targets = list({row.video_id: row.url for row in rows}.items())
    counts = CollectCounts(targets=len(targets), found=len(targets))
    polled: list[str] = []
    try:
        for i, (video_id, url) in enumerate(targets, start=1):
            entry = Entry(url=url, video_id=video_id, target=url)
            result = collector.source(url).extract(entry, now=now)
            stored = store_extracted(result, collector=collector, now=now, track_new=False)
            count_stored(counts, stored, [])
            if stored.failure is None:
                polled.append(video_id)
            collector.tick("polls", i, len(targets))
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, WorkerStopping | KeyboardInterrupt) else "failed"
        finish_run(settings, run_id, status, counts, collector.clock(), error=f"{type(exc).__name__}: {exc}")
        raise
    status = run_status(counts)
    finish_run(settings, run_id, status, counts, collector.clock())
    return TrackReport(run_id=run_id, status=status, due=len(rows), counts=counts, polled_video_ids=polled)


def _transient_words(failure: Failure) -> str:
    """A failure that may pass, in words first (``failure_words``, as the Track page says it), then its first line
    for whoever runs Miles."""
    detail = failure.message.split(" (caused by ")[0].strip()
    return f"{failure_words(failure.reason)}; nothing was tracked: try again later ({detail})"


def add_tracking(
    url: str, *, collector: Collector, user_email: str | None = None, now: datetime | None = None
) -> tuple[TrackedVideo, bool]:
    """Track ``url`` (a link, or a bare YouTube id) for a user, or for Miles: extract it now for a first snapshot,
    then follow the schedule.

    Returns (row, created). A video already tracked is returned as it is, without reading it again; a video that
    cannot be extracted is not tracked.
    """
    settings = collector.settings
    now = now or collector.clock()
    url = youtube_id_url(url) or url
    source = collector.source(url)
    ref = source.video_ref(url)  # YouTube and TikTok video links: the id and the canonical URL to poll
    video_id, url = ref if ref else (None, url)
    with session_scope(settings) as session:
        user_id = _user_id(session, user_email)
        existing = tracking.find_tracked(session=session, user_id=user_id, video_id=video_id, url=url)
        if existing is not None:
            session.expunge(existing)
            return existing, False
    result = source.extract(Entry(url=url, video_id=video_id, target=url), now=now)
    if result.record is None and result.failure is not None and result.failure.transient:
        raise SourceUnavailable(f"cannot track {url}: {_transient_words(result.failure)}")
    if result.record is None:
        why = result.failure.message if result.failure else f"skipped ({result.skipped})"
        raise InvalidInput(f"cannot track {url}: {why}")
    if ref is None and (followed := source.video_ref(str((result.raw or {}).get("webpage_url") or ""))):
        url = followed[1]  # a short link (vm.tiktok.com) is polled at the address it led to
    stored = store_extracted(result, collector=collector, now=now, track_new=False)
    if stored.failure is not None or stored.video_id is None:
        raise InvalidInput(f"cannot track {url}: {stored.failure}")
    with session_scope(settings) as session:
        row, created = tracking.schedule_video(
            session=session,
            video_id=stored.video_id,
            url=url,
            now=now,
            schedule_h=settings.track_schedule_h,
            user_id=user_id,
        )
        session.expunge(row)
    return row, created


def _user_id(session: Session, email: str | None) -> int | None:
    """The id of the user with ``email`` (None: Miles' own tracking)."""
    return require_user(session=session, email=email).id if email else None
