"""Collections queued by the web app and API (which never collect inside a request) run on the worker."""

from __future__ import annotations

from tests.collect.localsite import LocalSite
from tests.conftest import make_settings
from tests.jobs.test_collect import _serve_channel

from miles.config import Settings
from miles.domain import utcnow
from miles.jobs.tasks import collect_requested
from miles.store.db import session_scope
from miles.store.repos import jobs as job_repo
from miles.store.tables import JobRun


def _status(settings: Settings, run_id: int) -> JobRun:
    with session_scope(settings) as session:
        return job_repo.get_run(session=session, run_id=run_id)


def _queue(settings: Settings, query: str) -> int:
    with session_scope(settings) as session:
        run = job_repo.request_collection(session=session, query=query, now=utcnow())
        assert run is not None
        return run.id


def test_queued_request_is_collected_once(sqlite_settings: Settings, site: LocalSite) -> None:
    settings = make_settings(sqlite_settings.data_dir.parent, collect_delay_s=0, collect_retries=0)
    feed = _serve_channel(site)
    first, again = _queue(settings, feed), _queue(settings, feed)
    assert first == again  # the same niche is queued once
    assert _status(settings, first).status == "queued"
    result = collect_requested(settings)
    assert result["requests"] == [first]
    status = _status(settings, first)
    assert status.status in {"ok", "partial"} and status.counts["new"] == 2 and status.counts["run_id"]
    assert collect_requested(settings)["requests"] == []
