"""Segments are edited by several people: a version column for optimistic locking
(crm.core.versioning)

Revision ID: 0017_segment_version
Revises: 0016_segments
Create Date: 2026-12-05 03:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_segment_version'
down_revision = '0016_segments'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('segment') as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('segment') as batch_op:
        batch_op.drop_column('version')
