"""The four client notification kinds on hand-made data: who gets which message, once per event
(the producer run twice, an event reported twice), the overdue debt repeated every M days until
paid, nothing from before the kind was switched on, nothing while it is off. Expected messages
are written out by hand."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.core.client_notifications import notify_client
from crm.core.timeutil import utcnow
from crm.exchange.importer import import_rows
from crm.extensions import db
from crm.messaging.notification_services import produce_scheduled
from crm.sales.models import SalesDocument
from tests.factories import (
    create_deal,
    create_deal_kind,
    create_document,
    create_interaction,
    create_partner,
    create_payment,
    create_product,
)

LONG_AGO = datetime(2020, 1, 1)


@pytest.fixture
def utc_site(app):
    """Days of the site in UTC, so that a moment's day is the one written in the test."""
    app.config["DEFAULT_TIMEZONE"] = "UTC"


# --- order status (on the event: imports and the API) -----------------------------------------


def _sales_row(doc_no, partner, sku, status=None, line_no=1, amount="100"):
    row = {
        "doc_no": doc_no,
        "line_no": line_no,
        "date": "2026-03-01",
        "partner_code": partner.code,
        "sku": sku,
        "quantity": "1",
        "amount": amount,
        "due_date": "2026-03-15",
    }
    if status is not None:
        row["status"] = status
    return row


@pytest.fixture
def order_desk(app, make_user, make_template, make_group, switch_on, event_placeholder):
    """A partner with its own e-mail and a contact person's, a stored document of it, and the
    order status notification switched on."""
    admin = make_user("admin")
    partner = create_partner(
        name="Ромашка",
        emails=["shop@romashka.test"],
        persons=[{"name": "Анна", "email": "Anna@Romashka.test"}],
    )
    product = create_product(sku="S-1")
    report = import_rows("sales", [_sales_row("INV-1", partner, "S-1")], actor=admin)
    assert report.ok
    db.session.commit()
    template = make_template(
        text="Заказ {{ event.document_id }}: {{ event.previous_status }} → {{ event.status }}"
    )
    group = make_group("Service notices", "service")
    setting = switch_on("order_status", template, group, LONG_AGO)
    doc = db.session.execute(select(SalesDocument)).scalar_one()
    return {
        "admin": admin,
        "partner": partner,
        "product": product,
        "doc": doc,
        "setting": setting,
    }


def test_an_imported_status_change_tells_the_partner_and_its_contact_once(order_desk, notices):
    d = order_desk
    person = d["partner"].contact_persons[0]
    rows = [_sales_row("INV-1", d["partner"], "S-1", status="paid")]

    assert import_rows("sales", rows, actor=d["admin"]).ok
    db.session.commit()
    # The same file again: the status is already "paid", nothing changes, nothing is sent.
    assert import_rows("sales", rows, actor=d["admin"]).ok
    db.session.commit()

    doc_id, pid = d["doc"].id, d["partner"].id
    key = f"order_status:{doc_id}:paid"
    body = f"Заказ {doc_id}: shipped → paid"
    assert notices("order_status") == [
        (key, "anna@romashka.test", pid, person.id, body),
        (key, "shop@romashka.test", pid, None, body),
    ]
    assert db.session.get(SalesDocument, doc_id).status == "paid"


def test_a_row_without_status_keeps_the_stored_one_and_sends_nothing(order_desk, notices):
    d = order_desk
    rows = [_sales_row("INV-1", d["partner"], "S-1", amount="150")]

    report = import_rows("sales", rows, actor=d["admin"])
    db.session.commit()

    assert report.ok and report.updated == 1
    doc = db.session.get(SalesDocument, d["doc"].id)
    assert (doc.status, doc.total) == ("shipped", 150)
    assert notices() == []


