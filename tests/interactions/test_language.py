"""Interactions in Russian: the list, the interaction's page, the calendar's views and the
reminders speak the reader's language and write dates, times and counts his way (04.12.2026
10:30 in his zone, "пятница, 4 декабря 2026", "3 взаимодействия"); a reminder is written in its
recipient's language and zone, whoever runs the job.

Every expected string is written out by hand: Moscow is UTC+3 all year, Yekaterinburg UTC+5;
4 December 2026 is a Friday, the week around it runs Monday 30 November – Sunday 6 December.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.interactions.jobs import send_reminders
from crm.notifications.models import Notification
from tests.interactions.helpers import add_interaction
from tests.partners.helpers import HX, text

MOSCOW = "Europe/Moscow"


def words(response) -> str:
    """The page's text: tags dropped, entities decoded, white space folded."""
    page = re.sub(r"<[^>]+>", " ", text(response))
    return re.sub(r"\s+", " ", html.unescape(page))


@pytest.fixture
def anna(login_as, make_partner):
    """A manager reading Russian in Moscow, with a partner."""
    user = login_as("manager", locale="ru", timezone=MOSCOW, name="Анна Петрова")
    user.romashka = make_partner(name="ООО Ромашка", responsible=user)
    return user


# --- the list and the interaction's page --------------------------------------------------


def test_list_is_in_russian_with_local_dates_durations_and_plurals(client, anna):
    # 07:30 UTC is 10:30 in Moscow.
    add_interaction(anna, datetime(2026, 12, 4, 7, 30), 90, title="Переговоры о цене")
    for n in range(2):
        add_interaction(
            anna,
            datetime(2026, 12, 3, 9 + n, 0),
            5,
            kind="call",
            title=f"Звонок {n + 1}",
            contact_text="Пётр",
        )
    for n in range(2):
        add_interaction(
            anna, datetime(2026, 12, 2, 9 + n, 0), 0, kind="email", title=f"Письмо {n + 1}"
        )

    page = words(client.get("/interactions/"))

    assert "Взаимодействия" in page and "Мои необработанные" in page
    assert "Записать звонок" in page and "Запланировать встречу" in page
    assert "5 взаимодействий" in page  # 5: the third plural form
    assert "04.12.2026 10:30 · 90 мин" in page
    assert "Встреча" in page and "Телефонный звонок" in page and "Электронное письмо" in page
    assert "Запланировано" in page
    assert "Найдено 2 взаимодействия" in words(client.get("/interactions/?kind=call"))
    assert "Найдено 1 взаимодействие" in words(client.get("/interactions/?kind=meeting"))


def test_grouping_by_day_has_russian_day_headings(client, anna):
    add_interaction(anna, datetime(2026, 12, 4, 7, 30), title="В пятницу")
    # 22:30 UTC on the 3rd is already 01:30 on Friday the 4th in Moscow.
    add_interaction(anna, datetime(2026, 12, 3, 22, 30), title="Ночью")
    add_interaction(anna, datetime(2026, 11, 30, 6, 0), title="В понедельник")

    response = client.get("/interactions/?group=day", headers=HX)

    headings = re.findall(r'group-heading">\s*(.*?)\s*</div>', text(response), re.S)
    assert headings == ["Пятница, 4 декабря 2026", "Понедельник, 30 ноября 2026"]


def test_interaction_page_in_russian_shows_its_title_once(client, anna):
    i = add_interaction(
        anna,
        datetime(2026, 12, 4, 7, 30),
        90,
        title="Переговоры о цене",
        partner=anna.romashka,
        remind_minutes=30,
    )

    response = client.get(f"/interactions/{i.id}")

    page = text(response)
    body = page.split("<main", 1)[1]
    assert body.count("Переговоры о цене") == 1  # the heading; the row below leaves it out
    assert '<h1 class="h3 me-auto mb-0">Переговоры о цене</h1>' in body
    shown = words(response)
    assert "Когда 04.12.2026 10:30 – 12:00 (90 мин)" in shown
    assert "Напоминание за 30 мин" in shown
    assert "Выполнить" in shown and "Отложить…" in shown and "Ответить" in shown


def test_created_interaction_is_announced_in_russian(client, anna):
    response = client.post(
        "/interactions/new",
        data={
            "kind": "meeting",
            "status": "planned",
            "title": "Показ образцов",
            "responsible_id": str(anna.id),
            "starts_at": "2026-12-10T11:30",
            "duration_minutes": "60",
            "remind_minutes": "15",
        },
        follow_redirects=True,
    )

    page = words(response)
    assert "Встреча: сохранено." in page
    assert "Когда 10.12.2026 11:30 – 12:30 (60 мин)" in page


def test_form_errors_are_in_russian(client, anna):
    response = client.post(
        "/interactions/new",
        data={"kind": "email", "status": "completed", "starts_at": "завтра", "direction": ""},
    )

    assert response.status_code == 422
    page = words(response)
    assert "Введите дату и время (ГГГГ-ММ-ДД ЧЧ:ММ)." in page


