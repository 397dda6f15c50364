"""The core's texts in Russian: error pages (403, 404, the HTMX error fragment), the pager,
the "1,000+" counts, bad-value messages of params and filters; the JSON API's messages stay
English for a Russian user. Expected texts are written by hand."""

from __future__ import annotations

import html

import pytest
from flask import render_template_string

from crm.core.filters import ListFilter, PageField, SearchField
from crm.core.i18n import in_language
from crm.core.paging import Page
from crm.core.params import BadValue, parse_date, parse_int

NBSP = "\u00a0"


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_403_page_in_russian(client, login_as):
    login_as("manager", locale="ru")

    response = client.get("/auth/users")  # admins only

    assert response.status_code == 403
    page = text_of(response)
    assert "<title>Ошибка 403 · CRM</title>" in page
    assert "У вас нет доступа к этой странице или действию." in page
    assert "На начальную страницу" in page


def test_404_page_and_htmx_error_fragment_in_russian(client, login_as):
    login_as("viewer", locale="ru")

    page = client.get("/no-such-page")
    fragment = client.get("/no-such-page", headers={"HX-Request": "true"})

    assert "Такой страницы или записи нет." in text_of(page)
    assert fragment.headers["HX-Retarget"] == "#flash-area"
    assert 'aria-label="Закрыть"' in text_of(fragment)
    assert "Такой страницы или записи нет." in text_of(fragment)


def test_403_page_in_english_for_an_english_user(client, login_as):
    login_as("manager", locale="en")

    page = text_of(client.get("/auth/users"))

    assert "You do not have access to this page or action." in page
    assert "Back to the start page" in page


def test_api_errors_stay_english_for_a_russian_user(app, client, make_user):
    from crm.auth.services import create_api_token
    from crm.extensions import db

    user = make_user("manager", locale="ru")
    _row, token = create_api_token(user, "ERP")
    db.session.commit()

    response = client.get("/api/v1/no-such", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 404
    assert response.get_json() == {"error": "There is no such page or record."}


class Listing(ListFilter):
    q = SearchField(max_length=5)
    page = PageField()


def pager_html(app, page: Page, language: str) -> str:
    with app.test_request_context("/notifications/"), in_language(language):
        return render_template_string(
            '{% from "_macros/forms.html" import pager %}{{ pager(page, flt, "#list") }}',
            page=page,
            flt=Listing({}),
        )


def test_pager_in_russian_and_english(app):
    # 60 rows of 25: 3 pages, on page 2.
    page = Page(items=[], total=60, page=2, per_page=25)

    ru = html.unescape(pager_html(app, page, "ru"))
    en = html.unescape(pager_html(app, page, "en"))

    assert "‹ Назад" in ru and "Страница 2 из 3" in ru and "Вперёд ›" in ru
    assert 'aria-label="Страницы"' in ru
    assert "‹ Previous" in en and "Page 2 of 3" in en and "Next ›" in en


def test_capped_counts_are_written_in_the_readers_format(app):
    # Counting stopped at 1,000; page 41 is shown and a row after it was seen, so page 42
    # exists and maybe more: "1 000+" matches, "42+" pages.
    page = Page(items=[], total=1000, page=41, per_page=25, more=True, next_exists=True)

    with app.test_request_context(), in_language("ru"):
        ru = (page.total_text, page.pages_text)
        pager = html.unescape(pager_html(app, page, "ru"))
    with app.test_request_context(), in_language("en"):
        en = (page.total_text, page.pages_text)

    assert ru == (f"1{NBSP}000+", "42+")
    assert en == ("1,000+", "42+")
    assert "Страница 41 из 42+" in pager


@pytest.mark.parametrize(
    "parse, raw, russian",
    [
        (lambda v: parse_int(v), "abc", "'abc' — не целое число"),
        (lambda v: parse_int(v, maximum=10), "11", "'11': должно быть от 0 до 10"),
        (parse_date, "31.02.2026", "'31.02.2026' — несуществующая дата"),
        (parse_date, "завтра", "'завтра' — не дата (нужно ДД.ММ.ГГГГ или ГГГГ-ММ-ДД)"),
    ],
)
def test_bad_value_messages_in_russian(app, parse, raw, russian):
    with app.test_request_context(), in_language("ru"), pytest.raises(BadValue) as caught:
        parse(raw)

    assert str(caught.value) == russian


def test_filter_problems_in_russian(app):
    with app.test_request_context(), in_language("ru"):
        flt = Listing({"q": "длинный текст", "page": "x"})

    assert flt.problems == [
        "Текст поиска: сокращено до 5 символов.",
        "Неизвестный номер страницы; показана первая страница.",
    ]


def test_a_damaged_version_field_says_so_in_russian(app):
    from crm.forms import VersionField

    field = VersionField().bind(form=None, name="version", _meta=_Meta())
    with app.test_request_context(), in_language("ru"), pytest.raises(ValueError) as caught:
        field.process_formdata(["x1"])

    assert str(caught.value) == "Форма повреждена: обновите страницу и внесите изменения заново."


class _Meta:
    """The least a WTForms field needs to be bound outside a form."""

    def bind_field(self, form, unbound_field, options):
        return unbound_field.bind(form=form, **options)
