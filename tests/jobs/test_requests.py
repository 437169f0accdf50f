"""Collections queued by the web app and API (which never collect inside a request) run on the worker."""

from __future__ import annotations

from tests.collect.localsite import LocalSite
from tests.conftest import make_settings
from tests.jobs.test_collect import _serve_channel

from miles.config import Settings
from miles.domain import utcnow
from miles.jobs.tasks import collect_requested
from miles.serve.services.ideas import collection_status
from miles.store.db import session_scope
from miles.store.repos import jobs as job_repo


def test_queued_request_is_collected_once(sqlite_settings: Settings, site: LocalSite) -> None:
    settings = make_settings(sqlite_settings.data_dir.parent, collect_delay_s=0, collect_retries=0)
    feed = _serve_channel(site)
    with session_scope(settings) as session:
        first = job_repo.request_collection(session=session, query=feed, now=utcnow()).id
        again = job_repo.request_collection(session=session, query=feed, now=utcnow()).id
    assert first == again  # the same niche is queued once
    assert collection_status(settings=settings, run_id=first)["status"] == "queued"
    result = collect_requested(settings)
    assert result["requests"] == [first]
    status = collection_status(settings=settings, run_id=first)
    assert status["status"] in {"ok", "partial"} and status["counts"]["new"] == 2 and status["counts"]["run_id"]
    assert collect_requested(settings)["requests"] == []
