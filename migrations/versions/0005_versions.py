"""optimistic locking: a version on partners, contact persons and interactions, and the
version each audit entry made

Revision ID: 0005_versions
Revises: 0004_sessions
Create Date: 2026-12-10 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005_versions"
down_revision = "0004_sessions"
branch_labels = None
depends_on = None

VERSIONED = ("partner", "contact_person", "interaction")


def upgrade():
    for table in VERSIONED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("version", sa.Integer(), server_default="1", nullable=False)
            )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("object_version", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_audit_entry_object", ["object_type", "object_id", "object_version"], unique=False
        )


def downgrade():
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_object")
        batch_op.drop_column("object_version")
    for table in reversed(VERSIONED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("version")
