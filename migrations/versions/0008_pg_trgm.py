"""pg_trgm trigram index on partner.search_text (PostgreSQL only); the city filter's index

Revision ID: 0008_pg_trgm
Revises: 0007_job_lease
Create Date: 2026-12-04 18:00:00

"""

import logging

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008_pg_trgm"
down_revision = "0007_job_lease"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
MISSING = (
    "pg_trgm not available: substring search will scan; "
    "ask your DBA to run CREATE EXTENSION pg_trgm"
)


def _trgm_available(conn) -> bool:
    """Install pg_trgm if this role may; a refusal (hosted databases often refuse) leaves the
    search working by a scan, with a message saying what to ask for."""
    try:
        with conn.begin_nested():
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning("%s (%s)", MISSING, str(exc.orig).splitlines()[0])
        return False
    return True


def upgrade():
    with op.batch_alter_table("partner", schema=None) as batch_op:
        batch_op.create_index(
            "ix_partner_city_list", ["city_norm", "merged_into_id", "name_norm", "id"], unique=False
        )
    conn = op.get_bind()
    if conn.dialect.name != "postgresql" or not _trgm_available(conn):
        return
    op.create_index(
        "ix_partner_search_trgm",
        "partner",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.execute("ANALYZE partner")


def downgrade():
    # The extension stays: other objects may use it, and dropping it needs the privilege.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_partner_search_trgm")
    with op.batch_alter_table("partner", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_city_list")
