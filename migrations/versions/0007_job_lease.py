"""job leases (heartbeat, lease, worker) and one import of a kind at a time

Revision ID: 0007_job_lease
Revises: 0006_natural_keys
Create Date: 2026-12-10 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007_job_lease"
down_revision = "0006_natural_keys"
branch_labels = None
depends_on = None

WRITING = sa.text("status = 'importing'")


def upgrade():
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=200), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_job_run_status_lease", ["status", "lease_until"], unique=False)
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.alter_column("worker", server_default=None)

    # Imports left "importing" by a process that died before leases existed (they could never
    # be confirmed again) become "failed": they can be confirmed again, and at most one import
    # of a kind is left writing, as the new index requires.
    op.execute(
        "UPDATE import_file SET status = 'failed' WHERE status IN ('importing', 'validating')"
        " AND job_run_id IS NOT NULL AND job_run_id IN"
        " (SELECT id FROM job_run WHERE status IN ('failed', 'done'))"
    )
    op.execute(
        "UPDATE import_file SET status = 'failed' WHERE status = 'importing' AND id NOT IN"
        " (SELECT max(id) FROM import_file WHERE status = 'importing' GROUP BY kind)"
    )
    with op.batch_alter_table("import_file", schema=None) as batch_op:
        batch_op.create_index("uq_import_file_kind_writing", ["kind"], unique=True,
                              sqlite_where=WRITING, postgresql_where=WRITING)


def downgrade():
    with op.batch_alter_table("import_file", schema=None) as batch_op:
        batch_op.drop_index("uq_import_file_kind_writing", sqlite_where=WRITING,
                            postgresql_where=WRITING)
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_index("ix_job_run_status_lease")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("worker")
