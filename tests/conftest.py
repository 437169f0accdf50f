"""Shared fixtures: real databases (SQLite always, PostgreSQL when reachable), shared data, settings."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from miles.config import Settings, load_settings
from miles.store import migrate
from miles.store.db import dispose_engines, get_engine
from miles.store.tables import Base

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_BASE_URL = os.environ.get("MILES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def skip_or_fail(reason: str) -> None:
    """Missing services or ../shared skip on a laptop but fail under CI (CI=true)."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must be available)")
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        skip_or_fail(f"development data not found at {SHARED_DATA}")
    return SHARED_DATA


def make_settings(tmp: Path, **overrides: object) -> Settings:
    base: dict[str, object] = {"data_dir": tmp / "data", "cache_dir": tmp / "cache", "env": "test"}
    base.update(overrides)
    return load_settings(**base)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test run; each test copies it (much faster than migrating each time)."""
    tmp = tmp_path_factory.mktemp("sqlite-template")
    settings = make_settings(tmp)
    migrate.upgrade(settings)
    dispose_engines()
    return settings.data_dir / "miles.db"


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    if not port_open("127.0.0.1", 5432):
        skip_or_fail("PostgreSQL is not reachable on 127.0.0.1:5432")
    schema = f"miles_test_{uuid.uuid4().hex[:10]}"
    admin = load_settings(database_url=PG_BASE_URL, env="test")
    with get_engine(admin).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"
    migrate.upgrade(load_settings(database_url=url, env="test"))
    yield url
    dispose_engines()
    with get_engine(admin).begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    dispose_engines()


def _truncate_pg(settings: Settings) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine(settings).begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def sqlite_settings(tmp_path: Path, sqlite_template: Path) -> Iterator[Settings]:
    settings = make_settings(tmp_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(sqlite_template, settings.data_dir / "miles.db")
    yield settings
    dispose_engines()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Settings]:
    """Migrated, empty database settings: the same test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_settings")
        return
    url = request.getfixturevalue("pg_schema_url")
    settings = make_settings(tmp_path, database_url=url)
    _truncate_pg(settings)
    yield settings
    dispose_engines()
