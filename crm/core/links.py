"""Finding every row that points at a record, in any domain, through foreign keys.

Merging or deleting a partner must move or guard all linked records, including those of
domains added later; walking the metadata's foreign keys finds them without a list to maintain.
"""

from __future__ import annotations

from sqlalchemy import Column, Table, func, select, update

from crm.extensions import db


def referencing_columns(
    target: Table, *, skip: set[str] = frozenset()
) -> list[tuple[Table, Column]]:
    """(table, column) pairs with a foreign key to `target`'s primary key; `skip` holds
    'table.column' names handled elsewhere."""
    found = []
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is target and f"{table.name}.{fk.parent.name}" not in skip:
                found.append((table, fk.parent))
    return found


def count_references(target: Table, object_id: int, *, skip=frozenset()) -> dict[str, int]:
    """Rows per table that point at `object_id` (tables with none are left out)."""
    counts: dict[str, int] = {}
    for table, column in referencing_columns(target, skip=skip):
        n = db.session.execute(
            select(func.count()).select_from(table).where(column == object_id)
        ).scalar_one()
        if n:
            counts[table.name] = counts.get(table.name, 0) + n
    return counts


def repoint_references(
    target: Table, old_id: int, new_id: int, *, skip=frozenset()
) -> dict[str, int]:
    """Make every row that points at `old_id` point at `new_id`; returns rows moved per table."""
    from crm.core.versioning import bump_values

    moved: dict[str, int] = {}
    for table, column in referencing_columns(target, skip=skip):
        # A moved versioned row (an interaction) changed: a form opened before must see it.
        result = db.session.execute(
            update(table)
            .where(column == old_id)
            .values({column.name: new_id, **bump_values(table)})
        )
        if result.rowcount:
            moved[table.name] = moved.get(table.name, 0) + result.rowcount
    return moved
