"""The partner pages in Russian: headings, plural counts (1 / 2 / 5, the capped "1 000+"),
dates as 04.12.2026, validation and flash messages, the History tab and import row errors.
Every expected string is written by hand."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

from sqlalchemy import insert

from crm.core.i18n import in_language
from crm.extensions import db
from crm.partners import services
from crm.partners.exchange import PARTNERS
from crm.partners.models import Partner
from tests.partners.helpers import HX, audit_entries, field_errors, form, text

NBSP = "\u00a0"


def count_line(page: str) -> str:
    """The words of the list's count line, the template's spaces and line breaks collapsed
    (a no-break space inside a number stays)."""
    start = page.index('id="partner-count">') + len('id="partner-count">')
    line = html.unescape(page[start : page.index("</p>", start)])
    return re.sub(r"[ \n]+", " ", line).strip()


def test_list_has_russian_headings_and_counts_partners_with_the_right_plural(
    client, login_as, make_partner
):
    me = login_as("manager", locale="ru")
    for city, n in (("Тула", 1), ("Казань", 2), ("Омск", 5)):
        for i in range(n):
            make_partner(name=f"{city} {i}", city=city, responsible=me, is_supplier=i == 0)

    page = text(client.get("/partners/"))
    counts = {
        city: count_line(text(client.get(f"/partners/?city={city}", headers=HX)))
        for city in ("Тула", "Казань", "Омск")
    }

    assert "<title>Партнёры · CRM</title>" in page
    assert '<h1 class="h3 me-auto mb-0">Партнёры</h1>' in page
    for heading in ("Наименование", "Код", "Роли", "Город", "Ответственный", "Телефон"):
        assert f"<th>{heading}</th>" in page
    assert '<td data-label="Роли">Клиент, Поставщик</td>' in page
    assert 'placeholder="Наименование, код, эл. почта, телефон или ИНН"' in page
    assert (
        '<option selected value="">Любая роль</option><option value="client">Клиент</option>'
        in page
    )
    assert count_line(page) == "8 партнёров"
    assert counts == {
        "Тула": "Найден 1 партнёр",
        "Казань": "Найдено 2 партнёра",
        "Омск": "Найдено 5 партнёров",
    }


def test_a_count_stopped_at_the_limit_reads_1_000_plus(client, login_as):
    me = login_as("manager", locale="ru")
    db.session.execute(
        insert(Partner.__table__),
        [
            {"code": f"C{i:05d}", "name": f"Клиент {i}", "name_norm": f"клиент {i:05d}"}
            | {"responsible_id": me.id, "is_client": True}
            for i in range(1001)
        ],
    )
    db.session.commit()

    russian = count_line(text(client.get("/partners/?role=client", headers=HX)))
    login_as("admin", locale="en")
    english = count_line(text(client.get("/partners/?role=client", headers=HX)))

    assert russian == f"Найдено 1{NBSP}000+ партнёров"
    assert english == "1,000+ partners found"


def test_card_is_russian_with_dates_as_day_month_year(client, login_as, make_partner):
    me = login_as("manager", locale="ru")
    p = make_partner(
        name="ООО Ромашка",
        responsible=me,
        created_on=date(2026, 12, 4),
        is_supplier=True,
        preferred_channel="phone",
        do_not_sms=True,
        persons=[{"name": "Анна", "position": "Директор", "birthday": date(1985, 4, 23)}],
    )

    card = text(client.get(f"/partners/{p.id}"))
    contacts = text(client.get(f"/partners/{p.id}?tab=contacts", headers=HX))

    for tab in ("Основное", "Контакты", "История"):
        assert f"data-tab-link>{tab}</a>" in card
    assert "· Организация · Клиент, Поставщик" in card
    assert (
        '<dt class="col-5 col-sm-4">Дата создания</dt><dd class="col-7 col-sm-8">04.12.2026</dd>'
        in card
    )
    assert 'Предпочтительный способ связи</dt><dd class="col-7 col-sm-8">Телефон</dd>' in card
    assert '<span class="badge text-bg-danger">SMS</span>' in card
    assert ">Изменить</a>" in card
    assert 'aria-label="Изменить: город"' in card
    assert "Директор · день рождения 23.04.1985" in contacts
    assert '<h2 class="h5 me-auto mb-0">Контактные лица</h2>' in contacts


def test_validation_errors_are_russian_and_nothing_is_saved(client, login_as):
    login_as("manager", locale="ru")

    response = client.post("/partners/new", data=form(name=" ", inn="12", email="ivan@@x.ru"))

    page = text(response)
    assert response.status_code == 422
    assert field_errors(page, "name") == ["Заполните поле «Наименование»."]
    assert field_errors(page, "inn") == ["ИНН — от 4 до 20 цифр (у российского ИНН 10 или 12)."]
    assert field_errors(page, "email") == ["'ivan@@x.ru' — неверный адрес электронной почты."]
    assert db.session.query(Partner).count() == 0


def test_long_name_says_how_many_characters_in_russian_plural(client, login_as):
    login_as("manager", locale="ru")

    pages = {n: text(client.post("/partners/new", data=form(name="Я" * n))) for n in (256, 301)}

    assert field_errors(pages[256], "name") == [
        "Поле «Наименование» слишком длинное: 256 символов, допустимо не более 255."
    ]
    assert field_errors(pages[301], "name") == [
        "Поле «Наименование» слишком длинное: 301 символ, допустимо не более 255."
    ]


def test_flash_after_saving_is_russian(client, login_as):
    login_as("manager", locale="ru")

    response = client.post("/partners/new", data=form(name="ООО Лютик"), follow_redirects=True)

    assert response.status_code == 200
    assert "Партнёр ООО Лютик создан." in text(response)


def test_history_tab_is_russian(client, login_as):
    me = login_as("manager", locale="ru", name="Мария Петрова")
    client.post("/partners/new", data=form(name="ООО Ромашка", city="Москва"))
    partner = db.session.query(Partner).one()
    services.save_contact_person(me, partner, {"name": "Анна"})
    db.session.commit()
    client.post(f"/partners/{partner.id}/fields/city", data={"value": "Казань", "version": "1"})

    history = text(client.get(f"/partners/{partner.id}?tab=history", headers=HX))

    created = audit_entries(partner.id)[0]
    # The entry's time in the user's zone (Moscow, UTC+3 all year), written by hand's rule.
    shown_at = (created.at + timedelta(hours=3)).strftime("%d.%m.%Y %H:%M")
    assert "<th>Когда</th><th>Кто</th><th>Что</th><th>Изменения</th>" in history
    assert f'<td data-label="Когда" class="text-nowrap">{shown_at}</td>' in history
    assert '<td data-label="Кто">Мария Петрова</td>' in history
    assert '<td data-label="Что">Партнёр создан</td>' in history
    assert '<td data-label="Что">Партнёр изменён</td>' in history
    assert '<td data-label="Что">Добавлено контактное лицо Анна</td>' in history
    assert "<strong>Город</strong>: <del>Москва</del> → Казань" in history
    assert "<strong>Роли</strong>: <del>—</del> → Клиент" in history
    assert "<strong>Не звонить</strong>: <del>—</del> → нет" in history
    # The partner's creation date is the day it was created (a date, kept as is).
    assert (
        f"<strong>Дата создания</strong>: <del>—</del> → {partner.created_on:%d.%m.%Y}" in history
    )


def test_import_row_errors_are_in_the_importers_language(app):
    row = {"kind": "robot", "inn": "12", "email": "x@@y.ru", "phone": "звоните", "manager": None}

    with app.test_request_context():
        with in_language("en"):
            english = [e.message for e in PARTNERS.check(2, dict(row), None)]
        with in_language("ru"):
            russian = [e.message for e in PARTNERS.check(2, dict(row), None)]

    assert english == [
        "must be company or person",
        "A tax id is 4 to 20 digits (10 or 12 for a Russian INN).",
        "'x@@y.ru' is not a valid e-mail address.",
        "'звоните' is not a phone number (use +country code, e.g. +7 495 123-45-67).",
    ]
    assert russian == [
        "допустимые значения: company или person",
        "ИНН — от 4 до 20 цифр (у российского ИНН 10 или 12).",
        "'x@@y.ru' — неверный адрес электронной почты.",
        "'звоните' — не номер телефона (укажите код страны, например +7 495 123-45-67).",
    ]


def test_contact_report_is_russian(client, login_as, make_partner):
    me = login_as("manager", locale="ru")
    make_partner(name="Альфа", responsible=me, do_not_call=True, do_not_mail=True)
    make_partner(
        name="Гамма",
        kind="person",
        responsible=me,
        persons=[{"name": "Иван", "birthday": date(1980, 1, 2)}],
    )

    partners = text(client.get("/partners/reports/contacts"))
    persons = text(client.get("/partners/reports/persons"))
    download = client.get("/partners/reports/contacts?format=csv").get_data(as_text=True)

    assert '<h1 class="h4 me-auto mb-0">Контактная информация партнёров</h1>' in partners
    assert "2 партнёра; в выгрузках — все строки отбора." in partners
    assert '<td data-label="Запрет на связь">звонки, обычная почта</td>' in partners
    assert '<td data-label="Вид">Физическое лицо</td>' in partners
    assert '<td data-label="День рождения">02.01.1980</td>' in persons
    assert download.splitlines()[0] == (
        "\ufeffКод,Партнёр,Вид,Роли,ИНН,Город,Ответственный,Эл. почта,Телефоны,Адреса,"
        "Мессенджеры,Сайты,Предпочтительный способ связи,Запрет на связь"
    )
