"""``miles worker``: run the periodic jobs in-process with APScheduler (one machine, no broker needed).

Every job runs under its database lock, so several workers (or Celery beat alongside) never run the
same job twice at once. Jobs are coalesced: a worker that was asleep runs a missed job once, not N times.
SIGTERM stops the worker cleanly: a running job ends at its next step, releases its lock and leaves its
unfinished collection request queued; a SIGKILLed worker's lock is taken over by the next one.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from miles.config import Settings
from miles.domain import utcnow
from miles.errors import WorkerStopping
from miles.jobs import tasks
from miles.jobs.schedule import SCHEDULE, PeriodicJob, job_named
from miles.jobs.tasks import JobResult

log = logging.getLogger(__name__)


def selected_jobs(names: Sequence[str] | None) -> list[PeriodicJob]:
    return [job_named(n) for n in names] if names else list(SCHEDULE)


def run_once(
    settings: Settings, *, names: Sequence[str] | None = None, on_result: Callable[[str, JobResult], None] | None = None
) -> dict[str, JobResult]:
    """Run each selected job once, in schedule order (``miles worker --once``)."""
    results: dict[str, JobResult] = {}
    with stop_on_sigterm():
        for job in selected_jobs(names):
            if tasks.STOP.is_set():
                break
            results[job.name] = _safe_run(job, settings)
            if on_result is not None:
                on_result(job.name, results[job.name])
    return results


@contextmanager
def stop_on_sigterm(on_stop: Callable[[], None] | None = None) -> Iterator[None]:
    """While the block runs, SIGTERM asks running jobs to stop at their next step (and calls ``on_stop``)."""
    tasks.STOP.clear()
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def handle(_signum: int, _frame: object) -> None:
        log.info("SIGTERM: stopping after the current step")
        tasks.STOP.set()
        if on_stop is not None:
            on_stop()

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _safe_run(job: PeriodicJob, settings: Settings) -> JobResult:
    """A job's failure is logged and recorded; it never stops the worker."""
    try:
        result = job.run(settings)
    except WorkerStopping:
        log.info("job %s stopped: the worker is shutting down", job.name)
        return {"job": job.name, "status": "interrupted"}
    except Exception as exc:
        log.exception("job %s failed", job.name)
        return {"job": job.name, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    log.info("job %s: %s", job.name, result)
    return result


def _scheduled_run(job: PeriodicJob, settings: Settings) -> JobResult:
    """A job the running worker's scheduler started: it also renews the worker's presence (a one-off run does not)."""
    tasks.mark_worker_alive(settings)
    return _safe_run(job, settings)


def build_scheduler(settings: Settings, *, names: Sequence[str] | None = None, first_run_now: bool = True) -> Any:
    """An APScheduler ``BlockingScheduler`` with one interval job per selected ``PeriodicJob``."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="UTC")
    start = utcnow() + timedelta(seconds=1)
    for job in selected_jobs(names):
        scheduler.add_job(
            _scheduled_run,
            "interval",
            args=(job, settings),
            seconds=job.every(settings).total_seconds(),
            id=job.name,
            name=job.description,
            next_run_time=start if first_run_now else None,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(job.every(settings).total_seconds()),
        )
        log.info("scheduled %s every %s", job.name, job.every(settings))
    return scheduler


def run_forever(settings: Settings, *, names: Sequence[str] | None = None) -> None:
    """Block and run the selected jobs on their intervals until interrupted (Ctrl-C / SIGTERM)."""
    scheduler = build_scheduler(settings, names=names)
    with stop_on_sigterm(lambda: scheduler.shutdown(wait=False)):
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            tasks.STOP.set()
        finally:
            tasks.forget_worker(settings)
        log.info("worker stopping")
