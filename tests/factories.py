"""Test data helpers with sensible defaults. They build rows directly (not through the
services under test); only the derived search columns come from `sync_search`, so that search
tests see exactly what the app keeps."""

from __future__ import annotations

import itertools

from crm.core.text import fold, normalise_email, normalise_phone
from crm.extensions import db
from crm.partners.models import ContactDetail, ContactPerson, Partner
from crm.partners.services import sync_search
from tests.helpers import sync_documents

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
    Its summary (`total`…) is set as the sales services keep it; due_date defaults to
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
    sync_documents([doc])
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


# --- deals ---------------------------------------------------------------------------------


def create_deal_kind(
    name=None,
    stages=("Qualification", "Proposal", "Contract"),
    process=True,
    probabilities=None,
    commit=True,
):
    """A deal kind with `stages` in order (positions 1, 2, 3…); `probabilities` the stages'
    default probabilities in percent (default 0)."""
    from decimal import Decimal

    from crm.deals.models import DealKind, DealStage

    n = next(_n)
    kind = DealKind(name=name or f"Kind {n}", is_process=process)
    probabilities = probabilities or [0] * len(stages)
    kind.stages = [
        DealStage(position=i + 1, name=s, probability=Decimal(str(p)))
        for i, (s, p) in enumerate(zip(stages, probabilities, strict=True))
    ]
    db.session.add(kind)
    _save(commit)
    return kind


def create_deal(
    partner,
    kind,
    manager=None,
    stage=None,
    status="open",
    amount="1000",
    created_on=None,
    expected_close=None,
    closed_on=None,
    loss_reason=None,
    reached=None,
    participants=(),
    commit=True,
    **fields,
):
    """A deal of `partner` built as rows (not through the services): `stage` a stage name or
    position (default the first; a won deal may pass None); `reached` the furthest position
    (default the stage's; a won deal: every stage); `participants` are users; `loss_reason`
    a reason name (created when new) for a lost deal. Its stage history is one stay."""
    from datetime import date, datetime
    from decimal import Decimal

    from crm.deals.models import (
        WON_POSITION,
        Deal,
        DealParticipant,
        DealStageEntry,
        LossReason,
    )

    n = next(_n)
    if stage is None and status != "won" and kind.stages:
        stage_obj = kind.stages[0]
    elif isinstance(stage, int):
        stage_obj = next(s for s in kind.stages if s.position == stage)
    elif stage is not None:
        stage_obj = next(s for s in kind.stages if s.name == stage)
    else:
        stage_obj = None
    if reached is None:
        reached = WON_POSITION if status == "won" else (stage_obj.position if stage_obj else 0)
    reason = None
    if loss_reason is not None:
        reason = db.session.query(LossReason).filter_by(name=loss_reason).one_or_none()
        if reason is None:
            reason = LossReason(name=loss_reason)
            db.session.add(reason)
            db.session.flush()
    created_on = created_on or date(2026, 1, 10)
    entered = fields.pop("stage_entered_at", None) or datetime.combine(
        created_on, datetime.min.time()
    )
    deal = Deal(
        deal_no=fields.pop("deal_no", f"D{n:05d}"),
        partner_id=partner.id,
        kind_id=kind.id,
        stage_id=stage_obj.id if stage_obj else None,
        reached_position=reached,
        status=status,
        amount=Decimal(str(amount)),
        created_on=created_on,
        expected_close=expected_close or (None if status != "open" else date(2026, 6, 30)),
        closed_on=closed_on or (None if status == "open" else date(2026, 2, 1)),
        manager_id=manager.id if manager is not None else None,
        loss_reason_id=reason.id if reason is not None else None,
        stage_entered_at=entered,
        **fields,
    )
    deal.participants = [DealParticipant(user_id=u.id) for u in participants]
    deal.history = [
        DealStageEntry(
            stage_id=deal.stage_id,
            entered_at=entered,
            left_at=None if status == "open" else entered,
        )
    ]
    db.session.add(deal)
    _save(commit)
    return deal
