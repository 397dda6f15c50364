"""Analytics snapshots: the monthly stage of every client, the monthly ABC/XYZ classes of
products and partners, and a row per computed snapshot

Revision ID: 0013_analytics_snapshots
Revises: 0012_deal_indexes
Create Date: 2026-12-05 00:29:06.636197

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013_analytics_snapshots"
down_revision = "0012_deal_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "analytics_class_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("of", sa.String(length=10), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("abc", sa.String(length=1), nullable=False),
        sa.Column("xyz", sa.String(length=1), nullable=False),
        sa.Column("abc_metric", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("cv_pct", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_class_snapshot")),
        sa.UniqueConstraint("of", "month", "object_id", name="uq_analytics_class_snapshot"),
    )
    with op.batch_alter_table("analytics_class_snapshot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_class_snapshot_month_class", ["of", "month", "abc", "xyz"], unique=False
        )
        batch_op.create_index(
            "ix_analytics_class_snapshot_object", ["of", "object_id", "month"], unique=False
        )

    op.create_table(
        "analytics_snapshot_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_snapshot_run")),
        sa.UniqueConstraint("kind", "period", name="uq_analytics_snapshot_run"),
    )
    op.create_table(
        "analytics_stage_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Date(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("revenue_window", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("last_purchase", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_analytics_stage_snapshot_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_stage_snapshot")),
        sa.UniqueConstraint("at", "partner_id", name="uq_analytics_stage_snapshot"),
    )
    with op.batch_alter_table("analytics_stage_snapshot", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_stage_snapshot_at_stage", ["at", "stage"], unique=False)
        batch_op.create_index(
            "ix_analytics_stage_snapshot_partner", ["partner_id", "at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("analytics_stage_snapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_stage_snapshot_partner")
        batch_op.drop_index("ix_analytics_stage_snapshot_at_stage")

    op.drop_table("analytics_stage_snapshot")
    op.drop_table("analytics_snapshot_run")
    with op.batch_alter_table("analytics_class_snapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_class_snapshot_object")
        batch_op.drop_index("ix_analytics_class_snapshot_month_class")

    op.drop_table("analytics_class_snapshot")
