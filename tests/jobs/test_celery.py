"""A real Celery worker subprocess on the real Redis broker runs a collect job whose results land in the database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.collect.localsite import LocalSite, Route, video_page
from tests.conftest import port_open, skip_or_fail

from miles.config import Settings
from miles.store.db import session_scope
from miles.store.tables import JobLock, JobRun, VideoSnapshot

BROKER = os.environ.get("MILES_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def start_celery_worker(settings: Settings, queue: str, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MILES_DATA_DIR": str(settings.data_dir),
        "MILES_CACHE_DIR": str(settings.cache_dir),
        "MILES_BROKER_URL": BROKER,
        "MILES_COLLECT_DELAY_S": "0",
        "MILES_COLLECT_RETRIES": "0",
        "MILES_ENV": "test",
    }
    env.pop("MILES_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "celery", "-A", "miles.jobs.celery_app", "worker", "-Q", queue, "--pool", "solo"]
    cmd += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"]
    with log_path.open("wb") as log:
        return subprocess.Popen(cmd, env=env, cwd=log_path.parent, stdout=log, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def celery_worker(sqlite_settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    if not port_open("127.0.0.1", 6379):
        skip_or_fail("Redis is not reachable on 127.0.0.1:6379")
    queue = f"miles-test-{uuid.uuid4().hex[:8]}"
    proc = start_celery_worker(sqlite_settings, queue, tmp_path / "worker.log")
    try:
        yield queue, sqlite_settings.model_copy(update={"broker_url": BROKER})
    finally:
        stop(proc)


def test_celery_worker_collects_into_the_database(celery_worker: tuple[str, Settings], tmp_path: Path) -> None:
    from miles.jobs import celery_app

    queue, settings = celery_worker
    celery_app.configure(settings)
    with LocalSite().running() as site:
        url = site.add("/v/celery.html", Route(body=video_page(site.base, title="Made by a worker", views=321)))
        result = celery_app.collect_task.apply_async(args=[[url]], queue=queue)
        try:
            counts = result.get(timeout=90)
        except Exception:
            print((tmp_path / "worker.log").read_text(errors="replace")[-4000:])
            raise
    assert counts["status"] == "ok" and counts["new"] == 1, counts
    with session_scope(settings) as s:
        snap = s.scalar(select(VideoSnapshot).where(VideoSnapshot.video_id == "celery"))
        assert snap is not None and snap.views == 321
        run = s.get(JobRun, counts["run_id"])
        assert run is not None and run.status == "ok"


def test_beat_schedule_comes_from_the_schedule_list(sqlite_settings: Settings) -> None:
    from miles.jobs import celery_app
    from miles.jobs.schedule import SCHEDULE

    app = celery_app.configure(sqlite_settings.model_copy(update={"broker_url": BROKER}))
    beat = app.conf.beat_schedule
    assert set(beat) == {j.name for j in SCHEDULE}
    assert beat["collect_niches"]["schedule"] == 6 * 3600 and beat["poll_tracking"]["schedule"] == 300
    assert all(spec["task"] in app.tasks for spec in beat.values())


def test_a_sigkilled_celery_worker_does_not_block_the_next_one(sqlite_settings: Settings, tmp_path: Path) -> None:
    """A worker killed mid-request leaves its lock and a running request; the next worker takes both over."""
    from tests.jobs.test_kill_worker import slow_feed

    from miles.domain import utcnow
    from miles.jobs import celery_app
    from miles.store.repos import jobs as job_repo

    if not port_open("127.0.0.1", 6379):
        skip_or_fail("Redis is not reachable on 127.0.0.1:6379")
    queue = f"miles-test-{uuid.uuid4().hex[:8]}"
    settings = sqlite_settings.model_copy(update={"broker_url": BROKER})
    celery_app.configure(settings)
    task = celery_app.PERIODIC_TASKS["collect_requested"]
    with LocalSite().running() as site:
        feed, paths = slow_feed(site, 2, delay_s=8.0)
        with session_scope(settings) as s:
            request_id = job_repo.request_collection(session=s, query=feed, now=utcnow()).id
        first = start_celery_worker(settings, queue, tmp_path / "first.log")
        try:
            task.apply_async(queue=queue)
            deadline = time.monotonic() + 90
            while site.hits[paths[0]] == 0:
                assert first.poll() is None and time.monotonic() < deadline, (tmp_path / "first.log").read_text()
                time.sleep(0.2)
            first.kill()
        finally:
            first.kill()
            first.wait(timeout=30)
        with session_scope(settings) as s:
            lock = s.get(JobLock, "collect_requested")
            assert lock is not None and f":{first.pid}:" in lock.holder
            run = s.get(JobRun, request_id)
            assert run is not None and run.status == "running"
        for path in paths:
            site.routes[path] = Route(body=video_page(site.base, title="Fast now", views=7))
        second = start_celery_worker(settings, queue, tmp_path / "second.log")
        try:
            result = task.apply_async(queue=queue).get(timeout=90)
        finally:
            stop(second)
    assert result["status"] == "ok" and result["requeued"] == [request_id] and result["requests"] == [request_id]
    with session_scope(settings) as s:
        run = s.get(JobRun, request_id)
        assert run is not None and run.status == "ok" and run.counts["new"] == 2
        assert s.get(JobLock, "collect_requested") is None
