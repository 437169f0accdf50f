"""Persistence: SQLAlchemy tables, sessions, migrations and keyword-only repository functions."""
