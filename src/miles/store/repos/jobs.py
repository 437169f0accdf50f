"""``job_runs`` rows (one per run, with counts) and the ``job_locks`` table that keeps runs from overlapping.

Lock calls run in their own short transaction (the caller commits right away), so other workers see
them at once. Acquiring is one atomic statement: insert the lock, or take it over if it has expired.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from miles.errors import NotFound
from miles.store.tables import JobLock, JobRun

RUN_STATUSES = ("queued", "running", "ok", "partial", "failed", "skipped", "interrupted")
REQUEST_JOB = "collect_request"  # a niche a user asked about that the worker should collect
WAITING = ("queued", "running")


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks for a collection: the signed-in user (None: anonymous) and the key its waiting requests are
    counted under ("user:<id>", "ip:<address>", "cli")."""

    user_id: int | None
    key: str


def start_run(*, session: Session, job: str, now: datetime) -> JobRun:
    run = JobRun(job=job, status="running", started_at=now, counts={})
    session.add(run)
    session.flush()
    return run


def finish_run(
    *, session: Session, run_id: int, status: str, counts: dict[str, Any], now: datetime, error: str | None = None
) -> JobRun:
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown job status {status!r}")
    run = session.get(JobRun, run_id)
    if run is None:
        raise NotFound(f"job run {run_id} does not exist")
    run.status = status
    run.counts = counts
    run.finished_at = now
    run.error = error
    session.flush()
    return run


def request_collection(
    *, session: Session, query: str, now: datetime, requester: Requester | None = None, max_waiting: int | None = None
) -> JobRun | None:
    """Queue a collection of ``query`` for the worker, owned by ``requester``'s user (anonymous requests have no
    user). An identical request of the same user still waiting is reused. None when ``requester`` already has
    ``max_waiting`` requests waiting: a caller cannot fill the worker's queue with one request per topic."""
    user_id = requester.user_id if requester is not None else None
    pending = session.scalars(
        select(JobRun).where(
            JobRun.job == REQUEST_JOB, JobRun.status.in_(WAITING), JobRun.user_id.is_not_distinct_from(user_id)
        )
    )
    for run in pending:
        if run.counts.get("query") == query:
            return run
    if (
        requester is not None
        and max_waiting is not None
        and waiting_requests(session=session, key=requester.key) >= max_waiting
    ):
        return None
    run = JobRun(
        job=REQUEST_JOB,
        status="queued",
        started_at=now,
        counts={"query": query},
        user_id=user_id,
        requester=requester.key if requester is not None else None,
    )
    session.add(run)
    session.flush()
    return run


def waiting_requests(*, session: Session, key: str) -> int:
    """How many collection requests of ``key`` are queued or running."""
    stmt = select(func.count()).where(JobRun.job == REQUEST_JOB, JobRun.status.in_(WAITING), JobRun.requester == key)
    return int(session.scalar(stmt) or 0)


def collected_channel(*, session: Session, query: str) -> str | None:
    """The channel id a finished collection request for ``query`` (a channel URL) found, newest first; how an
    @handle, which the store does not keep, leads to the channel collected for it."""
    stmt = (
        select(JobRun).where(JobRun.job == REQUEST_JOB, JobRun.status.in_(("ok", "partial"))).order_by(JobRun.id.desc())
    )
    for run in session.scalars(stmt):
        if run.counts.get("query") == query and run.counts.get("channel_id"):
            return str(run.counts["channel_id"])
    return None


def queued_requests(*, session: Session, limit: int = 10) -> list[JobRun]:
    stmt = select(JobRun).where(JobRun.job == REQUEST_JOB, JobRun.status == "queued").order_by(JobRun.id).limit(limit)
    return list(session.scalars(stmt))


def requeue_running_requests(*, session: Session) -> list[int]:
    """Put requests left ``running`` back in the queue. Only the holder of the ``collect_requested`` lock runs
    requests, so when the next holder finds one running, the worker that ran it is gone."""
    stmt = select(JobRun).where(JobRun.job == REQUEST_JOB, JobRun.status == "running").order_by(JobRun.id)
    runs = list(session.scalars(stmt))
    for run in runs:
        run.status = "queued"
    session.flush()
    return [run.id for run in runs]


