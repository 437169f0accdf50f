"""Row-level security on ``users`` too (PostgreSQL only; a no-op on SQLite).

A role under RLS sees and updates only the user row whose id is ``miles.user_id``, so password hashes and e-mails
of other accounts are out of its reach. Two SECURITY DEFINER functions do the only things that must happen
before a request has a user: ``miles_user_id(email)`` (log in, and the "already exists" check at sign-up: only
the id, never the hash) and ``miles_create_user(email, hash)`` (sign up; an INSERT ... RETURNING under RLS would
need the new row to be visible already).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_USER = "NULLIF(current_setting('miles.user_id', true), '')::integer"
POLICY = "miles_self_only"

USER_ID_FUNCTION = """
CREATE FUNCTION miles_user_id(p_email text) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path FROM CURRENT
AS $$ SELECT id FROM users WHERE email = p_email $$
"""

CREATE_USER_FUNCTION = """
CREATE FUNCTION miles_create_user(p_email text, p_password_hash text) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
    INSERT INTO users (email, password_hash, is_active, created_at, session_version)
    VALUES (p_email, p_password_hash, true, (now() AT TIME ZONE 'utc'), 0)
    RETURNING id
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE users ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {POLICY} ON users USING (id = {CURRENT_USER}) WITH CHECK (id = {CURRENT_USER})")
    op.execute(USER_ID_FUNCTION)
    op.execute(CREATE_USER_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS miles_create_user(text, text)")
    op.execute("DROP FUNCTION IF EXISTS miles_user_id(text)")
    op.execute(f"DROP POLICY IF EXISTS {POLICY} ON users")
    op.execute("ALTER TABLE users DISABLE ROW LEVEL SECURITY")
