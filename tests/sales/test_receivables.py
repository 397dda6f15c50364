"""Receivables as of a date (analytics.md, KPIs → Receivables), on small ledgers whose every
expected number is worked out by hand in the comments."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from crm.extensions import db
from crm.sales.receivables import overdue_total, partner_balance, receivables


def money(text: str) -> Decimal:
    return Decimal(text)


def unsettled(balance) -> dict[str, Decimal]:
    """doc_no -> unsettled amount of the documents still open, in FIFO order."""
    return {d.doc_no: d.unsettled for d in balance.open_documents}


def test_a_payment_with_doc_no_settles_that_document_not_the_oldest(
    make_partner, make_document, make_payment
):
    p = make_partner()
    make_document(p, [600, 400], doc_no="D1", date=date(2025, 1, 10), due_date=date(2025, 2, 10))
    make_document(p, [500], doc_no="D2", date=date(2025, 1, 20), due_date=date(2025, 2, 20))
    make_payment(p, 500, date(2025, 2, 1), doc_no="D2")

    b = partner_balance(p.id, date(2025, 3, 31))

    # D1 = 600 + 400 = 1000, nothing pays it. D2 = 500, paid 500 by its doc_no: settled.
    # (FIFO would have put the 500 on D1, the older due date.)
    assert unsettled(b) == {"D1": money("1000.00")}
    assert b.unsettled("D2") == 0
    assert b.debt == money("1000.00")
    # Both are due before 31.03; only D1 is unsettled.
    assert b.overdue == money("1000.00")
    assert b.oldest_overdue == date(2025, 2, 10)


def test_a_partial_doc_no_payment_leaves_the_rest_of_that_document_open(
    make_partner, make_document, make_payment
):
    p = make_partner()
    make_document(p, [1000], doc_no="D1", date=date(2025, 1, 10), due_date=date(2025, 2, 10))
    make_payment(p, 250.50, date(2025, 2, 1), doc_no="D1")
    make_payment(p, 100, date(2025, 2, 5), doc_no="D1")

    b = partner_balance(p.id, date(2025, 3, 31))

    # 1000 − 250.50 − 100 = 649.50
    assert unsettled(b) == {"D1": money("649.50")}
    assert b.debt == b.overdue == money("649.50")


def test_the_pool_settles_documents_by_due_date_then_date_then_doc_no(
    make_partner, make_document, make_payment
):
    p = make_partner()
    # Created out of FIFO order on purpose.
    make_document(p, [300], doc_no="F-3", date=date(2025, 1, 5), due_date=date(2025, 3, 1))
    make_document(p, [70], doc_no="F-a", date=date(2025, 1, 15), due_date=date(2025, 2, 1))
    make_document(p, [50], doc_no="F-B", date=date(2025, 1, 15), due_date=date(2025, 2, 1))
    make_document(p, [100], doc_no="F-1", date=date(2025, 1, 15), due_date=date(2025, 2, 1))
    make_document(p, [200], doc_no="F-2", date=date(2025, 1, 10), due_date=date(2025, 2, 1))
    make_payment(p, 345, date(2025, 2, 15))  # no doc_no: the pool

    b = partner_balance(p.id, date(2025, 2, 20))

    # FIFO order: due 01.02 first; among those date 10.01 (F-2) before 15.01; among the three
    # of 15.01 doc_no in code-point order "F-1" < "F-B" < "F-a" (digits, capitals, small
    # letters); then F-3 (due 01.03).
    # Pool 345: F-2 200 → 145 left; F-1 100 → 45 left; F-B 50 takes 45 → 5 open; F-a 70 and
    # F-3 300 untouched.
    assert unsettled(b) == {"F-B": money("5.00"), "F-a": money("70.00"), "F-3": money("300.00")}
    assert list(unsettled(b)) == ["F-B", "F-a", "F-3"]
    # Debt = 5 + 70 + 300 = 375 = (300 + 70 + 50 + 100 + 200 = 720) − 345.
    assert b.debt == money("375.00")
    # Overdue as of 20.02: due 01.02 only (F-3 is due 01.03): 5 + 70 = 75.
    assert b.overdue == money("75.00")
    assert b.oldest_overdue == date(2025, 2, 1)


def test_overpayment_becomes_credit_and_settles_later_documents(
    make_partner, make_document, make_payment
):
    p = make_partner()
    make_document(p, [1000], doc_no="D1", date=date(2025, 1, 10), due_date=date(2025, 2, 10))
    make_payment(p, 1200, date(2025, 2, 5), doc_no="D1")

    # As of 28.02: D1 1000 settled by its payment; the excess 200 is left in the pool.
    b = partner_balance(p.id, date(2025, 2, 28))
    assert b.debt == money("-200.00")
    assert b.credit == money("200.00")
    assert b.overdue == 0
    assert b.oldest_overdue is None
    assert b.open_documents == []

    # A later document of 150 takes the credit by FIFO: 200 − 150 = 50 credit left.
    make_document(p, [150], doc_no="D2", date=date(2025, 3, 1), due_date=date(2025, 3, 10))
    b = partner_balance(p.id, date(2025, 3, 31))
    assert b.debt == money("-50.00")  # 1000 + 150 − 1200
    assert b.unsettled("D2") == 0
    assert b.overdue == 0


def test_a_return_feeds_the_pool(make_partner, make_document, make_payment):
    p = make_partner()
    make_document(p, [1000], doc_no="D1", date=date(2025, 1, 10), due_date=date(2025, 1, 20))
    make_document(p, [-200, -100], doc_no="R1", date=date(2025, 2, 1))  # a return of 300
    make_payment(p, 500, date(2025, 2, 10))

    b = partner_balance(p.id, date(2025, 3, 31))

    # Pool = 300 (return) + 500 (payment) = 800 → D1 1000 − 800 = 200 open, due 20.01: overdue.
    assert unsettled(b) == {"D1": money("200.00")}
    assert b.unsettled("R1") == 0
    assert b.debt == b.overdue == money("200.00")  # 1000 − 300 − 500
    assert b.oldest_overdue == date(2025, 1, 20)

    # A return with nothing to settle is credit.
    q = make_partner()
    make_document(q, [-100], doc_no="R2", date=date(2025, 3, 1))
    assert partner_balance(q.id, date(2025, 3, 31)).debt == money("-100.00")


def test_a_payment_naming_an_unknown_or_foreign_document_goes_to_the_pool(
    make_partner, make_document, make_payment
):
    a, b = make_partner(), make_partner()
    make_document(a, [400], doc_no="A1", date=date(2025, 1, 5), due_date=date(2025, 1, 31))
    make_document(a, [600], doc_no="A2", date=date(2025, 2, 5), due_date=date(2025, 2, 28))
    make_document(b, [300], doc_no="B1", date=date(2025, 1, 5), due_date=date(2025, 1, 31))
    make_payment(a, 500, date(2025, 2, 1), doc_no="NO-SUCH-DOC")
    make_payment(a, 200, date(2025, 2, 2), doc_no="B1")  # A pays naming B's document

    result = receivables(date(2025, 3, 31))

    # A's pool = 500 + 200 = 700: A1 400 settled, 300 left → A2 600 − 300 = 300 open.
    assert unsettled(result[a.id]) == {"A2": money("300.00")}
    assert result[a.id].debt == money("300.00")  # 1000 − 700
    assert result[a.id].overdue == money("300.00")  # A2 due 28.02 < 31.03
    # B's document is not paid by A's money.
    assert unsettled(result[b.id]) == {"B1": money("300.00")}
    assert result[b.id].debt == result[b.id].overdue == money("300.00")


def test_documents_and_payments_after_the_date_are_ignored(
    make_partner, make_document, make_payment
):
    p = make_partner()
    make_document(p, [1000], doc_no="D1", date=date(2025, 1, 10), due_date=date(2025, 1, 31))
    make_document(p, [500], doc_no="D2", date=date(2025, 2, 20), due_date=date(2025, 3, 20))
    make_payment(p, 300, date(2025, 2, 15), doc_no="D1")  # dated on D: counts
    make_payment(p, 250, date(2025, 2, 14), doc_no="D2")  # names a document dated after D
    make_payment(p, 400, date(2025, 2, 16))  # after D

    b = partner_balance(p.id, date(2025, 2, 15))
    # As of 15.02 D2 does not exist yet, so the 250 naming it is pool money:
    # D1 1000 − 300 (its own) − 250 (pool) = 450; the 400 of 16.02 does not count.
    assert unsettled(b) == {"D1": money("450.00")}
    assert b.debt == b.overdue == money("450.00")
    assert b.oldest_overdue == date(2025, 1, 31)

    b = partner_balance(p.id, date(2025, 3, 31))
    # Everything counts: D1 − 300 = 700 open, D2 − 250 = 250 open; pool 400 → D1 (due 31.01
    # first): 300 open. Debt 300 + 250 = 550 = 1500 − 950; both due before 31.03.
    assert unsettled(b) == {"D1": money("300.00"), "D2": money("250.00")}
    assert b.debt == b.overdue == money("550.00")

    # Before the first document: nothing at all.
    assert receivables(date(2025, 1, 9)) == {}


def test_overdue_counts_only_documents_due_before_the_date(make_partner, make_document):
    p = make_partner()
    make_document(p, [400], doc_no="D1", date=date(2025, 3, 1), due_date=date(2025, 3, 30))
    make_document(p, [600], doc_no="D2", date=date(2025, 3, 1), due_date=date(2025, 3, 31))
    make_document(p, [100], doc_no="D3", date=date(2025, 3, 1), due_date=date(2025, 4, 1))

    b = partner_balance(p.id, date(2025, 3, 31))

    # Debt 400 + 600 + 100 = 1100; overdue: due 30.03 only (due on the date is not overdue).
    assert b.debt == money("1100.00")
    assert b.overdue == money("400.00")
    assert b.oldest_overdue == date(2025, 3, 30)


def test_a_partner_without_documents_or_payments_owes_nothing(make_partner):
    p = make_partner()
    b = partner_balance(p.id, date(2025, 3, 31))
    assert (b.debt, b.overdue, b.oldest_overdue, b.open_documents) == (0, 0, None, [])


def test_limits_by_partner_ids_and_manager(make_user, make_partner, make_document):
    maria, ivan = make_user("manager"), make_user("manager")
    a = make_partner(responsible=maria)
    b = make_partner(responsible=ivan)
    c = make_partner(responsible=maria)
    for partner, amount in ((a, 10), (b, 20), (c, 30)):
        make_document(partner, [amount], date=date(2025, 1, 1))
    day = date(2025, 3, 31)

    assert set(receivables(day)) == {a.id, b.id, c.id}
    assert set(receivables(day, [a.id, b.id])) == {a.id, b.id}
    assert set(receivables(day, manager_id=maria.id)) == {a.id, c.id}
    assert set(receivables(day, [a.id, b.id], manager_id=maria.id)) == {a.id}
    assert receivables(day, [b.id])[b.id].debt == money("20.00")


def test_debt_always_equals_documents_minus_payments(make_partner, make_document, make_payment):
    """Whatever the allocation, a partner's debt is Σ document totals − Σ payments dated up to
    the date (the allocation only decides which documents are overdue): checked on random
    ledgers against plain sums."""
    rng = random.Random(7)
    start = date(2025, 1, 1)
    partners = [make_partner() for _ in range(4)]
    doc_nos = []
    expected_by_day = {}
    ledger = []  # (partner id, date, signed amount)
    for n in range(40):
        p = rng.choice(partners)
        day = start + timedelta(days=rng.randrange(90))
        amounts = [Decimal(rng.randrange(-5000, 90000)) / 100 for _ in range(rng.randint(1, 3))]
        make_document(
            p,
            amounts,
            doc_no=f"R{n:03d}",
            date=day,
            due_date=day + timedelta(days=rng.choice([0, 10, 30])),
            commit=False,
        )
        doc_nos.append(f"R{n:03d}")
        ledger.append((p.id, day, sum(amounts)))
    for _ in range(40):
        p = rng.choice(partners)
        day = start + timedelta(days=rng.randrange(100))
        amount = Decimal(rng.randrange(1, 60000)) / 100
        doc_no = rng.choice(["", "", "UNKNOWN", *doc_nos])
        make_payment(p, amount, day, doc_no=doc_no, commit=False)
        ledger.append((p.id, day, -amount))
    for as_of in (date(2025, 1, 20), date(2025, 2, 15), date(2025, 4, 30)):
        expected = {}
        for pid, day, signed in ledger:
            if day <= as_of:
                expected[pid] = expected.get(pid, Decimal("0")) + signed
        expected_by_day[as_of] = expected
    for as_of, expected in expected_by_day.items():
        got = receivables(as_of)
        assert {pid: b.debt for pid, b in got.items()} == expected, as_of
        for b in got.values():
            assert 0 <= b.overdue <= max(b.debt, Decimal("0"))


def _rule_step_by_step(docs, payments, partner_ids, as_of):
    """analytics.md read literally, one payment at a time, in Decimal: what each partner owes.
    docs: (partner id, doc_no, date, due_date, total); payments: (partner id, date, amount,
    doc_no). Returns {partner id: (debt, overdue, oldest overdue due date, {doc_no: open})}."""
    out = {}
    for pid in partner_ids:
        mine = [d for d in docs if d[0] == pid and d[2] <= as_of]
        by_no = {d[1]: d for d in mine}
        open_amount = {d[1]: d[4] for d in mine if d[4] > 0}
        pool = sum((-d[4] for d in mine if d[4] < 0), Decimal("0"))
        for _, day, amount, doc_no in sorted(p for p in payments if p[0] == pid):
            if day > as_of:
                continue
            if doc_no in by_no and doc_no in open_amount:
                take = min(amount, open_amount[doc_no])
                open_amount[doc_no] -= take
                pool += amount - take
            else:  # no doc_no, unknown, another partner's, after D, or a return
                pool += amount
        for d in sorted(mine, key=lambda d: (d[3], d[2], d[1])):
            if d[1] in open_amount and pool > 0:
                take = min(pool, open_amount[d[1]])
                open_amount[d[1]] -= take
                pool -= take
        open_amount = {no: v for no, v in open_amount.items() if v > 0}
        overdue_docs = [by_no[no] for no in open_amount if by_no[no][3] < as_of]
        out[pid] = (
            sum(open_amount.values(), Decimal("0")) - pool,
            sum((open_amount[d[1]] for d in overdue_docs), Decimal("0")),
            min((d[3] for d in overdue_docs), default=None),
            open_amount,
        )
    return out


def test_random_ledgers_agree_with_the_rule_applied_step_by_step(
    make_partner, make_document, make_payment
):
    """Many equal dates (ties decided by doc_no), returns, partial and excess payments, payments
    naming unknown, foreign and later documents: every partner's debt, overdue, oldest overdue
    date and open documents match the rule applied literally by the helper above."""
    rng = random.Random(11)
    days = [date(2025, 1, 1) + timedelta(days=7 * i) for i in range(12)]
    partners = [make_partner() for _ in range(5)]
    docs, payments = [], []
    for n in range(60):
        p = rng.choice(partners)
        day = rng.choice(days)
        due = day + timedelta(days=rng.choice([0, 7, 14]))
        amounts = [Decimal(rng.randrange(1000, 50000)) / 100 for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.1:
            amounts = [-a for a in amounts]  # a return
        doc_no = f"{rng.choice('1BZa')}{n:03d}"  # code-point order: digits, capitals, small
        make_document(p, amounts, doc_no=doc_no, date=day, due_date=due, commit=False)
        docs.append((p.id, doc_no, day, due, sum(amounts)))
    for _ in range(70):
        p = rng.choice(partners)
        named = rng.choice([d for d in docs if d[0] == p.id] or docs)
        doc_no = rng.choice(["", "", named[1], named[1], rng.choice(docs)[1], "NO-SUCH"])
        amount = Decimal(rng.randrange(500, 40000)) / 100
        day = rng.choice(days)
        make_payment(p, amount, day, doc_no=doc_no, commit=False)
        payments.append((p.id, day, amount, doc_no))
    ids = [p.id for p in partners]
    for as_of in (days[3], days[7], days[11] + timedelta(days=20)):
        expected = _rule_step_by_step(docs, payments, ids, as_of)
        got = receivables(as_of)
        for pid in ids:
            b = got.get(pid)
            actual = (b.debt, b.overdue, b.oldest_overdue, unsettled(b)) if b else (0, 0, None, {})
            assert actual == expected[pid], (as_of, pid)
        # The one-query total (the KPI dashboard's) is the same rule summed.
        assert overdue_total(as_of) == sum((e[1] for e in expected.values()), Decimal("0"))


def test_the_overdue_total_in_one_query_agrees_with_the_walk_on_refunds_and_managers(
    make_user, make_partner, make_document, make_payment
):
    """Refunds (negative payments naming a document or none), payments naming returns and
    zero documents, partners of two managers: `overdue_total` equals the Σ of the walk's
    overdue, for everyone and per manager, at several dates."""
    rng = random.Random(23)
    managers = [make_user(role="manager"), make_user(role="manager")]
    partners = [make_partner(responsible=rng.choice(managers)) for _ in range(8)]
    days = [date(2025, 3, 1) + timedelta(days=5 * i) for i in range(15)]
    docs = []
    for n in range(80):
        p = rng.choice(partners)
        day = rng.choice(days)
        kind = rng.random()
        amounts = (
            [Decimal(0)]
            if kind < 0.05
            else [Decimal(rng.randrange(-20000, -100)) / 100]
            if kind < 0.15
            else [Decimal(rng.randrange(100, 50000)) / 100 for _ in range(rng.randint(1, 3))]
        )
        doc_no = f"T{n:03d}"
        make_document(
            p,
            amounts,
            doc_no=doc_no,
            date=day,
            due_date=day + timedelta(days=rng.choice([0, 5, 20])),
            commit=False,
        )
        docs.append((p, doc_no))
    for _ in range(90):
        p = rng.choice(partners)
        own = [no for q, no in docs if q.id == p.id] or ["NONE"]
        doc_no = rng.choice(["", rng.choice(own), rng.choice(own), rng.choice(docs)[1]])
        amount = Decimal(rng.randrange(-15000, 45000)) / 100
        make_payment(p, amount, rng.choice(days), doc_no=doc_no, commit=False)
    db.session.commit()
    for as_of in (days[2], days[7], days[12], days[14] + timedelta(days=30)):
        walk = receivables(as_of)
        assert overdue_total(as_of) == sum((b.overdue for b in walk.values()), Decimal("0"))
        for m in managers:
            mine = receivables(as_of, manager_id=m.id)
            expected = sum((b.overdue for b in mine.values()), Decimal("0"))
            assert overdue_total(as_of, manager_id=m.id) == expected, (as_of, m.id)
