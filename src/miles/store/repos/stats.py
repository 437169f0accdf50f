"""Row counts for `miles db stats` and the health check."""

from __future__ import annotations

from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from miles.errors import MilesError
from miles.store.tables import Base


def table_counts(*, session: Session) -> dict[str, int]:
    present = set(inspect(session.get_bind()).get_table_names())
    missing = [t for t in Base.metadata.tables if t not in present]
    if missing:
        raise MilesError("the database is not migrated yet; run `miles db upgrade`", status=503)
    return {
        name: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for name, table in Base.metadata.tables.items()
    }


def ping(*, session: Session) -> bool:
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
