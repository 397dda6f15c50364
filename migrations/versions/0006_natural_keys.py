"""natural keys: one contact person of a (folded) name per partner

Revision ID: 0006_natural_keys
Revises: 0005_versions
Create Date: 2026-12-10 10:00:00.000000

contacts.csv and the API key contact persons by (partner, name); until now nothing in the
database held that key, and two imports (or API calls) at the same moment stored people twice.
This migration
1. recomputes contact_person.name_norm with the app's fold() (imports wrote str.casefold(),
   the web forms fold(): "Семён" and "Семен" were two keys);
2. merges the persons that share (partner_id, name_norm) into the oldest one (lowest id):
   its empty position, notes and birthday are filled from the others, their contact details
   move to it (a value it has already is dropped), every row pointing at them (interactions,
   participants, …) points at it, and they are deleted. Each merge is logged;
3. replaces the index ix_contact_person_partner by the unique index
   uq_contact_person_partner_name on (partner_id, name_norm).
Downgrade restores the plain index; merged persons stay merged.
"""

import logging
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006_natural_keys"
down_revision = "0005_versions"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
BATCH = 5000
_SPACES = re.compile(r"\s+")


def _fold(text):
    """crm.core.text.fold as of this migration (a copy: a later change there must not change
    what this migration did)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return _SPACES.sub(" ", text).strip()


def _refold(conn):
    last = 0
    while True:
        rows = conn.execute(
            sa.text("SELECT id, name, name_norm FROM contact_person WHERE id > :last "
                    "ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        changed = [{"id": i, "norm": _fold(name)} for i, name, norm in rows if _fold(name) != norm]
        if changed:
            conn.execute(sa.text("UPDATE contact_person SET name_norm = :norm WHERE id = :id"),
                         changed)
        last = rows[-1][0]


def _references(conn):
    """(table, column) of every foreign key to contact_person.id but the contact details'."""
    found = []
    inspector = sa.inspect(conn)
    for table in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] == "contact_person" and table != "contact_detail":
                found.extend((table, col) for col in fk["constrained_columns"])
    return found


def _merge(conn, keep, dup, references):
    conn.execute(
        sa.text(
            "UPDATE contact_person SET "
            "position = CASE WHEN position = '' THEN (SELECT position FROM contact_person "
            "  WHERE id = :dup) ELSE position END, "
            "notes = CASE WHEN notes = '' THEN (SELECT notes FROM contact_person "
            "  WHERE id = :dup) ELSE notes END, "
            "birthday = COALESCE(birthday, (SELECT birthday FROM contact_person WHERE id = :dup)) "
            "WHERE id = :keep"
        ),
        {"keep": keep, "dup": dup},
    )
    kept = conn.execute(
        sa.text("SELECT kind, value_norm, is_main FROM contact_detail "
                "WHERE contact_person_id = :keep"), {"keep": keep}
    ).all()
    have = {(kind, norm) for kind, norm, _main in kept}
    has_main = {kind for kind, _norm, main in kept if main}
    for detail_id, kind, norm, main in conn.execute(
        sa.text("SELECT id, kind, value_norm, is_main FROM contact_detail "
                "WHERE contact_person_id = :dup ORDER BY id"), {"dup": dup}
    ).all():
        if (kind, norm) in have:
            continue  # deleted with the duplicate
        have.add((kind, norm))
        main = bool(main) and kind not in has_main
        if main:
            has_main.add(kind)
        conn.execute(
            sa.text("UPDATE contact_detail SET contact_person_id = :keep, is_main = :main "
                    "WHERE id = :id"),
            {"keep": keep, "main": main, "id": detail_id},
        )
    for table, column in references:
        conn.execute(
            sa.text(f'UPDATE "{table}" SET "{column}" = :keep WHERE "{column}" = :dup'),
            {"keep": keep, "dup": dup},
        )
    conn.execute(sa.text("DELETE FROM contact_detail WHERE contact_person_id = :dup"),
                 {"dup": dup})
    conn.execute(sa.text("DELETE FROM contact_person WHERE id = :dup"), {"dup": dup})


def _merge_duplicates(conn):
    groups = conn.execute(
        sa.text("SELECT partner_id, name_norm FROM contact_person "
                "GROUP BY partner_id, name_norm HAVING COUNT(*) > 1")
    ).all()
    if not groups:
        return
    references = _references(conn)
    for partner_id, norm in groups:
        ids = conn.execute(
            sa.text("SELECT id FROM contact_person WHERE partner_id = :p AND name_norm = :n "
                    "ORDER BY id"), {"p": partner_id, "n": norm}
        ).scalars().all()
        keep, dups = ids[0], ids[1:]
        for dup in dups:
            _merge(conn, keep, dup, references)
        log.warning("contact persons %s of partner %s (name %r) merged into contact person %s",
                    ", ".join(map(str, dups)), partner_id, norm, keep)


def upgrade():
    conn = op.get_bind()
    _refold(conn)
    _merge_duplicates(conn)
    with op.batch_alter_table("contact_person", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_person_partner")
        batch_op.create_index("uq_contact_person_partner_name", ["partner_id", "name_norm"],
                              unique=True)


def downgrade():
    with op.batch_alter_table("contact_person", schema=None) as batch_op:
        batch_op.drop_index("uq_contact_person_partner_name")
        batch_op.create_index("ix_contact_person_partner", ["partner_id", "name_norm"],
                              unique=False)
