"""Import all of ../shared/data into a fresh SQLite file (target < 30 s) and into PostgreSQL; rows/s."""

from __future__ import annotations

import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from miles.config import load_settings
from miles.jobs.ingest import import_paths
from miles.store import migrate
from miles.store.db import dispose_engines, get_engine

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _timed_import(settings: Any) -> dict[str, Any]:
    migrate.upgrade(settings)
    start = time.perf_counter()
    summary = import_paths([SHARED_DATA], settings=settings)
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 2),
        "rows_read": summary.rows_read,
        "snapshots_added": summary.counts.snapshots_added,
        "rows_per_s": round(summary.rows_read / seconds),
        "target_s": 30,
    }


def _postgres() -> dict[str, Any]:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return {"skipped": "PostgreSQL not reachable on 127.0.0.1:5432"}
    schema = f"miles_bench_{uuid.uuid4().hex[:8]}"
    admin = load_settings(database_url=PG_URL)
    with get_engine(admin).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        return _timed_import(load_settings(database_url=f"{PG_URL}?options=-csearch_path%3D{schema}"))
    finally:
        dispose_engines()
        with get_engine(admin).begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        dispose_engines()


def run() -> dict[str, Any]:
    if not SHARED_DATA.is_dir():
        return {"skipped": f"{SHARED_DATA} not found"}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = _timed_import(load_settings(data_dir=Path(tmp)))
        dispose_engines()
    return {"sqlite": sqlite, "postgresql": _postgres()}
