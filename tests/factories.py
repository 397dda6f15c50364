"""Test data helpers with sensible defaults. They build rows directly (not through the
services under test); only the derived search columns come from `sync_search`, so that search
tests see exactly what the app keeps."""

from __future__ import annotations

import itertools

from crm.core.text import fold, normalise_email, normalise_phone
from crm.extensions import db
from crm.partners.models import ContactDetail, ContactPerson, Partner
from crm.partners.services import sync_search

_n = itertools.count(1)


def _detail(kind: str, value: str, is_main: bool) -> ContactDetail:
    norm = normalise_email(value) if kind == "email" else normalise_phone(value)
    return ContactDetail(kind=kind, value=value, value_norm=norm, is_main=is_main)


def create_partner(
    name=None, responsible=None, emails=(), phones=(), persons=(), tags=(), commit=True, **fields
) -> Partner:
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
        person = ContactPerson(
            name=spec["name"], position=spec.get("position", ""), birthday=spec.get("birthday")
        )
        person.name_norm = fold(person.name)
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


# --- sales ---------------------------------------------------------------------------------


def create_product(sku=None, name=None, commit=True, **fields):
    """A product with a unique sku."""
    from crm.sales.models import Product

    n = next(_n)
    product = Product(sku=sku or f"SKU{n:05d}", name=name or f"Product {n}", **fields)
    db.session.add(product)
    _save(commit)
    return product


def create_document(
    partner,
    amounts=(100,),
    doc_no=None,
    date=None,
    due_date=None,
    product=None,
    commit=True,
    **fields,
):
    """A sales document of `partner` with one line per amount (negative amounts: a return).
    Its `total` is set here to Σ amounts, as the sales services keep it; due_date defaults to
    the date, as in the exchange format."""
    from datetime import date as date_type
    from decimal import Decimal

    from crm.sales.models import SalesDocument, SalesLine

    n = next(_n)
    day = date or date_type(2025, 1, 1)
    product = product or create_product(commit=False)
    lines = []
    for line_no, amount in enumerate(amounts, start=1):
        amount = Decimal(str(amount))
        qty = Decimal(-1 if amount < 0 else 1)
        lines.append(
            SalesLine(
                line_no=line_no,
                date=day,
                partner_id=partner.id,
                product_id=product.id,
                quantity=qty,
                amount=amount,
            )
        )
    doc = SalesDocument(
        doc_no=doc_no or f"D{n:06d}",
        date=day,
        partner_id=partner.id,
        due_date=due_date or day,
        lines=lines,
        total=sum((line.amount for line in lines), Decimal("0")),
        **fields,
    )
    db.session.add(doc)
    _save(commit)
    return doc


def create_payment(partner, amount, date, doc_no="", commit=True):
    """A payment; a second identical one (same date, partner, amount, doc_no) gets the next
    occurrence, as the import numbers them."""
    from decimal import Decimal

    from sqlalchemy import func, select

    from crm.sales.models import Payment

    amount = Decimal(str(amount))
    db.session.flush()
    same = select(func.count()).where(
        Payment.date == date,
        Payment.partner_id == partner.id,
        Payment.amount == amount,
        Payment.doc_no == doc_no,
    )
    occurrence = db.session.execute(same).scalar_one() + 1
    payment = Payment(
        date=date, partner_id=partner.id, amount=amount, doc_no=doc_no, occurrence=occurrence
    )
    db.session.add(payment)
    _save(commit)
    return payment


def _save(commit: bool) -> None:
    if commit:
        db.session.commit()
    else:
        db.session.flush()


# --- interactions --------------------------------------------------------------------------


def create_interaction(
    responsible,
    kind="call",
    starts_at=None,
    partner=None,
    parent=None,
    participants=(),
    commit=True,
    **fields,
):
    """An interaction of `responsible` (a User) starting at `starts_at` (naive UTC, default
    2026-03-02 09:00); `parent` makes it a reply in the parent's chain, `participants` are
    users taking part. Calls, SMS and e-mails default to outgoing. The derived columns (end,
    due time, search text) come from `sync_derived`, as the app keeps them."""
    from datetime import datetime

    from crm.interactions.models import Interaction, Participant
    from crm.interactions.services import sync_derived

    n = next(_n)
    defaults = {
        "status": "planned",
        "title": f"Interaction {n}",
        "duration_minutes": 0,
        "remind_minutes": None,
    }
    if kind in ("call", "sms", "email"):
        defaults["direction"] = "outgoing"
    i = Interaction(
        kind=kind,
        responsible_id=responsible.id,
        starts_at=starts_at or datetime(2026, 3, 2, 9, 0),
        partner_id=partner.id if partner is not None else None,
        parent_id=parent.id if parent is not None else None,
        **{**defaults, **fields},
    )
    i.participants = [Participant(user_id=u.id) for u in participants]
    sync_derived(i)
    db.session.add(i)
    db.session.flush()
    i.chain_id = (parent.chain_id or parent.id) if parent is not None else i.id
    _save(commit)
    return i
