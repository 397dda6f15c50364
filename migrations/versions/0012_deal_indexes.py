"""Deals: covering indexes measured at 200,000 deals (bench/deals_bench.py) — the probability's
win rates (closed_on in the manager and partner indexes, a new kind/reached index), the
effectiveness report and the forecast's won amounts (a new status/closed_on index), the
board's column totals (the amount in the board index)

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

BOARD = ["kind_id", "status", "stage_id", "stage_entered_at"]
MANAGER = ["manager_id", "status", "expected_close"]
PARTNER = ["partner_id", "status"]
STATUS_CLOSED = [
    "status",
    "closed_on",
    "manager_id",
    "loss_reason_id",
    "amount",
    "created_on",
    "id",
]


def upgrade():
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_board")
        batch_op.create_index("ix_deal_board", [*BOARD, "amount"], unique=False)
        batch_op.drop_index("ix_deal_manager")
        batch_op.create_index(
            "ix_deal_manager", [*MANAGER, "closed_on", "created_on"], unique=False
        )
        batch_op.drop_index("ix_deal_partner")
        batch_op.create_index("ix_deal_partner", [*PARTNER, "closed_on"], unique=False)
        batch_op.create_index(
            "ix_deal_kind_reached",
            ["kind_id", "status", "reached_position", "manager_id", "closed_on"],
            unique=False,
        )
        batch_op.create_index("ix_deal_status_closed", STATUS_CLOSED, unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE deal")


def downgrade():
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_status_closed")
        batch_op.drop_index("ix_deal_kind_reached")
        batch_op.drop_index("ix_deal_partner")
        batch_op.create_index("ix_deal_partner", PARTNER, unique=False)
        batch_op.drop_index("ix_deal_manager")
        batch_op.create_index("ix_deal_manager", MANAGER, unique=False)
        batch_op.drop_index("ix_deal_board")
        batch_op.create_index("ix_deal_board", BOARD, unique=False)
