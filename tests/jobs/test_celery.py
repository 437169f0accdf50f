"""A real Celery worker subprocess on the real Redis broker runs a collect job whose results land in the database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.collect.localsite import LocalSite, Route, video_page
from tests.conftest import port_open, skip_or_fail

from miles.config import Settings
from miles.store.db import session_scope
from miles.store.tables import JobRun, VideoSnapshot

BROKER = os.environ.get("MILES_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def celery_worker(sqlite_settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    if not port_open("127.0.0.1", 6379):
        skip_or_fail("Redis is not reachable on 127.0.0.1:6379")
    queue = f"miles-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "MILES_DATA_DIR": str(sqlite_settings.data_dir),
        "MILES_CACHE_DIR": str(sqlite_settings.cache_dir),
        "MILES_BROKER_URL": BROKER,
        "MILES_COLLECT_DELAY_S": "0",
        "MILES_ENV": "test",
    }
    env.pop("MILES_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "celery", "-A", "miles.jobs.celery_app", "worker", "-Q", queue, "--pool", "solo"]
    cmd += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"]
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield queue, sqlite_settings.model_copy(update={"broker_url": BROKER})
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


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
