"""The partner list's "newest first" / "oldest first" order as an index

Revision ID: 0009_partner_list_indexes
Revises: 0008_pg_trgm
Create Date: 2026-12-04 19:40:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_partner_list_indexes"
down_revision = "0008_pg_trgm"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("partner", schema=None) as batch_op:
        batch_op.create_index(
            "ix_partner_created_list", ["merged_into_id", "created_on", "id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE partner")


def downgrade():
    with op.batch_alter_table("partner", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_created_list")
