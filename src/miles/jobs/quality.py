"""Data-quality gates (``miles quality``, and after every collection job).

yt-dlp has returned 0 views for every video for weeks at a time, and the count it reports for a Short may not
be the public one, so Miles checks what it stored: counts that drop to 0 or go backwards, fields that vanish,
duplicate captures, a change of view metric inside one trajectory, captures before the publish time stored now,
niches with no fresh capture and a change of yt-dlp version between collection runs. Snapshots whose counts are
in doubt are quarantined: kept (raw data is never changed) but left out of training and grading. A vanished field
and a capture before the publish time are listed without quarantine: the view count itself is not in doubt.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from miles.config import Settings
from miles.domain import utcnow
from miles.store.db import session_scope
from miles.store.repos import jobs as job_repo
from miles.store.repos import quality as quality_repo
from miles.store.repos.quality import Finding

DUPLICATE_WINDOW = pd.Timedelta(minutes=5)  # two captures of one video closer than this are one capture twice
BATCH_MIN = 5  # a batch (one source, one hour) of at least this many captures, all at 0 views, is a broken run
RUNS_CHECKED = 500


@dataclass
class QualityReport:
    checked_snapshots: int
    new_flags: int
    found: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"checked_snapshots": self.checked_snapshots, "new_flags": self.new_flags, "found": self.found}


def check_quality(settings: Settings, *, since: datetime | None = None, now: datetime | None = None) -> QualityReport:
    """Run every check (trajectories of videos captured since ``since``, or all) and store new findings."""
    now = now or utcnow()
    with session_scope(settings) as session:
        snaps = quality_repo.snapshot_counts(session=session, since=since)
        runs = job_repo.recent_runs(session=session, limit=RUNS_CHECKED)
        run_rows = [(r.id, r.job, r.started_at, r.finished_at, r.status, dict(r.counts)) for r in runs]
    findings = [*trajectory_findings(snaps), *zero_batch_findings(snaps)]
    findings += version_findings(run_rows)
    findings += stale_niche_findings(run_rows, settings.niches, now=now, stale_after_h=settings.quality_stale_h)
    with session_scope(settings) as session:
        new = quality_repo.record_findings(session=session, findings=findings, now=now)
    found: dict[str, int] = {}
    for f in findings:
        found[f.kind] = found.get(f.kind, 0) + 1
    return QualityReport(checked_snapshots=len(snaps), new_flags=new, found=dict(sorted(found.items())))


def _count(v: float) -> str:
    return f"{v:,.0f}"


def trajectory_findings(snaps: pd.DataFrame) -> list[Finding]:
    """Each capture against the previous capture of the same video."""
    if snaps.empty:
        return []
    s = snaps.sort_values(["video_id", "captured_at"], kind="stable").reset_index(drop=True)
    prev = s.groupby("video_id", sort=False).shift(1)
    has_prev = prev["captured_at"].notna()
    out: list[Finding] = []

    def add(mask: pd.Series, kind: str, detail: Any, quarantine: bool, suffix: str = "") -> None:
        for i in s.index[mask.fillna(False).to_numpy(dtype=bool)]:
            row, before = s.loc[i], prev.loc[i]
            out.append(Finding(key=f"{kind}{suffix}:{row['id']}", kind=kind, detail=detail(row, before),
                               snapshot_id=int(row["id"]), video_id=str(row["video_id"]),
                               quarantined=quarantine))  # fmt: skip

    def when(r: Any) -> str:
        return str(pd.Timestamp(r["captured_at"]).strftime("%Y-%m-%d %H:%M"))

    same_metric = has_prev & (s["view_metric"] == prev["view_metric"])
    add(has_prev & (s["view_metric"] != prev["view_metric"]), "metric_change",
        lambda r, p: f"{r['view_metric']} after {p['view_metric']} (captured {when(p)}): a new trajectory starts",
        True)  # fmt: skip
    zero = pd.Series(False, index=s.index)
    for col in ("views", "likes", "comments"):
        dropped = same_metric & (s[col] == 0) & (prev[col] > 0)
        zero |= dropped
        add(dropped, "dropped_to_zero", lambda r, p, c=col: f"{c} 0 after {_count(p[c])} at {when(p)}", True, f":{col}")
    add(same_metric & ~zero & (s["views"] < prev["views"]), "backwards",
        lambda r, p: f"views {_count(r['views'])} after {_count(p['views'])} at {when(p)}", True)  # fmt: skip
    add(has_prev & (s["captured_at"] - prev["captured_at"] < DUPLICATE_WINDOW), "duplicate_capture",
        lambda r, p: f"captured {when(r)}, {(r['captured_at'] - p['captured_at']).total_seconds():.0f} s after "
        f"the previous capture", True)  # fmt: skip
    for col in ("likes", "comments", "channel_subscribers"):
        add(has_prev & prev[col].notna() & s[col].isna(), "vanished_field",
            lambda r, p, c=col: f"{c} empty; it was {_count(p[c])} at {when(p)}", False, f":{col}")  # fmt: skip
    if "published_at" in s:  # the count is not in doubt, its age is: listed, not quarantined
        add(s["captured_at"] < s["published_at"], "before_publish",
            lambda r, p: f"captured {when(r)}, before the publish time stored now "
            f"({pd.Timestamp(r['published_at']):%Y-%m-%d %H:%M}; a premiere or a rescheduled upload): "
            "`miles export` leaves it out", False)  # fmt: skip
    return out


def zero_batch_findings(snaps: pd.DataFrame) -> list[Finding]:
    """A whole batch at 0 views (yt-dlp's known breakage) quarantines every capture in it, first captures too."""
    if snaps.empty:
        return []
    s = snaps.assign(hour=snaps["captured_at"].dt.floor("h"), src=snaps["source"].fillna("unknown"))
    out = []
    for (src, hour), batch in s.groupby(["src", "hour"], sort=False):
        if len(batch) >= BATCH_MIN and (batch["views"] == 0).all():
            detail = f"all {len(batch)} captures from {src} at {pd.Timestamp(hour):%Y-%m-%d %H}:00 have 0 views"
            out += [Finding(key=f"zero_views:{i}", kind="zero_views",
                            detail=detail, snapshot_id=int(i), video_id=str(v), quarantined=True)
                    for i, v in zip(batch["id"], batch["video_id"], strict=True)]  # fmt: skip
    return out


RunRow = tuple[int, str, datetime, datetime | None, str, dict[str, Any]]


def version_findings(runs: list[RunRow]) -> list[Finding]:
    """Consecutive collection runs that used different yt-dlp versions."""
    versioned = sorted((r for r in runs if r[5].get("ytdlp_version")), key=lambda r: r[0])
    out = []
    for before, after in itertools.pairwise(versioned):
        old, new = before[5]["ytdlp_version"], after[5]["ytdlp_version"]
        if old != new:
            out.append(Finding(key=f"ytdlp_version:{after[0]}", kind="ytdlp_version",
                               detail=f"yt-dlp {old} (run {before[0]}) → {new} (run {after[0]}): check the counts "
                               "it returns"))  # fmt: skip
    return out


def stale_niche_findings(
    runs: list[RunRow], niches: list[str], *, now: datetime, stale_after_h: float
) -> list[Finding]:
    """Configured niches whose last listing that found anything is older than ``stale_after_h`` (or never)."""
    out = []
    for niche in niches:
        seen = [r[3] or r[2] for r in runs if (r[5].get("by_target") or {}).get(niche, 0) > 0]
        last = max(seen) if seen else None
        if last is not None and now - last <= timedelta(hours=stale_after_h):
            continue
        when = f"last captured {last:%Y-%m-%d %H:%M} UTC" if last else "never captured"
        out.append(Finding(key=f"stale_niche:{niche}:{last.isoformat() if last else 'never'}", kind="stale_niche",
                           detail=f"niche {niche!r}: {when} (fresh means within {stale_after_h:g} h)"))  # fmt: skip
    return out
