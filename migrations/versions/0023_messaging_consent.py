"""Messaging consent and tracking: a message's key in a column of its own, so that the signed
links (unsubscribe, open pixel, tracked clicks) find their message by a unique index on both
databases whatever MAIL_FROM says now

Revision ID: 0023_messaging_consent
Revises: 0022_messaging_sms
Create Date: 2026-12-05 08:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0023_messaging_consent"
down_revision = "0022_messaging_sms"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=64), nullable=True))
    # Messages written before: the key is the local part of "<key@host>".
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE message SET key = split_part(substr(rfc_message_id, 2), '@', 1) "
            "WHERE rfc_message_id LIKE '<%@%'"
        )
    else:
        op.execute(
            "UPDATE message SET key = substr(rfc_message_id, 2, instr(rfc_message_id, '@') - 2) "
            "WHERE rfc_message_id LIKE '<%@%'"
        )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_message_key"), ["key"])


def downgrade():
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_message_key"), type_="unique")
        batch_op.drop_column("key")
