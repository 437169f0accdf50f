"""A real `miles worker` subprocess, killed mid-job: SIGKILL leaves nothing blocked, SIGTERM stops it cleanly.

The worker collects a queued request from a local site whose pages answer slowly, so the job is caught mid-run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from tests.collect.localsite import LocalSite, Route, rss_feed, video_page

from miles.config import Settings
from miles.domain import utcnow
from miles.jobs.worker import run_once
from miles.store.db import session_scope
from miles.store.repos import jobs as job_repo
from miles.store.tables import JobLock, JobRun

ROOT = Path(__file__).resolve().parents[2]


def slow_feed(site: LocalSite, n: int, delay_s: float) -> tuple[str, list[str]]:
    paths = [f"/v/slow{i}.html" for i in range(n)]
    links = [
        (f"slow{i}", site.add(p, Route(body=video_page(site.base, title=f"Slow {i}", views=100 + i), delay_s=delay_s)))
        for i, p in enumerate(paths)
    ]
    return site.add("/slow.xml", Route(body=rss_feed("Slow Chef", links), content_type="application/rss+xml")), paths


def worker_env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "MILES_DATA_DIR": str(settings.data_dir), "MILES_CACHE_DIR": str(settings.cache_dir),
           "MILES_ENV": "test", "MILES_COLLECT_DELAY_S": "0", "MILES_COLLECT_RETRIES": "0"}  # fmt: skip
    env.pop("MILES_DATABASE_URL", None)
    if settings.database_url:
        env["MILES_DATABASE_URL"] = settings.database_url
    return env


def start_worker(settings: Settings, tmp_path: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / f"{name}.log"
    cmd = [sys.executable, "-m", "miles.cli", "worker", "--once", "--job", "collect_requested"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=worker_env(settings), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return proc, log


def wait_for(check: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert proc.poll() is None, f"worker exited early:\n{log.read_text(errors='replace')[-3000:]}"
        assert time.monotonic() < deadline, f"timed out:\n{log.read_text(errors='replace')[-3000:]}"
        time.sleep(0.2)


def request_state(settings: Settings, request_id: int) -> tuple[str, str | None]:
    with session_scope(settings) as s:
        run = s.get(JobRun, request_id)
        lock = s.get(JobLock, "collect_requested")
        assert run is not None
        return run.status, lock.holder if lock else None


def queue(settings: Settings, query: str) -> int:
    with session_scope(settings) as s:
        return job_repo.request_collection(session=s, query=query, now=utcnow()).id


def test_sigkilled_worker_does_not_block_the_next_run(db_settings: Settings, site: LocalSite, tmp_path: Path) -> None:
    feed, paths = slow_feed(site, 2, delay_s=8.0)
    request_id = queue(db_settings, feed)
    proc, log = start_worker(db_settings, tmp_path, "killed")
    try:
        wait_for(lambda: site.hits[paths[0]] > 0 and request_state(db_settings, request_id)[0] == "running", proc, log)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    status, holder = request_state(db_settings, request_id)
    assert status == "running" and holder is not None and f":{proc.pid}:" in holder  # what the kill left behind
    for path in paths:
        site.routes[path] = Route(body=video_page(site.base, title="Fast now", views=500))
    results = run_once(db_settings.model_copy(update={"collect_delay_s": 0, "collect_retries": 0}),
                       names=["collect_requested"])  # fmt: skip
    result = results["collect_requested"]
    assert result["status"] == "ok", result  # not "skipped": the dead holder's lock was taken over at once
    assert result["requeued"] == [request_id] and result["requests"] == [request_id]
    status, holder = request_state(db_settings, request_id)
    assert status == "ok" and holder is None
    with session_scope(db_settings) as s:
        run = s.get(JobRun, request_id)
        assert run is not None and run.counts["new"] == 2


def test_sigterm_stops_the_worker_cleanly(db_settings: Settings, site: LocalSite, tmp_path: Path) -> None:
    feed, paths = slow_feed(site, 6, delay_s=1.0)
    request_id = queue(db_settings, feed)
    proc, log = start_worker(db_settings, tmp_path, "terminated")
    try:
        wait_for(lambda: site.hits[paths[1]] > 0, proc, log)
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    finally:
        proc.kill()
    output = log.read_text(errors="replace")
    assert rc == 0, output
    assert time.monotonic() - stopped_at < 10
    assert "Traceback" not in output and "failed" not in output, output
    assert '"status": "interrupted"' in output
    assert site.hits[paths[-1]] == 0  # it stopped at the next step instead of finishing the request
    status, holder = request_state(db_settings, request_id)
    assert status == "queued" and holder is None  # the request waits for the next worker; the lock is free
    with session_scope(db_settings) as s:
        runs = list(s.scalars(select(JobRun).where(JobRun.job == "collect_search")))
        assert [r.status for r in runs] == ["interrupted"]


def test_a_lock_whose_heartbeat_stopped_is_taken_over(db_settings: Settings) -> None:
    """A holder on another machine cannot be checked by process id: its lock goes when its heartbeat is too old."""
    from datetime import timedelta

    with session_scope(db_settings) as s:
        assert job_repo.acquire_lock(session=s, name="collect_requested", holder="elsewhere:42:abcd",
                                     now=utcnow() - timedelta(seconds=200), ttl_s=120)  # fmt: skip
    assert run_once(db_settings, names=["collect_requested"])["collect_requested"]["status"] == "ok"
    with session_scope(db_settings) as s:
        assert job_repo.acquire_lock(session=s, name="collect_requested", holder="elsewhere:42:abcd",
                                     now=utcnow(), ttl_s=120)  # fmt: skip
    assert run_once(db_settings, names=["collect_requested"])["collect_requested"]["status"] == "skipped"
