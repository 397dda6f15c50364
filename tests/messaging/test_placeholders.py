"""The placeholders messaging offers to templates: the partner, the contact, the manager and the
debt in every message; the order, the deal and the interaction of their notifications. Values
are plain data, loaded for a whole batch in a few queries; expected values are worked out by
hand from the rows each test writes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from crm.core.message_placeholders import Recipient, placeholders
from crm.core.timeutil import site_today
from crm.extensions import db
from crm.messaging.compose import applicable, compose, contexts, sample_context
from crm.partners.models import ContactPerson
from tests.factories import create_document, create_partner, create_payment

GENERAL = ["partner", "contact", "manager", "debt"]


def person_of(partner) -> ContactPerson:
    return db.session.query(ContactPerson).filter_by(partner_id=partner.id).one()


@pytest.fixture
def people(app, make_user):
    anna = make_user("manager", name="Анна Смирнова", email="anna@crm.test")
    romashka = create_partner(
        "ООО «Ромашка»",
        responsible=anna,
        code="К-001",
        city="Казань",
        inn="1655123456",
        emails=["info@romashka.test"],
        persons=[{"name": "Ирина Волкова", "position": "бухгалтер", "email": "iv@romashka.test"}],
    )
    lyutik = create_partner("Иванов Пётр", code="К-002", kind="person", phones=["+79001112233"])
    return {"anna": anna, "romashka": romashka, "lyutik": lyutik}


def test_which_placeholders_a_message_gets(app):
    assert [p.key for p in applicable("")] == GENERAL
    assert [p.key for p in applicable("order_status")] == [*GENERAL, "order"]
    assert [p.key for p in applicable("deal_won")] == [*GENERAL, "deal"]
    assert [p.key for p in applicable("interaction_reminder")] == [*GENERAL, "interaction"]
    assert [p.key for p in applicable("overdue_debt")] == GENERAL


def test_partner_contact_and_manager_of_each_recipient(app, people):
    romashka, lyutik = people["romashka"], people["lyutik"]
    irina = person_of(romashka)
    recipients = [
        Recipient(romashka.id, None, "email", "info@romashka.test", "info@romashka.test", "ru"),
        Recipient(romashka.id, irina.id, "email", "iv@romashka.test", "iv@romashka.test", "en"),
        Recipient(lyutik.id, None, "sms", "+79001112233", "+79001112233", "ru"),
        Recipient(None, None, "email", "lost@x.test", "lost@x.test"),  # no partner any more
    ]

    found = contexts(recipients)

    # The kind in each recipient's language.
    assert [c["partner"] for c in found] == [
        {"name": "ООО «Ромашка»", "code": "К-001", "city": "Казань", "inn": "1655123456",
         "kind": "Организация"},
        {"name": "ООО «Ромашка»", "code": "К-001", "city": "Казань", "inn": "1655123456",
         "kind": "Company"},
        {"name": "Иванов Пётр", "code": "К-002", "city": "", "inn": "", "kind": "Физическое лицо"},
        {"name": "", "code": "", "city": "", "inn": "", "kind": ""},
    ]  # fmt: skip
    assert [c["contact"] for c in found] == [
        {"name": "ООО «Ромашка»", "position": "", "address": "info@romashka.test"},
        {"name": "Ирина Волкова", "position": "бухгалтер", "address": "iv@romashka.test"},
        {"name": "Иванов Пётр", "position": "", "address": "+79001112233"},
        {"name": "", "position": "", "address": "lost@x.test"},
    ]
    assert [c["manager"] for c in found] == [
        {"name": "Анна Смирнова", "email": "anna@crm.test"},
        {"name": "Анна Смирнова", "email": "anna@crm.test"},
        {"name": "", "email": ""},  # nobody is responsible for him
        {"name": "", "email": ""},
    ]


def test_the_debt_is_the_receivable_today_from_documents_and_payments(app, people):
    today = site_today()
    romashka, lyutik = people["romashka"], people["lyutik"]
    # Ромашка: 1 000 due 40 days ago and 500 due in 10 days; 300 paid without a document
    # settles the oldest first: 700 of the first stays overdue. Debt 1 000 + 500 − 300 = 1 200.
    create_document(romashka, [1000], date=today - timedelta(days=50),
                    due_date=today - timedelta(days=40))  # fmt: skip
    create_document(romashka, [500], date=today - timedelta(days=5),
                    due_date=today + timedelta(days=10))  # fmt: skip
    create_payment(romashka, 300, today - timedelta(days=3))
    # Лютик paid 250 for a 100 invoice: 150 of credit, which is no debt.
    doc = create_document(lyutik, [100], date=today - timedelta(days=30),
                          due_date=today - timedelta(days=20))  # fmt: skip
    create_payment(lyutik, 250, today - timedelta(days=2), doc_no=doc.doc_no)
    nobody = create_partner("Без документов")
    # A document dated tomorrow does not exist yet.
    create_document(nobody, [999], date=today + timedelta(days=1))
    recipients = [Recipient(p.id) for p in (romashka, lyutik, nobody)]

    debts = [c["debt"] for c in contexts(recipients)]

    assert debts == [
        {"total": Decimal("1200.00"), "overdue": Decimal("700.00"),
         "oldest_due": today - timedelta(days=40), "days_overdue": 40, "as_of": today},
        {"total": Decimal("0.00"), "overdue": Decimal("0.00"), "oldest_due": None,
         "days_overdue": 0, "as_of": today},
        {"total": Decimal("0.00"), "overdue": Decimal("0.00"), "oldest_due": None,
         "days_overdue": 0, "as_of": today},
    ]  # fmt: skip


def test_a_debt_reminder_reads_as_the_client_will(app, people, make_template):
    today = site_today()
    romashka = people["romashka"]
    create_document(romashka, [48200], date=today - timedelta(days=30),
                    due_date=today - timedelta(days=17))  # fmt: skip
    template = make_template(
        "Debt", "sms",
        ru={"body_text": "{{ partner.name }}: долг {{ debt.overdue|money }} с {{ debt.oldest_due|date }}"},
    )  # fmt: skip
    [message] = compose(template, [Recipient(romashka.id, None, "sms", "+7", "+7", "ru")])
    due = today - timedelta(days=17)
    expected_date = f"{due.day:02d}.{due.month:02d}.{due.year}"
    assert message.text == f"ООО «Ромашка»: долг 48\u00a0200,00\u00a0₽ с {expected_date}"


def test_the_order_of_a_status_notification(app, people):
    romashka = people["romashka"]
    doc = create_document(romashka, [1200, 300.5], doc_no="ЗК-77", date=date(2026, 11, 2),
                          due_date=date(2026, 11, 16), status="shipped")  # fmt: skip
    recipients = [
        Recipient(romashka.id, event={"document_id": doc.id, "status": "shipped",
                                      "previous_status": "ordered"}),
        Recipient(romashka.id, event={"document_id": str(doc.id), "status": "in_transit"}),
        Recipient(romashka.id, event={"document_id": 999_999}),
        Recipient(romashka.id, event={}),
    ]  # fmt: skip

    orders = [c["order"] for c in contexts(recipients, "order_status")]

    assert orders[0] == {
        "number": "ЗК-77", "date": date(2026, 11, 2), "status": "Отгружен",
        "previous_status": "Заказан", "total": Decimal("1500.50"), "due_date": date(2026, 11, 16),
    }  # fmt: skip
    # A status the sales domain does not know (sent by the API) is shown as it came.
    assert orders[1]["status"] == "in_transit" and orders[1]["previous_status"] == ""
    assert orders[1]["number"] == "ЗК-77"
    for missing in orders[2:]:
        assert missing == {"number": "", "date": None, "status": "", "previous_status": "",
                           "total": Decimal("0.00"), "due_date": None}  # fmt: skip


def test_the_deal_of_a_deal_won_notification(app, people, make_deal_kind, make_deal):
    kind = make_deal_kind("Поставка")
    deal = make_deal(people["romashka"], kind, status="won", amount="250000.5",
                     closed_on=date(2026, 11, 20), deal_no="СД-9", title="Стеллажи")  # fmt: skip
    [won, gone] = contexts(
        [Recipient(people["romashka"].id, event={"deal_id": deal.id}),
         Recipient(people["romashka"].id, event={"deal_id": "x"})],
        "deal_won",
    )  # fmt: skip
    assert won["deal"] == {"number": "СД-9", "title": "Стеллажи",
                           "amount": Decimal("250000.50"), "won_on": date(2026, 11, 20),
                           "kind": "Поставка"}  # fmt: skip
    assert gone["deal"]["number"] == "" and gone["deal"]["amount"] == Decimal("0.00")


def test_the_interaction_of_a_reminder_is_in_the_sites_zone_and_the_readers_language(
    app, people, make_interaction
):
    app.config["DEFAULT_TIMEZONE"] = "Europe/Moscow"  # UTC+3
    meeting = make_interaction(
        people["anna"], kind="meeting", partner=people["romashka"],
        starts_at=datetime(2026, 3, 10, 8, 0), duration_minutes=90,
        title="Договор поставки", address="Казань, ул. Баумана, 12",
    )  # fmt: skip
    call = make_interaction(people["anna"], kind="call", title="",
                            starts_at=datetime(2026, 3, 10, 22, 30))  # fmt: skip
    found = contexts(
        [
            Recipient(people["romashka"].id, language="ru",
                      event={"interaction_id": meeting.id}),
            Recipient(people["romashka"].id, language="en",
                      event={"interaction_id": meeting.id}),
            Recipient(None, language="en", event={"interaction_id": call.id}),
        ],
        "interaction_reminder",
    )  # fmt: skip
    assert found[0]["interaction"] == {
        "title": "Договор поставки", "kind": "Встреча", "starts_at": "10.03.2026 11:00",
        "date": date(2026, 3, 10), "time": "11:00", "duration_minutes": 90,
        "place": "Казань, ул. Баумана, 12",
    }  # fmt: skip
    assert found[1]["interaction"]["starts_at"] == "10 Mar 2026, 11:00"
    assert found[1]["interaction"]["kind"] == "Meeting"
    # 22:30 UTC is 01:30 the next day in Moscow; an untitled call is named by its kind.
    assert found[2]["interaction"]["starts_at"] == "11 Mar 2026, 01:30"
    assert found[2]["interaction"]["date"] == date(2026, 3, 11)
    assert found[2]["interaction"]["title"] == "Phone call"


def test_loaders_read_a_batch_in_the_same_few_queries_whatever_its_size(app, make_user):
    manager = make_user("manager")
    partners = [
        create_partner(f"P{n}", responsible=manager, emails=[f"p{n}@x.test"], commit=False)
        for n in range(40)
    ]
    db.session.commit()

    def queries_for(n: int) -> int:
        recipients = [
            Recipient(p.id, None, "email", f"p{i}@x.test", f"p{i}@x.test")
            for i, p in enumerate(partners[:n])
        ]
        statements = []

        def count(*_args):
            statements.append(1)

        engine = db.session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            contexts(recipients, "order_status")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    assert queries_for(40) == queries_for(2) <= 8


def test_every_sample_is_plain_data(app):
    allowed = (str, int, Decimal, date, type(None))
    for placeholder in placeholders():
        value = placeholder.sample()
        assert isinstance(value, dict), placeholder.key
        assert {name for name, _title in placeholder.fields} == set(value), placeholder.key
        for key, item in value.items():
            assert isinstance(item, allowed), (placeholder.key, key, type(item))


def test_loaded_values_have_the_fields_the_editor_lists(app, people):
    recipient = Recipient(people["romashka"].id, event={})
    for placeholder in placeholders():
        [value] = placeholder.load([recipient])
        assert {name for name, _title in placeholder.fields} == set(value), placeholder.key


def test_the_sample_context_of_a_mailing_holds_the_general_placeholders(app):
    context = sample_context()
    assert set(context) == {*GENERAL, "unsubscribe_url"}
    assert context["partner"]["name"] == "ООО «Ромашка»"
