"""Segments at scale: covering indexes measured at 100,000 partners, 3,000,000 sales lines and
578,000 payments (bench/segments_bench.py) — who bought a product group in a period (partner,
document and amount in the product/date index of the lines), and the overdue-debt condition
(the amount in both payment indexes: a partner's payments summed, and what the payments
naming one document paid, from the index alone; a partial index of the refunds)

Revision ID: 0018_segment_speed_indexes
Revises: 0017_segment_version
Create Date: 2026-12-05 04:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018_segment_speed_indexes"
down_revision = "0017_segment_version"
branch_labels = None
depends_on = None

LINE_PRODUCT = ["product_id", "date"]
PAYMENT_PARTNER = ["partner_id", "date"]
PAYMENT_DOC_NO = ["doc_no"]


def upgrade():
    with op.batch_alter_table("sales_line", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_line_product_date")
        batch_op.create_index(
            "ix_sales_line_product_date",
            [*LINE_PRODUCT, "partner_id", "document_id", "amount"],
            unique=False,
        )
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_partner_date")
        batch_op.create_index("ix_payment_partner_date", [*PAYMENT_PARTNER, "amount"], unique=False)
        batch_op.drop_index("ix_payment_doc_no")
        batch_op.create_index(
            "ix_payment_doc_no", [*PAYMENT_DOC_NO, "partner_id", "date", "amount"], unique=False
        )
        batch_op.create_index(
            "ix_payment_refunds",
            ["partner_id", "date", "amount"],
            unique=False,
            sqlite_where=sa.text("amount < 0"),
            postgresql_where=sa.text("amount < 0"),
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE sales_line")
        op.execute("ANALYZE payment")


def downgrade():
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_refunds")
        batch_op.drop_index("ix_payment_doc_no")
        batch_op.create_index("ix_payment_doc_no", PAYMENT_DOC_NO, unique=False)
        batch_op.drop_index("ix_payment_partner_date")
        batch_op.create_index("ix_payment_partner_date", PAYMENT_PARTNER, unique=False)
    with op.batch_alter_table("sales_line", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_line_product_date")
        batch_op.create_index("ix_sales_line_product_date", LINE_PRODUCT, unique=False)
