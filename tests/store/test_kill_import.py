"""A process SIGKILLed in the middle of an import leaves the database exactly as before that file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from miles.config import Settings
from miles.jobs.ingest import import_paths
from miles.store.db import session_scope
from miles.store.repos.stats import table_counts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROWS = 90_000


def _big_file(path: Path) -> Path:
    n_videos = ROWS // 3
    rng = np.random.default_rng(0)
    ids = np.repeat([f"k{i:010d}" for i in range(n_videos)], 3)
    published = pd.Timestamp("2026-01-01T00:00:00Z") + pd.to_timedelta(np.repeat(np.arange(n_videos), 3), unit="s")
    captured = published + pd.to_timedelta(np.tile([1, 5, 24], n_videos), unit="h")
    pd.DataFrame(
        {
            "video_id": ids,
            "title": [f"title {i}" for i in range(len(ids))],
            "published_at": published,
            "captured_at": captured,
            "views": rng.integers(0, 10_000, len(ids)),
            "channel_id": [f"UCk{i % 500}" for i in range(len(ids))],
        }
    ).to_parquet(path)
    return path


def _counts(settings: Settings) -> dict[str, int]:
    with session_scope(settings) as session:
        return table_counts(session=session)


@pytest.mark.slow
def test_sigkill_mid_import_leaves_db_as_before(db_settings: Settings, tmp_path: Path) -> None:
    import_paths([FIXTURES / "snapshots_small.csv"], settings=db_settings)
    before = _counts(db_settings)
    big = _big_file(tmp_path / "big.parquet")
    env = {
        **os.environ,
        "MILES_DATA_DIR": str(db_settings.data_dir),
        "MILES_DATABASE_URL": db_settings.database_url,
        "MILES_IMPORT_TRACE": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "miles.cli", "import", str(big)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    # The importer announces each write phase on stderr (MILES_IMPORT_TRACE); kill inside the snapshot writes.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "writing snapshots" in line or not line:
            break
    time.sleep(0.3)
    assert proc.poll() is None, "import finished before it could be killed; make the file bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _counts(db_settings) == before
    if db_settings.sqlalchemy_url.startswith("sqlite"):
        with session_scope(db_settings) as session:
            from sqlalchemy import text

            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    # And the same file then imports completely.
    summary = import_paths([big], settings=db_settings)
    assert summary.counts.snapshots_added == ROWS
