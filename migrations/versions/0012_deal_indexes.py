"""Deals: covering indexes for the probability's win rates — closed_on in the manager and
partner indexes, a (kind, status, reached position, closed_on) index for the stage and kind
rates (measured at 200,000 deals: bench/deals_bench.py)

Revision ID: 0012_deal_indexes
Revises: 0011_deals
Create Date: 2026-12-04 22:40:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0012_deal_indexes"
down_revision = "0011_deals"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_manager")
        batch_op.create_index(
            "ix_deal_manager", ["manager_id", "status", "expected_close", "closed_on"], unique=False
        )
        batch_op.drop_index("ix_deal_partner")
        batch_op.create_index(
            "ix_deal_partner", ["partner_id", "status", "closed_on"], unique=False
        )
        batch_op.create_index(
            "ix_deal_kind_reached",
            ["kind_id", "status", "reached_position", "closed_on"],
            unique=False,
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE deal")


def downgrade():
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_kind_reached")
        batch_op.drop_index("ix_deal_partner")
        batch_op.create_index("ix_deal_partner", ["partner_id", "status"], unique=False)
        batch_op.drop_index("ix_deal_manager")
        batch_op.create_index(
            "ix_deal_manager", ["manager_id", "status", "expected_close"], unique=False
        )