WORKER_LOCK = "worker:"  # + the process's holder id: a running worker's presence, renewed by each scheduled job


def mark_worker_alive(*, session: Session, holder: str, now: datetime, ttl_s: float) -> None:
    """A scheduled job of a long-running worker (``miles worker``, a Celery worker fed by beat) says the worker is
    there until ``now + ttl_s``; one-off commands (``miles track run``, ``miles collect``) never do."""
    name = f"{WORKER_LOCK}{hashlib.sha256(holder.encode()).hexdigest()[:24]}"  # a host name may be long; names are 64
    acquire_lock(session=session, name=name, holder=holder, now=now, ttl_s=ttl_s)


def forget_worker(*, session: Session, holder: str) -> None:
    """A worker that stops says so at once (otherwise its presence lasts until it expires)."""
    mine = JobLock.name.startswith(WORKER_LOCK, autoescape=True) & (JobLock.holder == holder)
    session.execute(delete(JobLock).where(mine))


def worker_last_seen(*, session: Session, now: datetime) -> datetime | None:
    """When a worker last showed signs of life: a worker presence renewed by a scheduled job (``now`` while one is
    live) or a queued request it handled, whichever is later. A run started by a one-off command does not count: a
    ``miles track run`` made every page say a worker would collect the user's niche, and nothing ever did."""
    handled = session.scalar(
        select(func.max(JobRun.finished_at)).where(JobRun.job == REQUEST_JOB, JobRun.finished_at.is_not(None))
    )
    live = select(func.count()).where(JobLock.name.startswith(WORKER_LOCK, autoescape=True), JobLock.expires_at >= now)
    present = now if session.scalar(live) else None
    seen = [t for t in (handled, present) if t is not None]
    return max(seen) if seen else None


def get_run(*, session: Session, run_id: int) -> JobRun:
    run = session.get(JobRun, run_id)
    if run is None:
        raise NotFound(f"job run {run_id} does not exist")
    return run


def recent_runs(*, session: Session, job: str | None = None, limit: int = 20, offset: int = 0) -> list[JobRun]:
    stmt = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit).offset(offset)
    if job is not None:
        stmt = stmt.where(JobRun.job == job)
    return list(session.scalars(stmt))


def acquire_lock(*, session: Session, name: str, holder: str, now: datetime, ttl_s: float) -> bool:
    """Take lock ``name`` for ``holder`` until ``now + ttl_s``; False when someone else holds a live lock."""
    expires = now + timedelta(seconds=ttl_s)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(JobLock).values(name=name, holder=holder, acquired_at=now, expires_at=expires)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": holder, "acquired_at": now, "expires_at": expires},
        where=(JobLock.expires_at < now) | (JobLock.holder == holder),
    )
    return bool(session.execute(stmt.returning(JobLock.name)).first())


def refresh_lock(*, session: Session, name: str, holder: str, now: datetime, ttl_s: float) -> bool:
    """Extend a held lock; False when ``holder`` no longer holds it (it expired and was taken over)."""
    result = session.execute(
        update(JobLock)
        .where(JobLock.name == name, JobLock.holder == holder)
        .values(expires_at=now + timedelta(seconds=ttl_s))
        .returning(JobLock.name)
    )
    return result.first() is not None


def release_lock(*, session: Session, name: str, holder: str) -> None:
    session.execute(delete(JobLock).where(JobLock.name == name, JobLock.holder == holder))


def current_holder(*, session: Session, name: str) -> str | None:
    """Who holds lock ``name``, live or expired."""
    lock = session.get(JobLock, name)
    return lock.holder if lock is not None else None


def lock_holder(*, session: Session, name: str, now: datetime) -> str | None:
    lock = session.get(JobLock, name)
    return lock.holder if lock is not None and lock.expires_at >= now else None
