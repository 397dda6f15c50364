"""Test data helpers with sensible defaults. They build rows directly (not through the
services under test); only the derived search columns come from `sync_search`, so that search
tests see exactly what the app keeps."""

from __future__ import annotations

import itertools

from crm.core.text import normalise_email, normalise_phone
from crm.extensions import db
from crm.partners.models import ContactDetail, ContactPerson, Partner
from crm.partners.services import sync_search

_n = itertools.count(1)


def _detail(kind: str, value: str, is_main: bool) -> ContactDetail:
    norm = normalise_email(value) if kind == "email" else normalise_phone(value)
    return ContactDetail(kind=kind, value=value, value_norm=norm, is_main=is_main)


def create_partner(name=None, responsible=None, emails=(), phones=(), persons=(), tags=(),
                   commit=True, **fields) -> Partner:  # fmt: skip
    """A partner; `emails`/`phones` become contact details (the first is main), `persons` are
    dicts (name, position, birthday, email, phone), `tags` are Tag objects."""
    n = next(_n)
    p = Partner(
        code=fields.pop("code", f"T{n:05d}"),
        name=name or f"Partner {n}",
        responsible_id=responsible.id
        if responsible is not None
        else fields.pop("responsible_id", None),
        **fields,
    )
    p.contact_details = [_detail("email", e, i == 0) for i, e in enumerate(emails)]
    p.contact_details += [_detail("phone", ph, i == 0) for i, ph in enumerate(phones)]
    for spec in persons:
        person = ContactPerson(name=spec["name"], position=spec.get("position", ""),
                               birthday=spec.get("birthday"))  # fmt: skip
        person.name_norm = person.name.casefold()
        person.contact_details = [
            _detail(k, spec[k], True) for k in ("email", "phone") if spec.get(k)
        ]
        p.contact_persons.append(person)
    p.tags = list(tags)
    sync_search(p)
    db.session.add(p)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return p
