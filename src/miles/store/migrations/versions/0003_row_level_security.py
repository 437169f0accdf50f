"""Row-level security on user-owned tables (PostgreSQL only; a no-op on SQLite).

Each request sets ``miles.user_id`` for its transaction (``set_config('miles.user_id', '42', true)``,
see ``miles.store.repos.users.set_current_user``); the policies let a role see and write only the rows
whose ``user_id`` equals it (anonymous requests: an empty setting matches only rows with ``user_id`` NULL).
RLS is ENABLEd, not FORCEd: the table owner (migrations, CLI, background jobs) and superusers bypass it,
so the API gets the database-level guarantee when it connects as a non-owner role (docs/api.md).

``api_keys`` is under RLS too, so authentication looks a key hash up through ``miles_api_key_owner``,
a SECURITY DEFINER function that returns only the owner of one unrevoked key of an active user.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USER_OWNED_TABLES = ("queries", "ideas", "tracked_videos", "predictions", "api_keys")
CURRENT_USER = "NULLIF(current_setting('miles.user_id', true), '')::integer"
POLICY = "miles_owner_only"

KEY_OWNER_FUNCTION = """
CREATE FUNCTION miles_api_key_owner(p_key_hash text)
RETURNS TABLE (key_id integer, user_id integer)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
    SELECT k.id, k.user_id FROM api_keys k JOIN users u ON u.id = k.user_id
    WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL AND u.is_active
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in USER_OWNED_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON {table} "
            f"USING (user_id IS NOT DISTINCT FROM {CURRENT_USER}) "
            f"WITH CHECK (user_id IS NOT DISTINCT FROM {CURRENT_USER})"
        )
    op.execute(KEY_OWNER_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS miles_api_key_owner(text)")
    for table in USER_OWNED_TABLES:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
