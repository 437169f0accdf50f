"""Collection requests as the API and pages see them: queued per caller, capped, and shown only to their owner.

A request belongs to the signed-in user who queued it; an anonymous caller gets an owner token instead (an HMAC of
the run id under ``MILES_SECRET_KEY``, so nothing extra is stored) and shows it to read the status. Anyone else
gets the same 404 as for a run that does not exist, so run ids (which are sequential) reveal nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from miles.config import Settings
from miles.domain import utcnow
from miles.errors import NotFound
from miles.store.db import session_scope
from miles.store.repos import jobs
from miles.store.repos.jobs import Requester
from miles.store.tables import JobRun

_TOKEN_CONTEXT = b"miles.collection-owner.v1:"
WORKER_SEEN_S = 600  # twice the tracking poll's interval


@dataclass(frozen=True, slots=True)
class Queued:
    """What queueing gave: the run and (anonymous callers) its owner token, or why nothing was queued."""

    run_id: int | None
    token: str | None = None
    refused: str | None = None

    def status_url(self) -> str:
        query = f"?token={self.token}" if self.token else ""
        return f"/api/v1/collections/{self.run_id}{query}"


def worker_active(session: Session, *, now: datetime | None = None) -> bool:
    """A worker counts as running while its presence is live (each job its scheduler starts renews it for 10
    minutes; the tracking poll runs every 5) or when it handled a queued request in the last ``WORKER_SEEN_S``."""
    now = now or utcnow()
    seen = jobs.worker_last_seen(session=session, now=now)
    return seen is not None and seen >= now - timedelta(seconds=WORKER_SEEN_S)


def worker_running(settings: Settings, *, now: datetime | None = None) -> bool:
    """``worker_active`` in a session of its own."""
    with session_scope(settings) as session:
        return worker_active(session, now=now)


def owner_token(settings: Settings, run_id: int) -> str:
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, _TOKEN_CONTEXT + str(run_id).encode(), hashlib.sha256).hexdigest()[:32]


def queue(*, session: Session, settings: Settings, query: str, requester: Requester) -> Queued:
    """Queue ``query`` for the worker within the caller's cap (``MILES_MAX_QUEUED_COLLECTIONS``)."""
    cap = settings.max_queued_collections
    run = jobs.request_collection(session=session, query=query, now=utcnow(), requester=requester, max_waiting=cap)
    if run is None:
        return Queued(
            None,
            refused=f"not queued for collection: you already have {cap} collections waiting for the worker, the most "
            "this Miles takes from one caller; ask again once they have finished",
        )
    token = owner_token(settings, run.id) if requester.user_id is None else None
    return Queued(run.id, token)


def queue_in_own_transaction(settings: Settings, query: str, requester: Requester) -> Queued:
    with session_scope(settings) as session:
        return queue(session=session, settings=settings, query=query, requester=requester)


def collection_status(*, settings: Settings, run_id: int, user_id: int | None, token: str | None) -> dict[str, Any]:
    """The run, if the caller owns it: its user, or anyone showing its owner token. Otherwise NotFound."""
    with session_scope(settings) as session:
        run = session.get(JobRun, run_id)
        owner = (
            run is not None
            and run.job == jobs.REQUEST_JOB
            and (
                (user_id is not None and run.user_id == user_id)
                or (token is not None and hmac.compare_digest(token.encode(), owner_token(settings, run_id).encode()))
            )
        )
        if run is None or not owner:
            raise NotFound(f"collection {run_id} does not exist or is not yours (anonymous callers: pass ?token=)")
        return {
            "id": run.id,
            "job": run.job,
            "status": run.status,
            "counts": run.counts,
            "error": run.error,
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        }
