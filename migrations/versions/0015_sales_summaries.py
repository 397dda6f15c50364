"""Sales summaries for analytics: the documents' gross profit, Σ quantity, number of lines and of
purchase lines beside their total (filled here from the lines), covering indexes (the
receivables' partner index now holds the total), and the
product × month and partner × month tables with its list of months to sum again (every month with lines starts in
it: readers take those months from the lines until the summary job sums them)

Revision ID: 0015_sales_summaries
Revises: 0014_analytics_planned_calls
Create Date: 2026-12-05 00:36:31.978058

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015_sales_summaries"
down_revision = "0014_analytics_planned_calls"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sales_dirty_month",
        sa.Column("month", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_sales_dirty_month")),
    )
    op.create_table(
        "sales_product_month",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("profit", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=16, scale=3), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_sales_product_month_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "month", name=op.f("pk_sales_product_month")),
    )
    with op.batch_alter_table("sales_product_month", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sales_product_month_month",
            ["month", "product_id", "revenue", "profit", "quantity"],
            unique=False,
        )

    op.create_table(
        "sales_partner_month",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("profit", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=16, scale=3), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("purchase_lines", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_sales_partner_month_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", "month", name=op.f("pk_sales_partner_month")),
    )
    with op.batch_alter_table("sales_partner_month", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sales_partner_month_month",
            ["month", "partner_id", "revenue", "profit", "quantity", "documents", "purchase_lines"],
            unique=False,
        )

    with op.batch_alter_table("sales_document", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_document_partner")
        batch_op.create_index(
            "ix_sales_document_partner", ["partner_id", "due_date", "date", "total"], unique=False
        )
        batch_op.add_column(
            sa.Column(
                "profit_total", sa.Numeric(precision=14, scale=2), nullable=False, server_default="0"
            )
        )
        batch_op.add_column(
            sa.Column(
                "quantity_total",
                sa.Numeric(precision=14, scale=3),
                nullable=False,
                server_default="0",
            )
        )
        batch_op.add_column(
            sa.Column("line_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("purchase_lines", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index(
            "ix_sales_document_partner_purchase",
            ["partner_id", "purchase_lines", "date"],
            unique=False,
        )
        batch_op.create_index(
            "ix_sales_document_summary",
            [
                "date",
                "partner_id",
                "total",
                "profit_total",
                "quantity_total",
                "line_count",
                "purchase_lines",
            ],
            unique=False,
        )

    # The summaries of the documents stored so far (the services keep them from now on).
    op.execute(
        "UPDATE sales_document SET"
        " profit_total = (SELECT ROUND(COALESCE(SUM(l.amount - l.cost), 0), 2) FROM sales_line l"
        " WHERE l.document_id = sales_document.id),"
        " quantity_total = (SELECT ROUND(COALESCE(SUM(l.quantity), 0), 3) FROM sales_line l"
        " WHERE l.document_id = sales_document.id),"
        " line_count = (SELECT COUNT(*) FROM sales_line l WHERE l.document_id = sales_document.id),"
        " purchase_lines = (SELECT COUNT(*) FROM sales_line l"
        " WHERE l.document_id = sales_document.id AND l.amount > 0)"
    )
    if op.get_bind().dialect.name == "postgresql":
        month = "CAST(date_trunc('month', date) AS date)"
    else:
        month = "substr(date, 1, 7) || '-01'"
    op.execute(f"INSERT INTO sales_dirty_month (month) SELECT DISTINCT {month} FROM sales_line")


def downgrade():
    with op.batch_alter_table("sales_document", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_document_partner")
        batch_op.create_index(
            "ix_sales_document_partner", ["partner_id", "due_date", "date"], unique=False
        )
        batch_op.drop_index("ix_sales_document_summary")
        batch_op.drop_index("ix_sales_document_partner_purchase")
        batch_op.drop_column("purchase_lines")
        batch_op.drop_column("line_count")
        batch_op.drop_column("quantity_total")
        batch_op.drop_column("profit_total")

    with op.batch_alter_table("sales_product_month", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_product_month_month")

    op.drop_table("sales_product_month")
    with op.batch_alter_table("sales_partner_month", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_partner_month_month")

    op.drop_table("sales_partner_month")
    op.drop_table("sales_dirty_month")
