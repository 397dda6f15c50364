"""Messaging: the SMS gateway's delivery reports find a message by the gateway's id

Revision ID: 0022_messaging_sms
Revises: 0021_messaging
Create Date: 2026-12-05 12:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0022_messaging_sms"
down_revision = "0021_messaging"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index("ix_message_provider", ["provider_id"], unique=False)


def downgrade():
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_provider")
