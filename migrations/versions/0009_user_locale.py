"""a user's interface language

Revision ID: 0009_user_locale
Revises: 0008_pg_trgm
Create Date: 2026-12-04 20:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_user_locale"
down_revision = "0008_pg_trgm"
branch_labels = None
depends_on = None


def upgrade():
    # Existing users get Russian, the interface's first language; they can switch on the
    # Account page.
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locale", sa.String(length=8), nullable=False, server_default="ru")
        )


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("locale")
