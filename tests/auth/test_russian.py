"""The auth pages in Russian (and English for an English user): navigation, the account page
with its sessions and tokens, a flash message, form errors (ours, WTForms' and zxcvbn's advice),
the users admin page, and the plurals of the throttle's seconds. Expected texts are written by
hand."""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest
import zxcvbn.feedback
from babel.messages.extract import extract_from_file
from sqlalchemy import update

from crm.auth.models import ApiToken, UserSession
from crm.auth.password_feedback import FEEDBACK
from crm.auth.services import Throttled
from crm.core.i18n import in_language
from crm.extensions import db
from tests.conftest import DEFAULT_PASSWORD

NBSP = "\u00a0"


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def fixed_times(user, at: datetime) -> None:
    """Give the user's sessions and tokens a known time (naive UTC), so dates are predictable."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id)
        .values(created_at=at, last_seen_at=at)
    )
    db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id).values(created_at=at, last_used_at=at)
    )
    db.session.commit()


def test_nav_and_account_page_in_russian_with_russian_dates(client, login_as):
    user = login_as("manager", locale="ru", timezone="Europe/Moscow", name="Ирина")
    client.post("/auth/account/tokens", data={"token-name": "Обмен с ERP"})
    fixed_times(user, datetime(2026, 12, 4, 7, 30))  # 10:30 in Moscow (UTC+3)

    page = text_of(client.get("/auth/account"))

    # The navigation (templates/base.html, core catalog) and the role badge.
    assert ">Выйти</button>" in page
    assert "Уведомления" in page and "Менеджер" in page
    # The account page itself.
    for text in (
        '<h1 class="h3">Ваша учётная запись</h1>',
        "Сменить пароль",
        "Где выполнен вход",
        "API-токены",
        "Создать токен",
        "Документация API",
        'data-label="Устройство"',
        "это устройство",
        "Выйти на всех устройствах",
    ):
        assert text in page, text
    # Session lifetime: 30 days → "30 дней" (the plural for 5–20, 25–30).
    assert "не позднее чем через 30 дней после входа" in page
    # Session and token times in the user's zone and Russian format.
    assert page.count("04.12.2026 10:30") >= 3  # session signed in + last active, token created
    assert "Dec" not in page


def test_account_page_in_english_for_an_english_user(client, login_as):
    user = login_as("manager", locale="en", timezone="Europe/Moscow")
    fixed_times(user, datetime(2026, 12, 4, 7, 30))

    page = text_of(client.get("/auth/account"))

    assert "Your account" in page and "Where you are signed in" in page
    assert "4 Dec 2026, 10:30" in page
    assert "30 days after signing in at the latest" in page


def test_flash_message_in_russian(client, login_as):
    login_as("manager", locale="ru")
    client.post("/auth/account/tokens", data={"token-name": "Скрипт"})
    token_id = db.session.execute(db.select(ApiToken.id)).scalar_one()

    response = client.post(f"/auth/account/tokens/{token_id}/revoke", follow_redirects=True)

    assert "API-токен «Скрипт» отозван." in text_of(response)


def test_signed_out_flash_follows_the_browsers_language(client, login_as):
    login_as("manager", locale="ru")

    response = client.post(
        "/auth/logout", headers={"Accept-Language": "ru-RU,ru;q=0.9"}, follow_redirects=True
    )

    assert "Вы вышли из системы." in text_of(response)


def test_form_errors_in_russian_ours_and_zxcvbns(client, login_as):
    login_as("manager", locale="ru")

    short = text_of(
        client.post("/auth/account", data={"current": DEFAULT_PASSWORD, "password": "abc"})
    )
    weak = text_of(
        client.post("/auth/account", data={"current": DEFAULT_PASSWORD, "password": "aaaaaaaaaaaa"})
    )

    # The short one: its field's message (the plural of 10 is "символов").
    assert '<div class="invalid-feedback d-block">Не менее 10 символов.</div>' in short
    # zxcvbn's warning and suggestions for a repeat, through the mapping of its texts.
    assert (
        "Этот пароль слишком легко угадать. Повторы вроде «aaa» легко угадать. "
        "Добавьте ещё слово-другое. Лучше редкие слова. "
        "Избегайте повторяющихся слов и символов."
    ) in weak


def test_wtforms_own_validator_messages_come_out_in_russian(client, login_as):
    login_as("manager", locale="ru")

    page = text_of(client.post("/auth/account", data={"current": "", "password": ""}))

    # WTForms' DataRequired, translated by Flask-WTF's i18n for the ru locale.
    assert "Обязательное поле." in page
    assert "This field is required." not in page


def test_sign_in_page_and_wrong_password_in_russian(client, make_user):
    user = make_user("manager", locale="ru")
    ru = {"Accept-Language": "ru"}

    page = text_of(client.get("/auth/login", headers=ru))
    refused = text_of(
        client.post(
            "/auth/login", data={"email": user.email, "password": "wrong-password"}, headers=ru
        )
    )

    assert '<h1 class="h3 my-3">Войти</h1>' in page and "Запомнить меня" in page
    assert "Неверный e-mail или пароль, либо учётная запись отключена." in refused


def test_users_admin_page_in_russian(client, login_as, make_user):
    login_as("admin", locale="ru")
    make_user("viewer", email="viewer@example.test", name="Пётр")

    page = text_of(client.get("/auth/users"))

    assert '<h1 class="h3">Пользователи</h1>' in page
    assert "Пригласить пользователя" in page
    assert re.search(r'data-label="Роль">Наблюдатель<', page)
    assert re.search(r'data-label="Состояние">активен<', page)


@pytest.mark.parametrize(
    "seconds, expected",
    [
        (1, "через 1 секунду."),
        (2, "через 2 секунды."),
        (5, "через 5 секунд."),
        (21, "через 21 секунду."),
        (12, "через 12 секунд."),
    ],
)
def test_throttle_message_has_russian_plurals(app, seconds, expected):
    """1 секунду, 2 секунды, 5 секунд; 21 like 1 and 12 like 5."""
    with app.test_request_context(), in_language("ru"):
        message = Throttled(seconds).message

    assert message == f"Слишком много неудачных попыток входа. Попробуйте снова {expected}"


def test_every_zxcvbn_feedback_text_is_mapped():
    """A zxcvbn upgrade that adds a text fails here, not silently in English."""
    texts = {msg for _l, msg, _c, _ctx in extract_from_file("python", zxcvbn.feedback.__file__)}

    assert texts and texts <= set(FEEDBACK)


def test_sign_in_required_answer_follows_the_browsers_language(client):
    ru = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}

    response = client.post("/auth/account", headers=ru)

    assert response.status_code == 401
    assert response.get_data(as_text=True) == "Требуется вход."
