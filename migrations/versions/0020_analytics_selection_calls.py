"""Analytics selection calls: which client was given a planned call from which selection (a
segment's page, a list, a report's drill-down) on which day (the key that keeps "plan calls"
on a selection idempotent)

Revision ID: 0020_analytics_selection_calls
Revises: 0019_product_segments
Create Date: 2026-12-05 06:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0020_analytics_selection_calls"
down_revision = "0019_product_segments"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "analytics_selection_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("selection", sa.String(length=64), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("planned_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interaction.id"],
            name=op.f("fk_analytics_selection_call_interaction_id_interaction"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_analytics_selection_call_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["planned_by_id"],
            ["user.id"],
            name=op.f("fk_analytics_selection_call_planned_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_selection_call")),
        sa.UniqueConstraint(
            "selection", "planned_on", "partner_id", name="uq_analytics_selection_call"
        ),
    )
    with op.batch_alter_table("analytics_selection_call", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_selection_call_interaction", ["interaction_id"], unique=False
        )
        batch_op.create_index("ix_analytics_selection_call_partner", ["partner_id"], unique=False)


def downgrade():
    with op.batch_alter_table("analytics_selection_call", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_selection_call_partner")
        batch_op.drop_index("ix_analytics_selection_call_interaction")

    op.drop_table("analytics_selection_call")
