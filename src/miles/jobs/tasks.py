"""The periodic job functions, shared by ``miles worker`` (APScheduler) and Celery workers.

Each job runs under a database lock (``job_locks``), so two workers on any machines never run the
same job at once; a job that finds its lock held is skipped, not queued.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from miles.collect.ytdlp import YouTubeChannel
from miles.config import Settings
from miles.domain import utcnow
from miles.errors import WorkerStopping
from miles.jobs.collect import Collector, collect
from miles.jobs.track import poll_due
from miles.store.db import session_scope
from miles.store.repos import jobs as job_repo
from miles.store.repos import videos as video_repo

log = logging.getLogger(__name__)
JobResult = dict[str, Any]


STOP = threading.Event()  # set on SIGTERM: every running job ends at its next heartbeat


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_alive(holder: str) -> bool | None:
    """Whether the process behind a lock holder id still runs: known on this host only (None elsewhere)."""
    parts = holder.rsplit(":", 2)  # host:pid:nonce
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return None
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


WORKER_PRESENCE_TTL_S = 600.0  # twice the tracking poll's 5 minutes; each scheduled job renews it
_PROCESS_HOLDER: dict[int, str] = {}


def process_holder() -> str:
    """This process's holder id (one per pid: a forked Celery child is a worker of its own)."""
    return _PROCESS_HOLDER.setdefault(os.getpid(), holder_id())


def mark_worker_alive(settings: Settings) -> None:
    """A scheduled job of a long-running worker marks it present, so pages can say queued niches will be collected;
    a database hiccup here never fails the job."""
    try:
        with session_scope(settings) as session:
            job_repo.mark_worker_alive(session=session, holder=process_holder(), now=utcnow(),
                                       ttl_s=WORKER_PRESENCE_TTL_S)  # fmt: skip
    except Exception:
        log.warning("could not mark the worker present", exc_info=True)


def forget_worker(settings: Settings) -> None:
    try:
        with session_scope(settings) as session:
            job_repo.forget_worker(session=session, holder=process_holder())
    except Exception:
        log.warning("could not mark the worker gone", exc_info=True)


class LockHeld(Exception):
    def __init__(self, name: str, holder: str | None) -> None:
        super().__init__(f"job {name!r} is already running ({holder or 'unknown holder'})")
        self.name = name
        self.holder = holder


def _acquire(name: str, *, settings: Settings, holder: str, ttl_s: float) -> None:
    """Take lock ``name``: free, expired (no heartbeat for ``ttl_s``), or held by a dead process on this host."""
    with session_scope(settings) as session:
        previous = job_repo.current_holder(session=session, name=name)
        if previous is not None and previous != holder and holder_alive(previous) is False:
            log.warning("lock %r was held by %s, which is gone: taking it over", name, previous)
            job_repo.release_lock(session=session, name=name, holder=previous)
        acquired = job_repo.acquire_lock(session=session, name=name, holder=holder, now=utcnow(), ttl_s=ttl_s)
        current = None if acquired else job_repo.lock_holder(session=session, name=name, now=utcnow())
    if not acquired:
        raise LockHeld(name, current)


def _heartbeat_loop(name: str, *, settings: Settings, holder: str, ttl_s: float, done: threading.Event) -> None:
    """Extend the lock every quarter TTL while the job runs, however long one step of it blocks."""
    while not done.wait(ttl_s / 4):
        try:
            with session_scope(settings) as s:
                if not job_repo.refresh_lock(session=s, name=name, holder=holder, now=utcnow(), ttl_s=ttl_s):
                    log.warning("lock %r was lost (expired and taken over); finishing this run anyway", name)
        except Exception:  # a database hiccup: the next beat retries; the lock outlives one missed beat
            log.warning("heartbeat of lock %r failed", name, exc_info=True)


def check_stop() -> None:
    """Raise ``WorkerStopping`` once SIGTERM asked the worker to stop (jobs call this between steps)."""
    if STOP.is_set():
        raise WorkerStopping("the worker is stopping")


@contextmanager
def job_lock(name: str, *, settings: Settings, ttl_s: float, holder: str | None = None) -> Iterator[Callable[[], None]]:
    """Hold the DB lock ``name`` for the block, refreshed by a heartbeat thread; ``LockHeld`` when taken.

    Yields ``check_stop``: jobs call it between steps, so SIGTERM ends them at a safe point."""
    me = holder or holder_id()
    _acquire(name, settings=settings, holder=me, ttl_s=ttl_s)
    done = threading.Event()
    beat = threading.Thread(
        target=_heartbeat_loop, args=(name,), kwargs={"settings": settings, "holder": me, "ttl_s": ttl_s, "done": done},
        name=f"lock-{name}", daemon=True,
    )  # fmt: skip
    beat.start()
    try:
        yield check_stop
    finally:
        done.set()
        beat.join(timeout=10)
        with session_scope(settings) as session:
            job_repo.release_lock(session=session, name=name, holder=me)


def run_locked(
    name: str, fn: Callable[[Callable[[], None]], JobResult], *, settings: Settings, ttl_s: float | None = None
) -> JobResult:
    """Run ``fn(heartbeat)`` under lock ``name``; a held lock gives ``{"status": "skipped", ...}``."""
    try:
        with job_lock(name, settings=settings, ttl_s=ttl_s or settings.job_lock_ttl_s) as heartbeat:
            return fn(heartbeat)
    except LockHeld as exc:
        log.info("skipping %s: %s", name, exc)
        return {"job": name, "status": "skipped", "reason": str(exc)}


