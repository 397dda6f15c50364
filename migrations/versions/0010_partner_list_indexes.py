"""The partner list's "newest first" / "oldest first" order as an index; the roles in the
city-order index (a role filter sorted by city is read from the index alone)

Revision ID: 0010_partner_list_indexes
Revises: 0009_user_locale
Create Date: 2026-12-04 19:40:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_partner_list_indexes"
down_revision = "0009_user_locale"
branch_labels = None
depends_on = None


CITY_LIST = ["city_norm", "merged_into_id", "name_norm", "id"]
ROLES = ["is_client", "is_supplier", "is_competitor", "is_other"]


def upgrade():
    with op.batch_alter_table("partner", schema=None) as batch_op:
        batch_op.create_index(
            "ix_partner_created_list", ["merged_into_id", "created_on", "id"], unique=False
        )
        batch_op.drop_index("ix_partner_city_list")
        batch_op.create_index("ix_partner_city_list", CITY_LIST + ROLES, unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE partner")


def downgrade():
    with op.batch_alter_table("partner", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_city_list")
        batch_op.create_index("ix_partner_city_list", CITY_LIST, unique=False)
        batch_op.drop_index("ix_partner_created_list")
