"""The collector stage: sources list and extract, this module writes (DESIGN.md §4).

A run lists every target flat, dedupes entries across targets, fully extracts only new videos and
tracked videos that are due (or every entry with ``refresh_known``), archives each raw payload,
ingests the snapshots through the one ingest path, schedules re-polls for new videos, fetches
their thumbnails, and records a ``job_runs`` row with counts. Each video is its own transaction,
so one bad video or a crash never undoes the rest, and a per-video error never stops the run.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from miles.collect.base import Entry, Extracted, Politeness, SourceError
from miles.collect.files import validate
from miles.collect.registry import source_for
from miles.collect.ytdlp import YdlFactory
from miles.config import Settings
from miles.domain import utcnow
from miles.errors import FetchRefused, MilesError, SourceUnavailable, WorkerStopping
from miles.net import FetchPolicy, fetch_image
from miles.store import raw as raw_archive
from miles.store.db import session_scope
from miles.store.repos import jobs as job_repo
from miles.store.repos import thumbnails as thumb_repo
from miles.store.repos import tracking
from miles.store.repos.snapshots import ingest_frame
from miles.store.tables import Video

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
Progress = Callable[[str, int, int], None]  # (stage, done, total)


def ytdlp_version() -> str:
    from yt_dlp.version import __version__

    return str(__version__)


@dataclass
class CollectCounts:
    targets: int = 0
    found: int = 0
    duplicates: int = 0
    extracted: int = 0
    new: int = 0
    updated: int = 0
    known_not_due: int = 0
    snapshots: int = 0
    thumbnails_stored: int = 0
    thumbnails_embedded: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    thumbnails_failed: Counter[str] = field(default_factory=Counter)
    by_target: Counter[str] = field(default_factory=Counter)  # entries each target listed (fresh niche captures)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ytdlp_version": ytdlp_version(),  # a change between runs is a data-quality flag (`miles quality`)
            "by_target": dict(self.by_target),
            "targets": self.targets,
            "found": self.found,
            "duplicates": self.duplicates,
            "extracted": self.extracted,
            "new": self.new,
            "updated": self.updated,
            "known_not_due": self.known_not_due,
            "snapshots": self.snapshots,
            "failed": dict(self.failed),
            "skipped": dict(self.skipped),
            "thumbnails_stored": self.thumbnails_stored,
            "thumbnails_embedded": self.thumbnails_embedded,
            "thumbnails_failed": dict(self.thumbnails_failed),
        }


@dataclass
class CollectReport:
    run_id: int
    job: str
    status: str
    counts: CollectCounts
    new_video_ids: list[str] = field(default_factory=list)
    listed_video_ids: list[str] = field(default_factory=list)  # every video the targets listed, new or known

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "job": self.job, "status": self.status, **self.counts.as_dict()}


@dataclass
class Collector:
    """Shared options of a collection or tracking run."""

    settings: Settings
    clock: Clock = utcnow
    politeness: Politeness | None = None
    ydl_factory: YdlFactory | None = None
    fetch_policy: FetchPolicy | None = None
    progress: Progress | None = None
    heartbeat: Callable[[], None] | None = None
    embed_thumbnails: bool = True  # EfficientNet embeddings of new thumbnails (builds the ONNX encoder once)

    def __post_init__(self) -> None:
        if self.politeness is None:
            self.politeness = Politeness(delay_s=self.settings.collect_delay_s, retries=self.settings.collect_retries)

    def source(self, target: str) -> Any:
        return source_for(target, settings=self.settings, politeness=self.politeness, ydl_factory=self.ydl_factory)

    def tick(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)
        if self.heartbeat is not None:
            self.heartbeat()


def records_frame(records: Sequence[dict[str, Any]], *, where: str) -> tuple[pd.DataFrame, list[str]]:
    """Interchange-format frame of mapped records through the same validation as file imports."""
    rows = [{**r, "_row": r["video_id"]} for r in records]
    result = validate(pd.DataFrame.from_records(rows), Path(where))
    return result.frame.drop(columns=["_row"]), [r.reason for r in result.rejected]


@dataclass(frozen=True)
class Stored:
    video_id: str | None
    new: bool = False
    snapshot_added: bool = False
    failure: str | None = None
    transient: bool = False


def store_extracted(result: Extracted, *, collector: Collector, now: datetime, track_new: bool) -> Stored:
    """Archive, ingest and schedule one extracted video in one transaction; tracking rows due are marked polled."""
    settings = collector.settings
    schedule = settings.track_schedule_h
    with session_scope(settings) as session:
        if result.raw is not None:
            raw_archive.archive(session=session, source="ytdlp", key=result.entry.key, payload=result.raw)
        video_id = result.video_id
        if result.record is None:
            failure = result.failure.reason if result.failure else f"skipped: {result.skipped}"
            transient = bool(result.failure and result.failure.transient)
            if video_id and result.failure is not None:
                message = result.failure.message
                tracking.mark_polled(session=session, video_id=video_id, now=now, schedule_h=schedule, error=message,
                                     transient=transient, reason=result.failure.reason)  # fmt: skip
            return Stored(video_id=video_id, failure=failure, transient=transient)
        frame, rejected = records_frame([result.record], where=f"ytdlp {result.entry.url}")
        if rejected:
            return Stored(video_id=video_id, failure=f"rejected: {rejected[0]}")
        counts = ingest_frame(session=session, frame=frame)
        assert video_id is not None
        if counts.videos_new and track_new:
            tracking.schedule_video(
                session=session, video_id=video_id, url=result.entry.url, now=now, schedule_h=schedule
            )
        tracking.mark_polled(session=session, video_id=video_id, now=now, schedule_h=schedule)
        return Stored(video_id=video_id, new=bool(counts.videos_new), snapshot_added=bool(counts.snapshots_added))


def _list_targets(
    targets: Sequence[str], collector: Collector, counts: CollectCounts, limit: int | None
) -> list[tuple[Any, Entry]]:
    entries: list[tuple[Any, Entry]] = []
    seen: set[str] = set()
    for i, target in enumerate(targets, start=1):
        source = collector.source(target)
        try:
            listing = source.list_entries(target, limit=limit)
        except SourceError as exc:
            counts.failed[f"listing: {exc.failure.reason}"] += 1
            log.warning("listing %r failed: %s", target, exc.failure.message)
            continue
        finally:
            collector.tick("listing", i, len(targets))
        if listing.raw is not None:
            with session_scope(collector.settings) as session:
                raw_archive.archive(session=session, source="ytdlp", key=f"listing:{target}", payload=listing.raw)
        counts.skipped.update(listing.skipped)
        for entry in listing.entries:
            counts.found += 1
            counts.by_target[target] += 1
            if entry.key in seen:
                counts.duplicates += 1
                continue
            seen.add(entry.key)
            entries.append((source, entry))
    return entries


def _select_for_extraction(
    entries: list[tuple[Any, Entry]], collector: Collector, counts: CollectCounts, refresh_known: bool
) -> list[tuple[Any, Entry]]:
    """New videos and due tracked videos (everything with ``refresh_known``); entries without an id always."""
    urls = [e.url for _, e in entries if not e.video_id]
    with session_scope(collector.settings) as session:
        # pages without an id in their listing (feeds) are known by the URL Miles tracks them under
        by_url = tracking.video_ids_for_urls(session=session, urls=urls)
        ids = [e.video_id or by_url.get(e.url) for _, e in entries]
        known_ids = [i for i in ids if i]
        known = set(session.scalars(select(Video.id).where(Video.id.in_(known_ids)))) if known_ids else set()
        due = tracking.due_video_ids(session=session, now=collector.clock(), video_ids=known_ids)
    chosen = []
    for (source, entry), video_id in zip(entries, ids, strict=True):
        if refresh_known or video_id is None or video_id not in known or video_id in due:
            chosen.append((source, entry))
        else:
            counts.known_not_due += 1
    return chosen


def collect(
    targets: Sequence[str],
    *,
    collector: Collector,
    job: str = "collect",
    limit: int | None = None,
    refresh_known: bool = False,
    track_new: bool = True,
    thumbnails: bool = True,
) -> CollectReport:
    """Run one collection over ``targets`` (search queries and/or URLs) and record it in ``job_runs``."""
    settings = collector.settings
    with session_scope(settings) as session:
        run_id = job_repo.start_run(session=session, job=job, now=collector.clock()).id
    counts = CollectCounts(targets=len(targets))
    new_ids: list[str] = []
    try:
        entries = _list_targets(targets, collector, counts, limit)
        chosen = _select_for_extraction(entries, collector, counts, refresh_known)
        for i, (source, entry) in enumerate(chosen, start=1):
            now = collector.clock()
            stored = store_extracted(source.extract(entry, now=now), collector=collector, now=now, track_new=track_new)
            count_stored(counts, stored, new_ids)
            collector.tick("videos", i, len(chosen))
        if thumbnails and new_ids:
            fetch_thumbnails(new_ids, collector=collector, counts=counts)
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, WorkerStopping | KeyboardInterrupt) else "failed"
        finish_run(settings, run_id, status, counts, collector.clock(), error=f"{type(exc).__name__}: {exc}")
        raise
    status = run_status(counts)
    finish_run(settings, run_id, status, counts, collector.clock())
    listed = [e.video_id for _, e in entries if e.video_id]
    return CollectReport(run_id=run_id, job=job, status=status, counts=counts, new_video_ids=new_ids,
                         listed_video_ids=listed)  # fmt: skip


def count_stored(counts: CollectCounts, stored: Stored, new_ids: list[str]) -> None:
    if stored.failure is not None:
        bucket = counts.skipped if stored.failure.startswith("skipped: ") else counts.failed
        bucket[stored.failure.removeprefix("skipped: ")] += 1
        return
    counts.extracted += 1
    counts.snapshots += int(stored.snapshot_added)
    if stored.new:
        counts.new += 1
        new_ids.append(str(stored.video_id))
    else:
        counts.updated += 1


def run_status(counts: CollectCounts) -> str:
    if not counts.failed:
        return "ok"
    return "partial" if counts.extracted else "failed"


def finish_run(
    settings: Settings, run_id: int, status: str, counts: CollectCounts, now: datetime, error: str | None = None
) -> None:
    """Record how a run ended; a run that failed without an exception says why in ``error`` (its failed reads by
    kind), which was null while the reason sat in the counts alone."""
    if error is None and status == "failed" and counts.failed:
        reads = ", ".join(f"{kind} ×{n}" for kind, n in sorted(counts.failed.items()))
        error = f"nothing could be read ({reads})"
    with session_scope(settings) as session:
        job_repo.finish_run(
            session=session, run_id=run_id, status=status, counts=counts.as_dict(), now=now, error=error
        )


def fetch_thumbnails(video_ids: Sequence[str], *, collector: Collector, counts: CollectCounts) -> None:
    """Fetch missing thumbnails of ``video_ids`` through the safe fetcher; store each once by SHA-256."""
    from miles.model.images import image_stats

    settings = collector.settings
    policy = collector.fetch_policy or FetchPolicy.from_settings(settings)
    with session_scope(settings) as session:
        missing = thumb_repo.videos_missing_thumbnail(session=session, video_ids=list(video_ids))
    fetched: list[bytes] = []
    for i, item in enumerate(missing, start=1):
        collector.tick("thumbnails", i, len(missing))
        try:
            image, img = fetch_image(item.url, policy=policy)
        except FetchRefused as exc:
            counts.thumbnails_failed["refused"] += 1
            log.info("thumbnail of %s refused: %s", item.video_id, exc.message)
            continue
        except SourceUnavailable as exc:
            counts.thumbnails_failed["unavailable"] += 1
            log.info("thumbnail of %s unavailable: %s", item.video_id, exc.message)
            continue
        stats = image_stats(img)
        digest = hashlib.sha256(image.content).hexdigest()
        with session_scope(settings) as session:
            thumb_repo.store_thumbnail(
                session=session,
                content_hash=digest,
                url=image.url,
                width=image.width,
                height=image.height,
                stats={**stats, "format": image.format, "bytes": len(image.content)},
                image=image.content,
            )
            thumb_repo.link_video(session=session, video_id=item.video_id, content_hash=digest)
        counts.thumbnails_stored += 1
        fetched.append(image.content)
    if fetched and collector.embed_thumbnails:
        embed_thumbnails(fetched, settings=settings, counts=counts)


def embed_thumbnails(blobs: list[bytes], *, settings: Settings, counts: CollectCounts) -> None:
    """EfficientNet-Lite0 embeddings into the embeddings cache (keyed by the image's SHA-256, like `thumbnails`)."""
    from miles.model.encoders import ImageEncoder
    from miles.store.repos.embeddings import DbEmbeddingCache

    try:
        encoder = ImageEncoder.load(
            settings.cache_dir / "encoders", cache=DbEmbeddingCache(lambda: session_scope(settings))
        )
        encoder.encode_bytes(blobs, max_pixels=settings.max_image_pixels, max_bytes=settings.max_image_bytes)
    except MilesError as exc:  # the stored thumbnails and statistics stand; embeddings can be computed later
        counts.thumbnails_failed["embedding unavailable"] += len(blobs)
        log.warning("thumbnail embeddings skipped: %s", exc.message)
        return
    counts.thumbnails_embedded += len(blobs)
