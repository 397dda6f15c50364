"""Analytics planned calls: which client was given a planned call for which move between two
stage snapshots (the key that keeps the transition report's "plan calls" batch idempotent)

Revision ID: 0014_analytics_planned_calls
Revises: 0013_analytics_snapshots
Create Date: 2026-12-05 00:45:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014_analytics_planned_calls"
down_revision = "0013_analytics_snapshots"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "analytics_planned_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("planned_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interaction.id"],
            name=op.f("fk_analytics_planned_call_interaction_id_interaction"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_analytics_planned_call_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["planned_by_id"],
            ["user.id"],
            name=op.f("fk_analytics_planned_call_planned_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_planned_call")),
        sa.UniqueConstraint(
            "from_date",
            "to_date",
            "source",
            "target",
            "partner_id",
            name="uq_analytics_planned_call",
        ),
    )
    with op.batch_alter_table("analytics_planned_call", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_planned_call_interaction", ["interaction_id"], unique=False
        )
        batch_op.create_index("ix_analytics_planned_call_partner", ["partner_id"], unique=False)


def downgrade():
    with op.batch_alter_table("analytics_planned_call", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_planned_call_partner")
        batch_op.drop_index("ix_analytics_planned_call_interaction")

    op.drop_table("analytics_planned_call")