# --- the calendar ----------------------------------------------------------------------------


@pytest.fixture
def friday(anna):
    """Six meetings on Friday 4 December, 10:30 … 15:30 in Moscow, 90 minutes each."""
    return [
        add_interaction(anna, datetime(2026, 12, 4, 7 + n, 30), 90, title=f"Встреча {n + 1}")
        for n in range(6)
    ]


def test_calendar_month_in_russian(client, friday):
    response = client.get("/interactions/calendar?view=month&date=2026-12-04")
    page = words(response)

    assert "Календарь событий" in page
    assert 'id="calendar-period">Декабрь 2026</h2>' in text(response)
    assert "Пн Вт Ср Чт Пт Сб Вс" in page  # the weekday row, Monday first
    assert "пт 4 дек." in page and "пн 30 нояб." in page  # day names of the cells
    assert "6 событий" in page
    # A month cell lists four items, then "ещё 2" (a link to the day).
    assert re.search(r'class="cal-more"[^>]*>ещё 2</a>', text(response))
    assert "Пятница, 4 декабря 2026, 10:30 – 12:00" in page  # an item's details
    assert "Месяц" in page and "Неделя" in page and "Список" in page and "Сегодня" in page
    assert "Перейти к дате" in page and "Перенести" in page and "+1 день" in page


def test_calendar_week_day_and_agenda_in_russian(client, friday):
    week = client.get("/interactions/calendar?view=week&date=2026-12-04")
    assert 'id="calendar-period">30.11.2026 – 06.12.2026</h2>' in text(week)
    assert re.search(r"cal-colhead[^>]*>\s*<a [^>]*>пт 4 дек\.</a>", text(week))
    assert "10:30–12:00" in words(week)

    day = client.get("/interactions/calendar?view=day&date=2026-12-04")
    assert 'id="calendar-period">Пятница, 4 декабря 2026</h2>' in text(day)

    agenda = client.get("/interactions/calendar?view=agenda&date=2026-12-01", headers=HX)
    assert 'id="calendar-period">01.12.2026 – 30.12.2026</h2>' in text(agenda)
    assert re.search(r'<h3 class="h6 mb-1">\s*<a [^>]*>Пятница, 4 декабря 2026</a>', text(agenda))


def test_calendar_counts_one_and_two_items_in_russian(client, anna):
    add_interaction(anna, datetime(2026, 12, 4, 7, 30), title="Одна")
    assert "1 событие" in words(client.get("/interactions/calendar?view=day&date=2026-12-04"))
    add_interaction(anna, datetime(2026, 12, 4, 9, 0), title="Вторая")
    assert "2 события" in words(client.get("/interactions/calendar?view=day&date=2026-12-04"))


def test_calendar_move_is_announced_in_russian(client, anna):
    i = add_interaction(anna, datetime(2026, 12, 4, 7, 30), 90, title="Встреча с клиентом")

    response = client.post(
        f"/interactions/{i.id}/reschedule",
        headers=HX,
        data={"starts_at": "2027-01-15T10:30", "view": "month", "date": "2027-01-15"},
    )

    assert response.status_code == 200
    assert "«Встреча с клиентом» перенесено на 15.01.2027 10:30." in words(response)


# --- reminders -------------------------------------------------------------------------------


def test_reminders_are_written_in_each_recipients_language_and_zone(app, make_user, make_partner):
    ru = make_user("manager", locale="ru", timezone=MOSCOW)
    en = make_user("manager", locale="en", timezone="Asia/Yekaterinburg")
    now = datetime(2026, 11, 28, 10, 0)  # UTC
    # Both start at 10:10 UTC, 15 minutes' reminder: due now.
    add_interaction(ru, datetime(2026, 11, 28, 10, 10), partner=make_partner(name="Ромашка"),
                    remind_minutes=15, title="")  # fmt: skip
    add_interaction(en, datetime(2026, 11, 28, 10, 10), partner=make_partner(name="Acme"),
                    remind_minutes=15, title="")  # fmt: skip
    # Follow-ups that came due yesterday (the day is written out: it is not today).
    add_interaction(ru, datetime(2026, 11, 20, 9, 0), kind="call", status="completed",
                    contact_text="Пётр", follow_up_at=datetime(2026, 11, 27, 6, 0))  # fmt: skip
    add_interaction(en, datetime(2026, 11, 20, 9, 0), kind="call", status="completed",
                    contact_text="Peter", follow_up_at=datetime(2026, 11, 27, 6, 0))  # fmt: skip

    send_reminders(now=now)

    db.session.expire_all()
    titles = {
        (user_id, title)
        for user_id, title in db.session.execute(select(Notification.user_id, Notification.title))
    }
    assert titles == {
        (ru.id, "Встреча, Ромашка — 13:10"),
        (ru.id, "Пора ответить: Телефонный звонок, Пётр (27.11.2026 09:00)"),
        (en.id, "Meeting with Acme at 15:10"),
        (en.id, "Follow-up due: Phone call with Peter (27 Nov 2026, 11:00)"),
    }
