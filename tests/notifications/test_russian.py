"""Notifications in the reader's language: the list and badge for a Russian user (plurals,
dates), and the e-mail copies through a real SMTP server, each in its recipient's language and
time zone. Expected texts are written by hand; expected times are computed with zoneinfo."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from crm.extensions import db
from crm.notifications import mail
from crm.notifications.models import Notification
from tests.notifications import helpers
from tests.notifications.helpers import add

smtp_inbox = helpers.smtp_inbox  # a fixture

EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def local(at, zone: str):
    """A naive-UTC time in `zone` (by zoneinfo, not by the app's formatting)."""
    return at.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone))


def test_list_and_badge_in_russian_with_plural_and_russian_date(client, login_as):
    user = login_as("manager", locale="ru", timezone="Asia/Omsk")
    for i in range(2):
        add(user, f"k{i}", f"Напоминание {i}")
    db.session.execute(update(Notification).values(created_at=datetime(2026, 12, 4, 7, 30)))
    db.session.commit()

    page = html.unescape(client.get("/notifications/").get_data(as_text=True))
    badge = client.get("/notifications/badge").get_data(as_text=True)

    assert '<h1 class="h3 mb-0 me-auto">Уведомления</h1>' in page
    assert "2 непрочитанных" in page
    assert "Отметить все как прочитанные" in page and ">новое<" in page
    assert page.count("04.12.2026 13:30") == 2  # 07:30 UTC in Omsk (UTC+6)
    assert "Уведомления" in badge and '>2<span class="visually-hidden"> непрочитанных<' in badge


@pytest.mark.parametrize(
    "count, expected", [(1, "1 непрочитанное"), (3, "3 непрочитанных"), (5, "5 непрочитанных")]
)
def test_unread_count_has_russian_plurals(client, login_as, count, expected):
    user = login_as("manager", locale="ru")
    for i in range(count):
        add(user, f"k{i}", f"Напоминание {i}")

    page = client.get("/notifications/").get_data(as_text=True)

    assert expected in page


def test_empty_list_in_russian(client, login_as):
    login_as("viewer", locale="ru")

    page = client.get("/notifications/").get_data(as_text=True)

    assert "Уведомлений нет." in page


def test_email_copy_is_in_each_recipients_language_and_zone(app, make_user, smtp_inbox):
    ru = make_user("manager", email="ru@example.test", locale="ru", timezone="Europe/Moscow")
    en = make_user("manager", email="en@example.test", locale="en", timezone="Asia/Vladivostok")
    add(ru, "r", "Встреча с ООО Ромашка в 13:15", body="Договор", url="/interactions/3")
    add(en, "e", "Meeting with ООО Ромашка at 13:15", url="/interactions/4")
    created = {
        key: at
        for key, at in db.session.execute(db.select(Notification.key, Notification.created_at))
    }

    assert mail.deliver_pending() == 2

    got = {m[1][0]: m[2] for m in smtp_inbox.messages}
    msk = local(created["r"], "Europe/Moscow")
    vvo = local(created["e"], "Asia/Vladivostok")
    ru_when = f"{msk.day:02d}.{msk.month:02d}.{msk.year} {msk.hour:02d}:{msk.minute:02d}"
    en_when = f"{vvo.day} {EN_MONTHS[vvo.month - 1]} {vvo.year}, {vvo.hour:02d}:{vvo.minute:02d}"
    ru_mail = got["ru@example.test"]
    assert ru_mail["Subject"] == "Встреча с ООО Ромашка в 13:15"
    assert ru_mail.get_content().replace("\r\n", "\n") == (
        "Встреча с ООО Ромашка в 13:15\n\nДоговор\n\n"
        "Открыть в CRM: https://crm.example.test/interactions/3\n\n"
        "-- \n"
        f"Уведомление CRM от {ru_when} (Europe/Moscow).\n"
        "Все ваши уведомления: https://crm.example.test/notifications/\n"
    )
    en_mail = got["en@example.test"]
    assert en_mail.get_content().replace("\r\n", "\n") == (
        "Meeting with ООО Ромашка at 13:15\n\n"
        "Open in the CRM: https://crm.example.test/interactions/4\n\n"
        "-- \n"
        f"A CRM notification of {en_when} (Asia/Vladivostok).\n"
        "All your notifications: https://crm.example.test/notifications/\n"
    )


def test_email_copy_language_does_not_leak_into_the_next_one(app, make_user, smtp_inbox):
    """Sent one after another in one run: the Russian copy does not leave Russian behind."""
    first = make_user("manager", email="a@example.test", locale="ru")
    second = make_user("manager", email="b@example.test", locale="en")
    add(first, "a", "Первое", minutes_ago=2)
    add(second, "b", "Second", minutes_ago=1)

    mail.deliver_pending()

    bodies = {m[1][0]: m[2].get_content() for m in smtp_inbox.messages}
    assert "Все ваши уведомления" in bodies["a@example.test"]
    assert "All your notifications" in bodies["b@example.test"]
