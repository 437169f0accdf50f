"""A newer Miles over an older database: every command says to run `miles db upgrade`, and `miles serve` refuses to
start, instead of internal errors quoting SQL and pages answering 500."""

from __future__ import annotations

from tests.cli.test_cli_foundation import miles

from miles.config import Settings


def test_a_database_older_than_miles_is_told_to_upgrade(sqlite_settings: Settings) -> None:
    """A newer Miles over an older database printed an internal error quoting SQL ("no such column ..."): it is the
    upgrade step, said as the fresh data dir's "no tables yet" is."""
    from miles.store import migrate

    migrate.downgrade(sqlite_settings, "0011")  # before tracked_videos.last_error_reason
    out = miles(sqlite_settings, "track", "list")
    assert out.returncode == 1, out.stderr
    assert "the database is older than this Miles" in out.stderr and "miles db upgrade" in out.stderr
    assert "internal error" not in out.stderr and "SELECT" not in out.stderr


def test_serve_refuses_a_database_it_has_not_migrated(sqlite_settings: Settings) -> None:
    """`miles serve` started over an older database and answered every page that reads a new column with a 500."""
    from miles.store import migrate

    migrate.downgrade(sqlite_settings, "0011")
    out = miles(sqlite_settings, "serve", "--port", "1")  # refused before it binds: the port is never used
    said = " ".join(out.stderr.split())
    assert out.returncode == 1 and "the database is at revision 0011, this Miles needs" in said, said
    assert "run `miles db upgrade` first" in said


def test_mcp_refuses_a_database_it_has_not_migrated(sqlite_settings: Settings) -> None:
    """`miles mcp` served a fresh data dir (a tool answered "Error executing tool" with no reason) and an older
    schema (a tool stored a prediction into it)."""
    from miles.store import migrate

    migrate.downgrade(sqlite_settings, "0010")
    for args in (("mcp",), ("mcp", "--http", "--port", "1")):
        out = miles(sqlite_settings, *args)
        said = " ".join(out.stderr.split())
        assert out.returncode == 1 and "the database is at revision 0010, this Miles needs" in said, (args, said)
