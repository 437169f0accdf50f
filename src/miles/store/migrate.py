"""Run Alembic migrations programmatically against Miles' configured database."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from miles.config import Settings
from miles.store.db import get_engine


def _config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("miles.store") / "migrations"))
    cfg.attributes["settings"] = settings
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    cfg = _config(settings)
    with get_engine(settings).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(settings: Settings, revision: str = "-1") -> None:
    cfg = _config(settings)
    with get_engine(settings).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def current_revision(settings: Settings) -> str | None:
    with get_engine(settings).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(_config(settings)).get_current_head()
