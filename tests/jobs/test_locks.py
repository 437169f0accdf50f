"""The job_locks table keeps two workers from running the same job at once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from tests.jobs.conftest import T0

from miles.config import Settings
from miles.jobs.tasks import run_locked
from miles.store.db import session_scope
from miles.store.repos import jobs as job_repo


def test_overlapping_runs_are_skipped(db_settings: Settings) -> None:
    started, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def slow_job(_beat: Any) -> dict[str, Any]:
        started.set()
        assert release.wait(timeout=30)
        return {"status": "ok"}

    first = threading.Thread(
        target=lambda: results.update(a=run_locked("collect", slow_job, settings=db_settings, ttl_s=600))
    )
    first.start()
    assert started.wait(timeout=30)
    second_ran: list[bool] = []
    results["b"] = run_locked("collect", lambda _b: second_ran.append(True) or {}, settings=db_settings, ttl_s=600)
    other_job = run_locked("track", lambda _b: {"status": "ok"}, settings=db_settings, ttl_s=600)
    release.set()
    first.join(timeout=30)
    assert results["a"] == {"status": "ok"}
    assert results["b"]["status"] == "skipped" and "already running" in results["b"]["reason"]
    assert second_ran == []
    assert other_job == {"status": "ok"}  # different jobs do not block each other
    assert run_locked("collect", lambda _b: {"status": "ok"}, settings=db_settings, ttl_s=600) == {"status": "ok"}


def test_many_threads_race_for_one_lock(db_settings: Settings) -> None:
    barrier = threading.Barrier(6)
    winners: list[int] = []

    def contend(i: int) -> None:
        barrier.wait(timeout=30)
        with session_scope(db_settings) as s:
            if job_repo.acquire_lock(session=s, name="race", holder=f"w{i}", now=T0, ttl_s=60):
                winners.append(i)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(winners) == 1


def test_expired_lock_is_taken_over_and_refresh_fails_for_the_loser(db_settings: Settings) -> None:
    with session_scope(db_settings) as s:
        assert job_repo.acquire_lock(session=s, name="j", holder="a", now=T0, ttl_s=60)
    with session_scope(db_settings) as s:
        assert not job_repo.acquire_lock(session=s, name="j", holder="b", now=T0 + timedelta(seconds=59), ttl_s=60)
        assert job_repo.lock_holder(session=s, name="j", now=T0 + timedelta(seconds=59)) == "a"
    with session_scope(db_settings) as s:  # a's worker died: its lock expires and b takes over
        assert job_repo.acquire_lock(session=s, name="j", holder="b", now=T0 + timedelta(seconds=61), ttl_s=60)
    with session_scope(db_settings) as s:
        assert not job_repo.refresh_lock(session=s, name="j", holder="a", now=T0 + timedelta(seconds=62), ttl_s=60)
        job_repo.release_lock(session=s, name="j", holder="a")  # releasing someone else's lock does nothing
        assert job_repo.lock_holder(session=s, name="j", now=T0 + timedelta(seconds=62)) == "b"