REQUEST_LIMIT = 40
QUALITY_LOOKBACK = timedelta(hours=48)


def with_quality(settings: Settings, result: JobResult) -> JobResult:
    """Run the data-quality checks over the videos captured lately (``miles quality``) after a collection."""
    from miles.jobs.quality import check_quality

    report = check_quality(settings, since=utcnow() - QUALITY_LOOKBACK)
    if report.new_flags:
        log.warning("data quality: %d new findings %s; see `miles quality`", report.new_flags, report.found)
    return {**result, "quality": report.as_dict()}


# --- the jobs ------------------------------------------------------------------------------------


def collect_targets(
    targets: Sequence[str],
    *,
    settings: Settings,
    limit: int | None = None,
    refresh_known: bool = False,
    heartbeat: Callable[[], None] | None = None,
) -> JobResult:
    collector = Collector(settings=settings, heartbeat=heartbeat)
    report = collect(list(targets), collector=collector, limit=limit, refresh_known=refresh_known).as_dict()
    return with_quality(settings, report)


def collect_niches(settings: Settings, heartbeat: Callable[[], None] | None = None) -> JobResult:
    """Collect every configured niche (``MILES_NICHES``), deduped across niches."""
    collector = Collector(settings=settings, heartbeat=heartbeat)
    return with_quality(
        settings, collect(settings.niches, collector=collector, job="collect_niches", limit=20).as_dict()
    )


def collect_requested(settings: Settings, heartbeat: Callable[[], None] | None = None) -> JobResult:
    """Collect the niches and channels users asked about (queued by the web app and API, which never collect)."""
    done = []
    with session_scope(settings) as session:
        requeued = job_repo.requeue_running_requests(session=session)
    if requeued:
        log.warning("requests %s were left running by a worker that is gone: queued again", requeued)
    while True:
        if heartbeat is not None:
            heartbeat()
        with session_scope(settings) as session:
            queued = job_repo.queued_requests(session=session, limit=1)
            if not queued:
                break
            request = queued[0]
            request.status = "running"
            request_id, query = request.id, str(request.counts.get("query", ""))
        try:
            run_request(request_id, query, collector=Collector(settings=settings, heartbeat=heartbeat))
        except WorkerStopping:  # stopped mid-request: the next worker collects it again
            with session_scope(settings) as session:
                job_repo.requeue_running_requests(session=session)
            raise
        done.append(request_id)
    result = {"job": "collect_requested", "status": "ok", "requests": done, "requeued": requeued}
    return with_quality(settings, result) if done else result


def run_request(request_id: int, query: str, *, collector: Collector) -> JobResult:
    """Collect one requested niche (a search) or channel (its URL) and finish the request's row with the counts;
    for a channel, the counts name the channel id found, so its @handle resolves to it afterwards."""
    channel = YouTubeChannel.matches(query)
    try:
        report = collect([query], collector=collector, job="collect_channel" if channel else "collect_search",
                         limit=REQUEST_LIMIT)  # fmt: skip
        status, error = report.status, None
        counts = {"query": query, "run_id": report.run_id, **report.counts.as_dict()}
        if channel:
            counts["channel_id"] = _channel_of(collector.settings, report.listed_video_ids)
    except Exception as exc:  # recorded on the request; the worker goes on with the next one
        status, counts, error = "failed", {"query": query}, f"{type(exc).__name__}: {exc}"
    with session_scope(collector.settings) as session:
        job_repo.finish_run(
            session=session, run_id=request_id, status=status, counts=counts, now=collector.clock(), error=error
        )
    return {"id": request_id, "status": status, "error": error, **counts}


def _channel_of(settings: Settings, video_ids: Sequence[str]) -> str | None:
    """The channel most of these videos belong to (a channel's listing may include a few collaborations)."""
    with session_scope(settings) as session:
        owners = video_repo.video_channels(session=session, video_ids=video_ids)
    return Counter(c for c in owners if c).most_common(1)[0][0] if any(owners) else None


def poll_tracking(settings: Settings, heartbeat: Callable[[], None] | None = None) -> JobResult:
    """Poll every tracked video that is due."""
    report = poll_due(collector=Collector(settings=settings, heartbeat=heartbeat))
    return with_quality(settings, report.as_dict()) if report.counts.extracted else report.as_dict()


def grade(settings: Settings, heartbeat: Callable[[], None] | None = None) -> JobResult:
    """Grade stored predictions against the views that arrived since (live accuracy per model version)."""
    from miles.jobs.grade import grade_predictions

    return {"job": "grade", "status": "ok", **grade_predictions(settings=settings, heartbeat=heartbeat)}


def retrain(settings: Settings, heartbeat: Callable[[], None] | None = None) -> JobResult:
    """Train a challenger on the store and promote it only when it is not worse than the champion (weekly)."""
    from miles.jobs.retrain import last_retrain
    from miles.jobs.retrain import retrain as run_retrain

    last = last_retrain(settings)
    if last is not None and utcnow() - last < timedelta(hours=settings.retrain_interval_h):
        return {"job": "retrain", "status": "skipped", "reason": f"the last retrain ran at {last:%Y-%m-%d %H:%M} UTC"}
    return run_retrain(settings, heartbeat=heartbeat)


def score_new(settings: Settings, heartbeat: Callable[[], None] | None = None) -> JobResult:
    """Score newly collected videos with the served model (stored for later accuracy checks)."""
    from miles.jobs.score import score_new_videos

    return {"job": "score_new", "status": "ok", **score_new_videos(settings=settings, heartbeat=heartbeat)}
