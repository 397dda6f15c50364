"""Small readers of responses and rows shared by the partner tests."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from crm.core.models import AuditEntry
from crm.extensions import db
from crm.partners.models import ContactDetail, ContactPerson, Partner

HX = {"HX-Request": "true"}

_NAME_CELL = re.compile(
    r'<td data-label="Name" class="fw-semibold"><a href="/partners/\d+">(.*?)</a>'
)


def text(response) -> str:
    return response.get_data(as_text=True)


def listed_names(response) -> list[str]:
    """Partner names in the list's rows, in order, unescaped."""
    return [html.unescape(n) for n in _NAME_CELL.findall(text(response))]


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def partner_count() -> int:
    return count(Partner)


def detail_count() -> int:
    return count(ContactDetail)


def person_count() -> int:
    return count(ContactPerson)


def fresh(model, object_id):
    """The row as the database has it now (not the session's cached copy)."""
    db.session.expire_all()
    return db.session.get(model, object_id)


def audit_entries(root_id: int, **where) -> list[AuditEntry]:
    """Audit entries shown on partner `root_id`'s History tab, oldest first."""
    db.session.expire_all()
    stmt = select(AuditEntry).where(
        AuditEntry.root_type == "partner", AuditEntry.root_id == root_id
    )
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEntry, key) == value)
    return list(db.session.execute(stmt.order_by(AuditEntry.id)).scalars())


def field_block(page: str, field_id: str) -> str:
    """The form group holding the input with id `field_id` (label, input, its errors)."""
    at = page.index(f'id="{field_id}"')
    start = page.rindex('<div class="mb-3', 0, at)
    end = page.find('<div class="mb-3', at)
    return page[start : end if end != -1 else len(page)]


def field_errors(page: str, field_id: str) -> list[str]:
    block = field_block(page, field_id)
    found = re.findall(r'<div class="invalid-feedback d-block">(.*?)</div>', block, re.S)
    return [html.unescape(e.strip()) for e in found]


def form(**overrides) -> dict:
    """What the partner form posts for a plain company; `overrides` change fields."""
    data = {
        "name": "ООО Ромашка",
        "code": "",
        "kind": "company",
        "roles": ["client"],
        "inn": "",
        "city": "",
        "tags": "",
        "email": "",
        "phone": "",
        "notes": "",
        "preferred_channel": "",
        "best_time_to_call": "",
    }
    data.update(overrides)
    return data
