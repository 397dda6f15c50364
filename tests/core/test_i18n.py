"""The interface language: catalogs complete and current, the language chosen per user, the
formats of dates, numbers and money in both languages (crm/core/i18n.py, catalogs.py,
formats.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from crm.core import catalogs
from crm.core.formats import fmt_date, fmt_datetime, fmt_money, fmt_number, fmt_percent
from crm.extensions import db

NBSP = "\N{NO-BREAK SPACE}"


def test_every_string_of_the_code_is_translated_and_no_catalog_is_stale():
    assert catalogs.problems() == []


@pytest.fixture
def tiny_project(tmp_path, monkeypatch):
    """A project of one domain, one module and one template, to watch the check at work."""
    (tmp_path / "crm" / "shop" / "translations").mkdir(parents=True)
    (tmp_path / "templates" / "shop").mkdir(parents=True)
    (tmp_path / "crm" / "core").mkdir()
    (tmp_path / "crm" / "core" / "x.py").write_text(
        'from flask_babel import gettext as _\n_("Save")\n'
    )
    (tmp_path / "crm" / "shop" / "views.py").write_text(
        'from flask_babel import gettext as _, ngettext\n_("Basket")\n'
        'ngettext("%(num)s item", "%(num)s items", 3)\n'
    )
    (tmp_path / "templates" / "shop" / "cart.html").write_text("<p>{{ _('Pay now') }}</p>\n")
    monkeypatch.setattr(catalogs, "ROOT", tmp_path)
    monkeypatch.setattr(catalogs, "CRM", tmp_path / "crm")
    monkeypatch.setattr(catalogs, "TEMPLATES", tmp_path / "templates")
    catalogs.po_files.cache_clear()
    yield tmp_path
    catalogs.po_files.cache_clear()


def test_the_check_names_missing_untranslated_and_stale_strings(tiny_project):
    assert catalogs.domains() == ["core", "shop"]
    found = catalogs.problems()
    assert any("crm/translations" in p and "missing" in p for p in found)
    assert any("crm/shop/translations" in p and "missing" in p for p in found)

    changed = catalogs.update()
    assert len(changed) == 2
    found = catalogs.problems()
    # Each string lands in its owner's catalog, untranslated.
    assert (
        "crm/translations/ru/LC_MESSAGES/messages.po: untranslated: 'Save' (crm/core/x.py:2)"
        in found
    )
    assert any("shop" in p and "'Basket'" in p for p in found)
    assert any("shop" in p and "'Pay now'" in p for p in found)
    assert catalogs.update() == []  # nothing changed: files are not rewritten

    assert catalogs.fill("core", {"Save": "Сохранить"}) == []
    assert catalogs.fill("shop", {"Basket": "Корзина", "Pay now": "Оплатить"}) == []
    assert (
        catalogs.fill(
            "shop", {"%(num)s item": ["%(num)s товар", "%(num)s товара", "%(num)s товаров"]}
        )
        == []
    )
    assert catalogs.fill("shop", {"Nowhere": "Нигде"}) == ["Nowhere"]
    assert catalogs.problems() == []

    # A string removed from the code leaves a stale entry until the next update.
    (tiny_project / "templates" / "shop" / "cart.html").write_text("<p>{{ _('Pay later') }}</p>\n")
    found = catalogs.problems()
    assert any("stale" in p and "'Pay now'" in p for p in found)
    assert any("not in the catalog" in p and "'Pay later'" in p for p in found)
    catalogs.update()
    assert [p for p in catalogs.problems() if "stale" in p] == []

    # One msgid translated two ways in two catalogs: the merged catalog would show one of
    # them everywhere, so the check asks for a context.
    (tiny_project / "crm" / "core" / "y.py").write_text(
        'from flask_babel import gettext as _\n_("Basket")\n'
    )
    catalogs.update()
    catalogs.fill("core", {"Basket": "Корзинка"})
    assert any("'Basket' is translated differently" in p for p in catalogs.problems())
    catalogs.fill("core", {"Basket": "Корзина"})
    assert not any("differently" in p for p in catalogs.problems())

    # A translation with a placeholder the code does not pass is refused.
    catalogs.fill(
        "shop", {"%(num)s item": ["%(count)s товар", "%(num)s товара", "%(num)s товаров"]}
    )
    assert any("%(num)s item" in p for p in catalogs.problems())


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "ru",
            {
                "date": "04.12.2026",
                "datetime": "04.12.2026 10:30",  # 07:30 UTC in Moscow
                "number": f"1{NBSP}234{NBSP}567,89",
                "count": f"12{NBSP}000",
                "money": f"356{NBSP}559,31{NBSP}₽",
                "negative": f"-1{NBSP}000,00{NBSP}₽",
                "percent": f"12,5{NBSP}%",
            },
        ),
        (
            "en",
            {
                "date": "4 Dec 2026",
                "datetime": "4 Dec 2026, 10:30",
                "number": "1,234,567.89",
                "count": "12,000",
                "money": "₽356,559.31",
                "negative": "-₽1,000.00",
                "percent": "12.5%",
            },
        ),
    ],
)
def test_formats_in_each_language(app, language, expected):
    moscow = "Europe/Moscow"
    assert fmt_date(date(2026, 12, 4), language) == expected["date"]
    assert fmt_date(datetime(2026, 12, 3, 22, 0), language, moscow) == expected["date"]
    assert fmt_datetime(datetime(2026, 12, 4, 7, 30), language, moscow) == expected["datetime"]
    assert fmt_number(Decimal("1234567.891"), 2, language) == expected["number"]
    assert fmt_number(12000, 0, language) == expected["count"]
    assert fmt_money(Decimal("356559.31"), "RUB", language) == expected["money"]
    assert fmt_money(Decimal("-1000"), "RUB", language) == expected["negative"]
    assert fmt_percent(0.125, 1, language) == expected["percent"]
    assert fmt_money(None, "RUB", language) == "—"
    assert fmt_date(None, language) == ""


def test_money_uses_the_base_currency_setting(app):
    app.config["BASE_CURRENCY"] = "USD"
    assert fmt_money(Decimal("1500"), locale="ru") == f"1{NBSP}500,00{NBSP}$"


def _nav_language(html: str) -> str:
    if "Выйти" in html:
        return "ru"
    return "en" if "Sign out" in html else "?"


def test_each_user_reads_his_own_language(app, client, login_as):
    login_as("manager", locale="ru")
    assert _nav_language(client.get("/auth/account").get_data(as_text=True)) == "ru"
    login_as("manager", locale="en")
    assert _nav_language(client.get("/auth/account").get_data(as_text=True)) == "en"


def test_new_users_get_the_default_language_and_signed_out_pages_follow_the_browser(app, client):
    from crm.auth.models import User

    app.config["DEFAULT_LOCALE"] = "ru"
    user = User(email="new@example.test", role="manager")
    db.session.add(user)
    db.session.flush()
    assert user.locale == "ru"

    page = client.get("/auth/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in page.get_data(as_text=True)
    page = client.get("/auth/login", headers={"Accept-Language": "de"})
    assert '<html lang="ru">' in page.get_data(as_text=True)
    page = client.get("/auth/login")
    assert '<html lang="ru">' in page.get_data(as_text=True)


def test_settings_switch_the_language_name_and_zone(app, client, login_as):
    from crm.auth.models import User

    user = login_as("manager", locale="en")
    response = client.post(
        "/auth/account/settings",
        data={"settings-name": "Ирина", "settings-locale": "ru", "settings-timezone": "Asia/Omsk"},
    )
    assert response.status_code == 302
    page = client.get("/auth/account").get_data(as_text=True)
    assert _nav_language(page) == "ru" and "Настройки сохранены." in page
    stored = db.session.get(User, user.id)
    db.session.refresh(stored)
    assert (stored.name, stored.locale, stored.timezone) == ("Ирина", "ru", "Asia/Omsk")


@pytest.mark.parametrize(
    "data",
    [
        {"settings-name": "X", "settings-locale": "de", "settings-timezone": "Europe/Moscow"},
        {"settings-name": "X", "settings-locale": "ru", "settings-timezone": "Mars/Olympus"},
        {"settings-name": "X" * 201, "settings-locale": "ru", "settings-timezone": "Europe/Moscow"},
    ],
)
def test_bad_settings_are_refused_and_change_nothing(app, client, login_as, data):
    from crm.auth.models import User

    user = login_as("manager", locale="en", name="Before")
    response = client.post("/auth/account/settings", data=data)
    assert response.status_code == 422
    stored = db.session.get(User, user.id)
    db.session.refresh(stored)
    assert (stored.name, stored.locale) == ("Before", "en")


def test_catalog_folders_belong_to_their_domains():
    # Each domain's strings live beside its code; the core catalog holds the shared ones.
    assert Path(catalogs.po_path("partners", "ru")).parts[-5:-3] == ("partners", "translations")
    assert catalogs.owner(catalogs.ROOT / "templates" / "partners" / "index.html") == "partners"
    assert catalogs.owner(catalogs.ROOT / "templates" / "base.html") == "core"
    assert catalogs.owner(catalogs.ROOT / "crm" / "core" / "formats.py") == "core"
