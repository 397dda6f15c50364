"""`recompute_document_totals`: a document's total is the Σ of its lines, in batches."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select, update

from crm.extensions import db
from crm.sales.models import SalesDocument, SalesLine
from crm.sales.services import recompute_document_totals


def stored_totals(ids) -> dict[int, Decimal]:
    db.session.expire_all()
    rows = db.session.execute(
        select(SalesDocument.id, SalesDocument.total).where(SalesDocument.id.in_(ids))
    )
    return dict(rows.all())


def test_totals_become_the_sum_of_lines_in_batches(make_partner, make_document):
    p = make_partner()
    docs = [
        make_document(p, [100.10, 0.20]),  # 100.30
        make_document(p, [0.10, 0.20]),  # 0.30: no floating-point 0.30000000000000004
        make_document(p, [-50, 20.05]),  # -29.95, a return
        make_document(p, [1234567.89, 0.01]),  # 1234567.90
        make_document(p, [5]),  # 5.00, already right
    ]
    ids = [d.id for d in docs]
    # Spoil four totals as an import writing lines directly would leave them.
    db.session.execute(update(SalesDocument).where(SalesDocument.id.in_(ids[:4])).values(total=0))
    db.session.commit()

    changed = recompute_document_totals(ids + ids[:2], batch_size=2)  # duplicates are harmless

    assert changed == 4
    assert stored_totals(ids) == {
        ids[0]: Decimal("100.30"),
        ids[1]: Decimal("0.30"),
        ids[2]: Decimal("-29.95"),
        ids[3]: Decimal("1234567.90"),
        ids[4]: Decimal("5.00"),
    }
    # Run again: nothing to change, and updated_at is left alone.
    before = db.session.get(SalesDocument, ids[0]).updated_at
    assert recompute_document_totals(ids) == 0
    db.session.expire_all()
    assert db.session.get(SalesDocument, ids[0]).updated_at == before


def test_a_document_without_lines_totals_zero_and_loaded_objects_see_new_totals(
    make_partner, make_document
):
    p = make_partner()
    doc = make_document(p, [70, 30], date=date(2025, 1, 1))
    db.session.execute(SalesLine.__table__.delete().where(SalesLine.document_id == doc.id))
    assert doc.total == Decimal("100.00")  # the session's copy, loaded before

    assert recompute_document_totals([doc.id]) == 1

    assert doc.total == Decimal("0.00")  # expired and reloaded
    assert recompute_document_totals([]) == 0


def test_merging_partners_with_an_identical_payment_keeps_both_payments(
    client, login_as, make_partner, make_payment
):
    from crm.sales.models import Payment

    admin = login_as("admin")
    keep = make_partner(name="Ромашка", responsible=admin)
    dupe = make_partner(name="Ромашка (дубль)", responsible=admin)
    day = date(2026, 3, 1)
    make_payment(keep, 100, day, "D-1")  # occurrence 1 on each partner: the key would clash
    make_payment(dupe, 100, day, "D-1")
    make_payment(dupe, 100, day, "D-1")  # occurrence 2 on the duplicate
    make_payment(dupe, 50, day)  # no twin on the survivor: left as it is

    response = client.post(f"/partners/{keep.id}/merge", data={"other": str(dupe.id)})

    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    db.session.expire_all()
    stored = db.session.execute(
        select(Payment.amount, Payment.doc_no, Payment.occurrence)
        .where(Payment.partner_id == keep.id)
        .order_by(Payment.amount, Payment.occurrence)
    ).all()
    assert [(int(a), d, o) for a, d, o in stored] == [
        (50, "", 1),
        (100, "D-1", 1),
        (100, "D-1", 2),
        (100, "D-1", 3),
    ]
