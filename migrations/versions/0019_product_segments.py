"""Segments of products: their stored members and who entered and left at a refresh

Revision ID: 0019_product_segments
Revises: 0018_segment_speed_indexes
Create Date: 2026-12-05 04:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_product_segments'
down_revision = '0018_segment_speed_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('segment_product',
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_segment_product_product_id_product'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], name=op.f('fk_segment_product_segment_id_segment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('segment_id', 'product_id', name=op.f('pk_segment_product'))
    )
    op.create_index('ix_segment_product_product', 'segment_product', ['product_id', 'segment_id'], unique=False)
    op.create_table('segment_product_change',
    sa.Column('refresh_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('change', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_segment_product_change_product_id_product'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['refresh_id'], ['segment_refresh.id'], name=op.f('fk_segment_product_change_refresh_id_segment_refresh'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('refresh_id', 'product_id', name=op.f('pk_segment_product_change'))
    )


def downgrade():
    op.drop_table('segment_product_change')
    op.drop_index('ix_segment_product_product', table_name='segment_product')
    op.drop_table('segment_product')
