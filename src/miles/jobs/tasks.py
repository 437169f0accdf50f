"""The periodic job functions, shared by ``miles worker`` (APScheduler) and Celery workers.

Each job runs under a database lock (``job_locks``), so two workers on any machines never run the
same job at once; a job that finds its lock held is skipped, not queued.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from miles.config import Settings
from miles.domain import utcnow
from miles.jobs.collect import Collector, collect
from miles.jobs.track import poll_due
from miles.store.db import session_scope
from miles.store.repos import jobs as job_repo

log = logging.getLogger(__name__)
JobResult = dict[str, Any]


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LockHeld(Exception):
    def __init__(self, name: str, holder: str | None) -> None:
        super().__init__(f"job {name!r} is already running ({holder or 'unknown holder'})")
        self.name = name
        self.holder = holder


@contextmanager
def job_lock(name: str, *, settings: Settings, ttl_s: float, holder: str | None = None) -> Iterator[Callable[[], None]]:
    """Hold the DB lock ``name`` for the block; yields a heartbeat that extends it. ``LockHeld`` when taken."""
    me = holder or holder_id()
    with session_scope(settings) as session:
        acquired = job_repo.acquire_lock(session=session, name=name, holder=me, now=utcnow(), ttl_s=ttl_s)
        current = None if acquired else job_repo.lock_holder(session=session, name=name, now=utcnow())
    if not acquired:
        raise LockHeld(name, current)
    last = [utcnow()]

    def heartbeat() -> None:
        now = utcnow()
        if now - last[0] < timedelta(seconds=min(60.0, ttl_s / 4)):
            return
        last[0] = now
        with session_scope(settings) as s:
            if not job_repo.refresh_lock(session=s, name=name, holder=me, now=now, ttl_s=ttl_s):
                log.warning("lock %r was lost (expired and taken over); finishing this run anyway", name)

    try:
        yield heartbeat
    finally:
        with session_scope(settings) as session:
            job_repo.release_lock(session=session, name=name, holder=me)


def run_locked(
    name: str, fn: Callable[[Callable[[], None]], JobResult], *, settings: Settings, ttl_s: float
) -> JobResult:
    """Run ``fn(heartbeat)`` under lock ``name``; a held lock gives ``{"status": "skipped", ...}``."""
    try:
        with job_lock(name, settings=settings, ttl_s=ttl_s) as heartbeat:
            return fn(heartbeat)
    except LockHeld as exc:
        log.info("skipping %s: %s", name, exc)
        return {"job": name, "status": "skipped", "reason": str(exc)}


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
    return collect(list(targets), collector=collector, limit=limit, refresh_known=refresh_known).as_dict()


def collect_niches(settings: Settings, heartbeat: Callable[[], None] | None = None) -> JobResult:
    """Collect every configured niche (``MILES_NICHES``), deduped across niches."""
    collector = Collector(settings=settings, heartbeat=heartbeat)
    return collect(settings.niches, collector=collector, job="collect_niches", limit=20).as_dict()


def poll_tracking(settings: Settings, heartbeat: Callable[[], None] | None = None) -> JobResult:
    """Poll every tracked video that is due."""
    return poll_due(collector=Collector(settings=settings, heartbeat=heartbeat)).as_dict()


SCORE_HOOK = ("miles.model.predict", "score_new_videos")


def score_new(settings: Settings, heartbeat: Callable[[], None] | None = None) -> JobResult:
    """Score newly collected videos when a predictor is installed; otherwise skip with a log line."""
    module_name, attr = SCORE_HOOK
    hook = None
    if importlib.util.find_spec(module_name) is not None:
        hook = getattr(importlib.import_module(module_name), attr, None)
    if not callable(hook):
        log.info("score_new: skipped, no predictor hook %s.%s is available yet", module_name, attr)
        return {"job": "score_new", "status": "skipped", "reason": f"no {module_name}.{attr}"}
    result = hook(settings=settings)
    return {"job": "score_new", "status": "ok", **(result if isinstance(result, dict) else {"result": result})}
