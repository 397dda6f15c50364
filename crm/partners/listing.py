"""What the partner list page reads, as plain values: each row's columns (in three small
queries), the filter's managers and tags, the city suggestions drawn once.

The list page is the CRM's busiest page. Loading its 25 rows as ORM entities (a Partner with
its responsible user, tags and contact details: ~90 objects a page, each tracked by the
session) cost more CPU than everything else the page does, and the row needs none of what the
ORM adds. The statements are built once, at import: their compiled SQL is then found in
SQLAlchemy's cache by identity, without building and hashing a statement per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from markupsafe import Markup, escape
from sqlalchemy import bindparam, select

from crm.auth.models import User
from crm.auth.policy import responsible_users_clause
from crm.extensions import db
from crm.partners.models import (
    PARTNER_ROLES,
    ContactDetail,
    Partner,
    Tag,
    detail_href,
    partner_tag,
)

_P, _U, _D, _T = (m.__table__ for m in (Partner, User, ContactDetail, Tag))
_IDS = bindparam("ids", expanding=True)
_SHOWN = ("email", "phone")  # the contact details a row shows (ListRow's attributes)

_PARTNERS = (
    select(
        _P.c.id,
        _P.c.name,
        _P.c.code,
        _P.c.city,
        *(_P.c[f"is_{r}"] for r in PARTNER_ROLES),
        _U.c.name,
        _U.c.email,
    )
    .outerjoin(_U, _U.c.id == _P.c.responsible_id)
    .where(_P.c.id.in_(_IDS))
)
# The main e-mail and phone: in Partner.contact_details' order (kind, main first, id), the
# first of each kind is the one Partner.main_detail picks. The kinds are picked in Python: with
# a condition on kind, SQLite (without ANALYZE statistics) reads every e-mail and phone of the
# (kind, value) index instead of the page's partners' few details (~300 ms instead of 0.3).
_DETAILS = (
    select(_D.c.partner_id, _D.c.kind, _D.c.value, _D.c.value_norm)
    .where(_D.c.partner_id.in_(_IDS))
    .order_by(_D.c.partner_id, _D.c.kind, _D.c.is_main.desc(), _D.c.id)
)
_TAGS = (
    select(partner_tag.c.partner_id, _T.c.name)
    .join(_T, _T.c.id == partner_tag.c.tag_id)
    .where(partner_tag.c.partner_id.in_(_IDS))
    .order_by(partner_tag.c.partner_id, _T.c.name_norm)
)


@dataclass(slots=True)
class Contact:
    value: str
    href: str | None


@dataclass(slots=True)
class ListRow:
    id: int
    name: str
    code: str
    city: str
    roles: list[str]
    responsible: str | None  # the responsible user's display name
    email: Contact | None = None
    phone: Contact | None = None
    tags: list[str] = field(default_factory=list)


def list_rows(ids: list[int]) -> list[ListRow]:
    """The rows of the partners `ids`, in that order (an id no longer there is left out)."""
    if not ids:
        return []
    conn = db.session.connection()
    params = {"ids": ids}
    n_roles = len(PARTNER_ROLES)
    rows = {}
    for pid, name, code, city, *rest in conn.execute(_PARTNERS, params):
        flags, (user_name, user_email) = rest[:n_roles], rest[n_roles:]
        rows[pid] = ListRow(
            pid,
            name,
            code,
            city,
            [r for r, on in zip(PARTNER_ROLES, flags, strict=True) if on],
            (user_name or user_email) if user_email is not None else None,
        )
    for pid, kind, value, value_norm in conn.execute(_DETAILS, params):
        row = rows.get(pid)
        if row is not None and kind in _SHOWN and getattr(row, kind) is None:
            setattr(row, kind, Contact(value, detail_href(kind, value, value_norm)))
    for pid, tag in conn.execute(_TAGS, params):
        if pid in rows:
            rows[pid].tags.append(tag)
    return [rows[i] for i in ids if i in rows]


_MANAGERS = (
    select(_U.c.id, _U.c.name, _U.c.email)
    .where(_U.c.active.is_(True), responsible_users_clause())
    .order_by(_U.c.name, _U.c.email)
)
_TAG_NAMES = select(_T.c.id, _T.c.name).order_by(_T.c.name_norm)


def filter_options() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The (id, label) options of the manager filter (as queries.responsible_choices lists
    them) and of the tag filter (as queries.all_tags)."""
    conn = db.session.connection()
    managers = [(uid, name or email) for uid, name, email in conn.execute(_MANAGERS)]
    return managers, [tuple(t) for t in conn.execute(_TAG_NAMES)]


@lru_cache(maxsize=16)
def datalist_options(values: tuple[str, ...]) -> Markup:
    """`<option>`s of a datalist, drawn once per set of values: the city suggestions (up to
    500, kept by queries.cities) would otherwise be escaped one by one on every full page."""
    return Markup("".join(f'<option value="{escape(v)}">' for v in values))
