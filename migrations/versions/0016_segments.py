"""Segments: the segment (its rule as JSON), the stored members of periodic and manual ones,
and each refresh of a periodic one with who entered and left

Revision ID: 0016_segments
Revises: 0015_sales_summaries
Create Date: 2026-12-05 02:16:28.829565

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_segments'
down_revision = '0015_sales_summaries'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('segment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('of', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=True),
    sa.Column('schedule', sa.String(length=16), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_segment_owner_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment')),
    sa.UniqueConstraint('name', name=op.f('uq_segment_name'))
    )
    op.create_table('segment_member',
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_segment_member_partner_id_partner'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], name=op.f('fk_segment_member_segment_id_segment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('segment_id', 'partner_id', name=op.f('pk_segment_member'))
    )
    with op.batch_alter_table('segment_member', schema=None) as batch_op:
        batch_op.create_index('ix_segment_member_partner', ['partner_id', 'segment_id'], unique=False)

    op.create_table('segment_refresh',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('entered', sa.Integer(), nullable=False),
    sa.Column('left', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], name=op.f('fk_segment_refresh_segment_id_segment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_refresh'))
    )
    with op.batch_alter_table('segment_refresh', schema=None) as batch_op:
        batch_op.create_index('ix_segment_refresh_segment', ['segment_id', 'at'], unique=False)

    op.create_table('segment_change',
    sa.Column('refresh_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('change', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_segment_change_partner_id_partner'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['refresh_id'], ['segment_refresh.id'], name=op.f('fk_segment_change_refresh_id_segment_refresh'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('refresh_id', 'partner_id', name=op.f('pk_segment_change'))
    )


def downgrade():
    op.drop_table('segment_change')
    with op.batch_alter_table('segment_refresh', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_refresh_segment')

    op.drop_table('segment_refresh')
    with op.batch_alter_table('segment_member', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_member_partner')

    op.drop_table('segment_member')
    op.drop_table('segment')