def test_a_new_document_with_a_status_is_no_status_change(order_desk, notices):
    d = order_desk
    rows = [_sales_row("INV-2", d["partner"], "S-1", status="ordered")]

    assert import_rows("sales", rows, actor=d["admin"]).ok
    db.session.commit()

    doc = db.session.execute(
        select(SalesDocument).where(SalesDocument.doc_no == "INV-2")
    ).scalar_one()
    assert doc.status == "ordered"
    assert notices() == []


def test_an_unknown_status_is_a_row_error_and_changes_nothing(order_desk, notices):
    d = order_desk
    rows = [_sales_row("INV-1", d["partner"], "S-1", status="lost")]

    report = import_rows("sales", rows, actor=d["admin"])
    db.session.rollback()

    assert not report.ok
    assert [(e.column, e.code) for e in report.errors] == [("status", "bad_value")]
    assert db.session.get(SalesDocument, d["doc"].id).status == "shipped"
    assert notices() == []


def test_a_status_change_through_the_api_is_notified(order_desk, client, notices):
    from crm.auth.models import ApiToken

    d = order_desk
    token = "crm_" + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            user_id=d["admin"].id,
            name="test",
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            prefix=token[:12],
        )
    )
    db.session.commit()

    answer = client.patch(
        "/api/v1/sales-documents/INV-1",
        json={"status": "cancelled"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert answer.status_code == 200, answer.data[:300]
    assert answer.get_json()["status"] == "cancelled"
    doc_id = d["doc"].id
    assert [(k, a) for k, a, *_ in notices()] == [
        (f"order_status:{doc_id}:cancelled", "anna@romashka.test"),
        (f"order_status:{doc_id}:cancelled", "shop@romashka.test"),
    ]


def test_an_event_reported_twice_is_sent_once(order_desk, notices):
    d = order_desk
    event = {"document_id": d["doc"].id, "status": "paid", "previous_status": "shipped"}
    key = f"order_status:{d['doc'].id}:paid"

    notify_client("order_status", key, d["partner"].id, event)
    notify_client("order_status", key, d["partner"].id, event)
    db.session.commit()
    notify_client("order_status", key, d["partner"].id, event)
    db.session.commit()

    assert [a for _k, a, *_ in notices()] == ["anna@romashka.test", "shop@romashka.test"]


def test_a_status_change_rolled_back_sends_nothing(order_desk, notices):
    d = order_desk
    assert import_rows("sales", [_sales_row("INV-1", d["partner"], "S-1", "paid")]).ok

    db.session.rollback()

    assert db.session.get(SalesDocument, d["doc"].id).status == "shipped"
    assert notices() == []


def test_no_order_notice_while_the_kind_is_off(order_desk, notices):
    d = order_desk
    d["setting"].enabled = False
    db.session.commit()

    assert import_rows("sales", [_sales_row("INV-1", d["partner"], "S-1", "paid")]).ok
    db.session.commit()

    assert db.session.get(SalesDocument, d["doc"].id).status == "paid"
    assert notices() == []


# --- overdue debt (scheduled) -------------------------------------------------------------------


@pytest.fixture
def debtors(app, utc_site, make_template, make_group):
    """A owes 1000 due 10.03.2026; B paid its 500 due 10.03; C owes 300 due 12.03."""
    a = create_partner(name="A", emails=["a@debt.test"])
    b = create_partner(name="B", emails=["b@debt.test"])
    c = create_partner(name="C", emails=["c@debt.test"])
    create_document(a, [1000], doc_no="A-1", date=date(2026, 3, 1), due_date=date(2026, 3, 10))
    create_document(b, [500], doc_no="B-1", date=date(2026, 3, 1), due_date=date(2026, 3, 10))
    create_payment(b, 500, date(2026, 3, 5), "B-1")
    create_document(c, [300], doc_no="C-1", date=date(2026, 3, 2), due_date=date(2026, 3, 12))
    template = make_template(text="Долг с {{ event.due_date }} на {{ event.as_of }}")
    return {
        "a": a,
        "b": b,
        "c": c,
        "template": template,
        "group": make_group("Service notices", "service"),
    }


def _day(d: int, month: int = 3) -> datetime:
    return datetime(2026, month, d, 9, 0)


def test_overdue_debt_is_told_on_day_n_then_every_m_days_until_paid(
    debtors, switch_on, notices, event_placeholder
):
    a, c = debtors["a"], debtors["c"]
    params = {"days_after_due": 3, "repeat_every_days": 7}
    switch_on("overdue_debt", debtors["template"], debtors["group"], _day(1), params)
    a_key = f"overdue_debt:{a.id}:2026-03-10"
    c_key = f"overdue_debt:{c.id}:2026-03-12"

    assert produce_scheduled(_day(12)) == {"overdue_debt": 0}  # A only 2 days late
    assert produce_scheduled(_day(13)) == {"overdue_debt": 1}  # A 3 days late: told
    assert produce_scheduled(_day(13)) == {"overdue_debt": 0}  # the same day again: nothing
    assert produce_scheduled(_day(15)) == {"overdue_debt": 1}  # C 3 days late; A waits
    assert produce_scheduled(_day(19)) == {"overdue_debt": 0}  # A 9 days late: same cycle
    assert produce_scheduled(_day(20)) == {"overdue_debt": 1}  # A 10 days late: again
    create_payment(a, 1000, date(2026, 3, 21), "A-1")
    assert produce_scheduled(_day(27)) == {"overdue_debt": 1}  # A paid; C 15 days late: again

    assert notices("overdue_debt") == [
        (f"{a_key}:0", "a@debt.test", a.id, None, "Долг с 2026-03-10 на 2026-03-13"),
        (f"{a_key}:1", "a@debt.test", a.id, None, "Долг с 2026-03-10 на 2026-03-20"),
        (f"{c_key}:0", "c@debt.test", c.id, None, "Долг с 2026-03-12 на 2026-03-15"),
        (f"{c_key}:1", "c@debt.test", c.id, None, "Долг с 2026-03-12 на 2026-03-27"),
    ]


def test_a_repeat_of_zero_days_tells_a_debt_once(debtors, switch_on, notices):
    params = {"days_after_due": 1, "repeat_every_days": 0}
    switch_on("overdue_debt", debtors["template"], debtors["group"], _day(1), params)

    for day in (11, 20, 30):
        produce_scheduled(_day(day))

    a, c = debtors["a"], debtors["c"]
    assert [k for k, *_ in notices()] == [
        f"overdue_debt:{a.id}:2026-03-10:0",
        f"overdue_debt:{c.id}:2026-03-12:0",
    ]


def test_a_debt_already_late_when_switched_on_waits_for_its_next_cycle(debtors, switch_on, notices):
    params = {"days_after_due": 3, "repeat_every_days": 7}
    # Switched on 25.03: A's cycle 1 fell due on 20.03 (before), cycle 2 on 27.03; C's
    # cycle 1 fell due on 22.03, cycle 2 on 29.03.
    switch_on("overdue_debt", debtors["template"], debtors["group"], _day(25), params)

    assert produce_scheduled(_day(25)) == {"overdue_debt": 0}
    assert produce_scheduled(_day(27)) == {"overdue_debt": 1}
    assert produce_scheduled(_day(29)) == {"overdue_debt": 1}

    a, c = debtors["a"], debtors["c"]
    assert [k for k, *_ in notices()] == [
        f"overdue_debt:{a.id}:2026-03-10:2",
        f"overdue_debt:{c.id}:2026-03-12:2",
    ]


def test_no_overdue_notice_while_off_or_never_set_up(debtors, switch_on, notices):
    assert produce_scheduled(_day(20)) == {}  # no setting at all
    switch_on("overdue_debt", debtors["template"], debtors["group"], _day(1), enabled=False)

    assert produce_scheduled(_day(20)) == {}
    assert notices() == []


# --- deal won (scheduled scan) ------------------------------------------------------------------


def test_won_deals_are_told_once_from_the_switch_on(
    app, utc_site, make_template, make_group, switch_on, notices, event_placeholder
):
    kind = create_deal_kind()
    p = create_partner(name="Клиент", emails=["client@deal.test"])

    def won(closed, updated=None):
        return create_deal(
            p, kind, status="won", closed_on=closed, updated_at=updated or datetime(2026, 3, 11)
        )

    told = won(date(2026, 3, 11))
    won(date(2026, 3, 5))  # won before the switch-on
    create_deal(p, kind)  # open
    won(date(2026, 3, 10), datetime(2026, 3, 10, 8, 0))  # the switch-on day, before it
    late_same_day = won(date(2026, 3, 10), datetime(2026, 3, 10, 10, 0))  # after it
    won(date(2026, 3, 20))  # a closing day still to come
    template = make_template(text="Сделка {{ event.deal_id }} выиграна")
    group = make_group("Service notices", "service")
    switch_on("deal_won", template, group, datetime(2026, 3, 10, 9, 0))

    assert produce_scheduled(datetime(2026, 3, 12, 12, 0)) == {"deal_won": 2}
    assert produce_scheduled(datetime(2026, 3, 12, 12, 10)) == {"deal_won": 0}

    assert (told.id, late_same_day.id) == (1, 5)
    assert notices() == [
        ("deal_won:1", "client@deal.test", p.id, None, "Сделка 1 выиграна"),
        ("deal_won:5", "client@deal.test", p.id, None, "Сделка 5 выиграна"),
    ]


def test_a_deal_won_on_the_board_is_told_once_even_when_reopened_and_won_again(
    app, make_user, make_template, make_group, switch_on, notices
):
    from crm.deals import stages

    manager = make_user("manager")
    kind = create_deal_kind(stages=("Offer",))
    p = create_partner(name="Клиент", emails=["client@deal.test"], responsible=manager)
    deal = create_deal(p, kind, manager=manager, created_on=date(2020, 1, 1))
    template, group = make_template(text="Уведомление"), make_group("Service notices", "service")
    switch_on("deal_won", template, group, utcnow() - timedelta(minutes=1))

    stages.win(manager, deal)
    db.session.commit()
    assert produce_scheduled() == {"deal_won": 1}
    stages.reopen(manager, deal)
    stages.win(manager, deal)
    db.session.commit()
    assert produce_scheduled() == {"deal_won": 0}

    assert [(k, a) for k, a, *_ in notices()] == [(f"deal_won:{deal.id}", "client@deal.test")]


# --- interaction reminder (scheduled) -----------------------------------------------------------


@pytest.fixture
def meetings(app, make_user, make_template, make_group, event_placeholder):
    """A partner (whose own address is not reminded) with contact persons Anna and Boris."""
    user = make_user("manager")
    partner = create_partner(
        name="Ромашка",
        emails=["office@romashka.test"],
        persons=[
            {"name": "Анна", "email": "anna@romashka.test"},
            {"name": "Борис", "phone": "+7 900 000-00-01"},
        ],
    )
    anna, boris = sorted(partner.contact_persons, key=lambda p: p.name)
    template = make_template(text="Встреча {{ event.interaction_id }} в {{ event.starts_at }}")
    return {
        "user": user,
        "partner": partner,
        "anna": anna,
        "boris": boris,
        "template": template,
        "group": make_group("Service notices", "service"),
    }


def _meeting(m, starts_at, person="anna", **fields):
    fields.setdefault("created_at", datetime(2026, 2, 20, 9, 0))
    return create_interaction(
        m["user"],
        kind=fields.pop("kind", "meeting"),
        starts_at=starts_at,
        partner=m["partner"],
        contact_person_id=m[person].id if person else None,
        **fields,
    )


def test_the_contact_person_is_reminded_hours_before_and_again_when_moved(
    meetings, switch_on, notices
):
    m = meetings
    meeting = _meeting(m, datetime(2026, 3, 3, 10, 0))
    _meeting(m, datetime(2026, 3, 3, 11, 0), status="completed")
    _meeting(m, datetime(2026, 3, 3, 11, 0), kind="email")
    _meeting(m, datetime(2026, 3, 3, 11, 0), person=None)
    _meeting(m, datetime(2026, 3, 3, 11, 0), person="boris")  # no e-mail: nothing to send
    switch_on(
        "interaction_reminder", m["template"], m["group"], datetime(2026, 3, 1),
        {"hours_before": 24},
    )  # fmt: skip

    assert produce_scheduled(datetime(2026, 3, 2, 9, 59)) == {"interaction_reminder": 0}
    assert produce_scheduled(datetime(2026, 3, 2, 10, 0)) == {"interaction_reminder": 1}
    assert produce_scheduled(datetime(2026, 3, 2, 18, 0)) == {"interaction_reminder": 0}
    meeting.starts_at = datetime(2026, 3, 4, 10, 0)  # moved a day later
    db.session.commit()
    assert produce_scheduled(datetime(2026, 3, 3, 10, 0)) == {"interaction_reminder": 1}

    pid, anna = m["partner"].id, m["anna"].id
    first, second = "2026-03-03T10:00:00", "2026-03-04T10:00:00"
    assert notices() == [
        (f"interaction_reminder:{meeting.id}:{first}", "anna@romashka.test", pid, anna,
         f"Встреча {meeting.id} в {first}"),
        (f"interaction_reminder:{meeting.id}:{second}", "anna@romashka.test", pid, anna,
         f"Встреча {meeting.id} в {second}"),
    ]  # fmt: skip


def test_a_meeting_planned_at_short_notice_is_reminded_at_once(meetings, switch_on, notices):
    m = meetings
    soon = _meeting(m, datetime(2026, 3, 2, 15, 0), created_at=datetime(2026, 3, 2, 10, 0))
    switch_on(
        "interaction_reminder", m["template"], m["group"], datetime(2026, 3, 2, 9, 0),
        {"hours_before": 24},
    )  # fmt: skip

    produce_scheduled(datetime(2026, 3, 2, 10, 5))

    assert [k for k, *_ in notices()] == [f"interaction_reminder:{soon.id}:2026-03-02T15:00:00"]


def test_a_reminder_due_before_the_switch_on_is_not_sent(meetings, switch_on, notices):
    m = meetings
    _meeting(m, datetime(2026, 3, 3, 9, 30))  # its reminder fell due on 02.03 at 09:30
    later = _meeting(m, datetime(2026, 3, 3, 10, 30))  # … at 10:30
    switch_on(
        "interaction_reminder", m["template"], m["group"], datetime(2026, 3, 2, 10, 0),
        {"hours_before": 24},
    )  # fmt: skip

    produce_scheduled(datetime(2026, 3, 2, 10, 30))

    assert [k for k, *_ in notices()] == [f"interaction_reminder:{later.id}:2026-03-03T10:30:00"]


def test_an_sms_reminder_goes_to_the_contact_persons_phone(
    meetings, switch_on, notices, make_template
):
    m = meetings
    meeting = _meeting(m, datetime(2026, 3, 3, 10, 0), person="boris")
    sms = make_template(channel="sms", text="Встреча завтра")
    switch_on("interaction_reminder", sms, m["group"], datetime(2026, 3, 1), {"hours_before": 2})

    produce_scheduled(datetime(2026, 3, 3, 8, 0))

    assert notices() == [
        (f"interaction_reminder:{meeting.id}:2026-03-03T10:00:00", "+79000000001",
         m["partner"].id, m["boris"].id, "Встреча завтра"),
    ]  # fmt: skip
