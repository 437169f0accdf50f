"""Run Alembic migrations programmatically against Miles' configured database.

On PostgreSQL, ``upgrade`` then creates (or checks) the application role the web app and MCP server act as and
grants it table access: a role that owns no tables, is no superuser and cannot bypass row-level security, so the
policies bind every query they make (``Settings.for_app``).
"""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, make_url, text

from miles.config import Settings
from miles.errors import ConfigError
from miles.store.db import get_engine


def _config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("miles.store") / "migrations"))
    cfg.attributes["settings"] = settings
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> str | None:
    """Migrate; on PostgreSQL also create or check the application role. Returns that role's name (or None)."""
    cfg = _config(settings)
    with get_engine(settings).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        if conn.dialect.name == "postgresql":
            return ensure_app_role(conn, settings)
    return None


def app_role_name(settings: Settings) -> str:
    if settings.app_database_url:
        name = make_url(settings.app_database_url).username
        if not name:
            raise ConfigError("MILES_APP_DATABASE_URL names no user: give the application role's login")
        return name
    return settings.db_app_role


def ensure_app_role(conn: Connection, settings: Settings) -> str:
    """Create the application role if missing (NOLOGIN for SET ROLE; LOGIN with the URL's password for
    MILES_APP_DATABASE_URL), refuse one that could bypass the policies, and grant it this schema's tables."""
    role = app_role_name(settings)
    quoted = '"' + role.replace('"', '""') + '"'
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is None:
        password = make_url(settings.app_database_url).password if settings.app_database_url else None
        login = "LOGIN PASSWORD '" + str(password).replace("'", "''") + "'" if password else "NOLOGIN"
        conn.execute(text(
            f"DO $$ BEGIN CREATE ROLE {quoted} {login} NOSUPERUSER NOBYPASSRLS; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ))  # fmt: skip
    _check_app_role(conn, role)
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    schema_q = '"' + str(schema).replace('"', '""') + '"'
    for grant in (
        f"GRANT USAGE ON SCHEMA {schema_q} TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema_q} TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema_q} TO {quoted}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema_q} TO {quoted}",
    ):
        conn.execute(text(grant))
    if not settings.app_database_url:  # the owner switches to the role with SET ROLE: it must be a member
        member = conn.execute(text("SELECT pg_has_role(current_user, :r, 'MEMBER')"), {"r": role}).scalar_one()
        if not member:
            conn.execute(text(f"GRANT {quoted} TO CURRENT_USER"))
    return role


def _check_app_role(conn: Connection, role: str) -> None:
    row = conn.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if row is None:
        raise ConfigError(f"PostgreSQL role {role!r} could not be created (does the migrating role have CREATEROLE?)")
    owned = conn.execute(
        text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tableowner = :r"), {"r": role}
    ).scalar_one()
    if row[0] or row[1] or owned:
        why = "is a superuser" if row[0] else "has BYPASSRLS" if row[1] else f"owns {owned} of the tables"
        raise ConfigError(
            f"the application role {role!r} {why}: row-level security would not bind it; use a role that owns "
            "nothing (MILES_DB_APP_ROLE, or the user of MILES_APP_DATABASE_URL)"
        )


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


def require_current(settings: Settings) -> None:
    """Refuse to serve (web app, MCP) a database this Miles has not migrated: pages reading a new column were 500s, and
    an MCP tool over a fresh data dir answered "Error executing tool" with no reason (``make run`` upgrades first)."""
    from miles.errors import InvalidInput

    current, head = current_revision(settings), head_revision(settings)
    if current != head:
        state = "has no tables yet" if current is None else f"is at revision {current}, this Miles needs {head}"
        raise InvalidInput(f"the database {state}: run `miles db upgrade` first (`make run` does it)")
