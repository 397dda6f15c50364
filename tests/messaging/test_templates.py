"""The message template pages and their rules, as users meet them: the list with its search and
channel filter, creating and editing (Russian required, English optional, every text checked
against the placeholders' samples, a stale edit refused with what changed), deleting (refused
while a mailing or a notification uses the template), the live preview (for a partner the user
may see, or the samples; HTML in a sandboxed iframe; errors at their fields; also without
JavaScript), the SMS counter, who may do what, CSRF, and the demo's templates."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from crm.core.message_placeholders import Recipient
from crm.core.models import AuditEntry
from crm.extensions import db
from crm.messaging.compose import compose
from crm.messaging.models import Mailing, MessageTemplate, NotificationSetting
from crm.messaging.template_services import create_template
from crm.partners.models import Partner
from tests.factories import create_partner
from tests.helpers import form_fields, hidden_version

HX = {"HX-Request": "true"}


def _unescaped(page: str) -> str:
    return html.unescape(page)


EMAIL = {
    "name": "Акция месяца",
    "description": "Скидки",
    "ru_subject": "{{ partner.name }}: скидка",
    "ru_body_html": "<p>Здравствуйте, {{ contact.name }}!</p>",
    "ru_body_text": "Здравствуйте, {{ contact.name }}!",
}


def templates() -> list[MessageTemplate]:
    db.session.expire_all()
    return list(db.session.execute(select(MessageTemplate).order_by(MessageTemplate.id)).scalars())


def audit_actions(template_id: int) -> list[str]:
    return list(
        db.session.execute(
            select(AuditEntry.action)
            .where(
                AuditEntry.object_type == "message_template", AuditEntry.object_id == template_id
            )
            .order_by(AuditEntry.id)
        ).scalars()
    )


def saved(name="Акция месяца", channel="email", **texts) -> MessageTemplate:
    ru = texts.pop("ru", None) or (
        {"body_text": "Долг {{ debt.overdue|money }}"}
        if channel == "sms"
        else {"subject": "Тема", "body_html": "<p>{{ partner.name }}</p>", "body_text": "Текст"}
    )
    template = create_template(None, name, channel, {"ru": ru, **texts})
    db.session.commit()
    return template


# --- creating and editing ----------------------------------------------------------------------


def test_an_admin_creates_an_email_template_in_russian_only(client, login_as):
    admin = login_as("admin")
    response = client.post("/messaging/templates/new?channel=email", data=EMAIL)
    [template] = templates()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/messaging/templates/{template.id}"
    assert (template.name, template.channel, template.description) == (
        "Акция месяца", "email", "Скидки",
    )  # fmt: skip
    assert [(t.language, t.subject, t.body_html, t.body_text) for t in template.texts] == [
        ("ru", "{{ partner.name }}: скидка", "<p>Здравствуйте, {{ contact.name }}!</p>",
         "Здравствуйте, {{ contact.name }}!"),
    ]  # fmt: skip
    assert template.created_by_id == admin.id
    assert audit_actions(template.id) == ["create"]
    page = client.get(f"/messaging/templates/{template.id}")
    assert page.status_code == 200 and "Акция месяца" in page.text


def test_a_marketer_creates_an_sms_template_with_an_english_text(client, login_as):
    login_as("marketer")
    data = {"name": "Долг", "ru_body_text": "Долг {{ debt.total|money }}",
            "en_body_text": "Debt {{ debt.total|money }}", "ru_subject": "ignored"}  # fmt: skip
    assert client.post("/messaging/templates/new?channel=sms", data=data).status_code == 302
    [template] = templates()
    assert template.channel == "sms"
    assert [(t.language, t.subject, t.body_html, t.body_text) for t in template.texts] == [
        ("ru", "", "", "Долг {{ debt.total|money }}"),
        ("en", "", "", "Debt {{ debt.total|money }}"),
    ]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": " "}, "name", "A template needs a name."),
        ({"ru_subject": ""}, "ru_subject", "Russian: the subject is required."),
        ({"ru_body_html": "", "ru_body_text": ""}, "ru_body_text",
         "Russian: write the HTML body, the text body or both."),
        # English is optional, but a started English text must be complete.
        ({"en_subject": "Hello"}, "en_body_text",
         "English: write the HTML body, the text body or both."),
        ({"ru_body_html": "<p>{{ config.SECRET_KEY }}</p>"}, "ru_body_html",
         "Russian · HTML body: line 1: “config” is not a placeholder"),
        ({"ru_body_text": "Итого: {{ debt.total|money(2, 3) }}"}, "ru_body_text",
         "Russian · Text body: "),
    ],
)  # fmt: skip
def test_a_bad_form_is_shown_again_with_the_message_at_its_field_and_nothing_saved(
    client, login_as, change, field, message
):
    login_as("admin")
    response = client.post("/messaging/templates/new?channel=email", data={**EMAIL, **change})
    assert response.status_code == 422
    page = _unescaped(response.text)
    if field == "name":  # drawn by the shared field macro
        assert f'<div class="invalid-feedback d-block">{message}</div>' in page
    else:  # the text fields' error boxes, which the live preview also fills
        box = re.search(
            rf'<div id="err-{field}" class="field-errors">(.*?)</div>\s*</div>', page, re.S
        )
        assert box is not None and message in box.group(1)
    assert templates() == []


def test_names_are_unique_whatever_their_case(client, login_as):
    saved("Акция месяца")
    login_as("admin")
    response = client.post(
        "/messaging/templates/new?channel=email", data={**EMAIL, "name": "акция МЕСЯЦА"}
    )
    assert response.status_code == 422
    assert "A template named акция МЕСЯЦА exists." in _unescaped(response.text)
    assert len(templates()) == 1


def test_an_edit_changes_the_texts_records_them_and_drops_an_emptied_english_text(client, login_as):
    template = saved(en={"subject": "Hi", "body_html": "", "body_text": "Hello"})
    login_as("admin")
    page = client.get(f"/messaging/templates/{template.id}/edit")
    fields = form_fields(page.text, f"/messaging/templates/{template.id}/edit")
    assert fields["ru_subject"] == "Тема" and fields["en_body_text"].strip() == "Hello"
    data = {**fields, "ru_subject": "Новая тема", "en_subject": "", "en_body_text": ""}
    data.pop("op", None)
    response = client.post(f"/messaging/templates/{template.id}/edit", data=data)
    assert response.status_code == 302
    [template] = templates()
    assert [(t.language, t.subject) for t in template.texts] == [("ru", "Новая тема")]
    assert template.version == 2
    [entry] = db.session.execute(select(AuditEntry).where(AuditEntry.action == "update")).scalars()
    assert entry.changes == {
        "ru_subject": ["Тема", "Новая тема"],
        "en_subject": ["Hi", ""],
        "en_body_text": ["Hello", ""],
    }


def test_a_stale_edit_is_refused_with_what_changed(client, login_as):
    template = saved()
    login_as("admin")
    url = f"/messaging/templates/{template.id}/edit"
    fields = form_fields(client.get(url).text, url)
    fields.pop("op", None)
    first = {**fields, "ru_subject": "Первая правка"}
    assert client.post(url, data=first).status_code == 302
    second = {**fields, "ru_body_text": "Вторая правка"}
    response = client.post(url, data=second)
    text = _unescaped(response.text)
    assert response.status_code == 422
    assert "Someone else changed this message template" in text
    assert "Первая правка" in text
    # The form moved to the current version and took the other edit into the untouched field.
    assert hidden_version(response.text) == 2
    [template] = templates()
    assert template.text_for("ru").subject == "Первая правка"
    assert template.text_for("ru").body_text == "Текст"


def test_the_channel_of_a_saved_template_stays(client, login_as):
    template = saved(channel="sms")
    login_as("admin")
    response = client.post(
        f"/messaging/templates/{template.id}/edit?channel=email",
        data={"name": "Акция месяца", "channel": "email", "ru_body_text": "Текст SMS",
              "ru_subject": "Тема"},
    )  # fmt: skip
    assert response.status_code == 302
    [template] = templates()
    assert template.channel == "sms" and template.text_for("ru").subject == ""


# --- deleting --------------------------------------------------------------------------------


def test_a_template_in_use_is_not_deleted_and_the_page_says_where(client, login_as):
    template = saved()
    db.session.add(Mailing(name="Декабрьская рассылка", channel="email", template_id=template.id))
    db.session.commit()
    login_as("admin")
    response = client.post(f"/messaging/templates/{template.id}/delete", follow_redirects=True)
    text = _unescaped(response.text)
    assert "The template is used by mailings «Декабрьская рассылка»" in text
    assert len(templates()) == 1

    db.session.execute(db.delete(Mailing))
    db.session.add(NotificationSetting(kind="order_status", template_id=template.id))
    db.session.commit()
    response = client.post(f"/messaging/templates/{template.id}/delete", follow_redirects=True)
    assert "The template is used by notifications (order status changed)" in _unescaped(
        response.text
    )
    assert len(templates()) == 1


def test_an_unused_template_is_deleted_and_the_deletion_recorded(client, login_as):
    template = saved()
    template_id = template.id
    login_as("admin")
    response = client.post(f"/messaging/templates/{template_id}/delete")
    assert response.status_code == 302 and response.headers["Location"] == "/messaging/templates"
    assert templates() == []
    assert audit_actions(template_id) == ["create", "delete"]
    [entry] = db.session.execute(select(AuditEntry).where(AuditEntry.action == "delete")).scalars()
    assert entry.changes["ru_subject"] == ["Тема", None]


# --- the list ----------------------------------------------------------------------------------


def test_the_list_searches_names_in_any_case_and_filters_by_channel(client, login_as):
    saved("Акция месяца")
    saved("Напоминание о задолженности", "sms")
    saved("Статус заказа изменён")
    login_as("viewer")
    page = client.get("/messaging/templates?q=акция")
    assert "Акция месяца" in page.text and "Статус заказа" not in page.text
    sms = client.get("/messaging/templates?channel=sms")
    assert "Напоминание о задолженности" in sms.text and "Акция месяца" not in sms.text
    fragment = client.get("/messaging/templates?q=заказ", headers=HX)
    assert "<html" not in fragment.text and "Статус заказа изменён" in fragment.text
    assert (
        fragment.headers["HX-Push-Url"] == "/messaging/templates?q=%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7"
    )
    bad = client.get("/messaging/templates?channel=fax")
    assert bad.status_code == 200 and "Unknown channel" in bad.text


# --- who may do what ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_readers_read_templates_but_change_nothing(client, login_as, role):
    template = saved()
    login_as(role)
    assert client.get("/messaging/templates").status_code == 200
    card = client.get(f"/messaging/templates/{template.id}")
    assert card.status_code == 200 and "Delete" not in card.text and "/edit" not in card.text
    assert client.get("/messaging/templates/new").status_code == 403
    assert client.post("/messaging/templates/new", data=EMAIL).status_code == 403
    assert client.get(f"/messaging/templates/{template.id}/edit").status_code == 403
    assert client.post(f"/messaging/templates/{template.id}/edit", data=EMAIL).status_code == 403
    assert client.post(f"/messaging/templates/{template.id}/delete").status_code == 403
    [kept] = templates()
    assert kept.name == "Акция месяца" and kept.text_for("ru").subject == "Тема"


def test_posts_without_the_csrf_token_are_refused(app, client, login_as):
    template = saved()
    login_as("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/messaging/templates/new", data=EMAIL).status_code == 400
    assert client.post(f"/messaging/templates/{template.id}/delete").status_code == 400
    assert (
        client.post(
            "/messaging/templates/sms-length", data={"field": "ru_body_text", "ru_body_text": "x"}
        ).status_code
        == 400
    )
    assert [t.name for t in templates()] == ["Акция месяца"]


def test_an_unknown_template_is_not_found(client, login_as):
    login_as("admin")
    assert client.get("/messaging/templates/999").status_code == 404
    assert client.post("/messaging/templates/999/delete").status_code == 404


# --- the preview -------------------------------------------------------------------------------


def test_the_live_preview_renders_the_unsaved_form_with_the_samples(client, login_as):
    login_as("admin")
    data = {**EMAIL, "op": "preview", "ru_body_html": "<p>{{ partner.name }} & <b>Co</b></p>"}
    response = client.post("/messaging/templates/new?channel=email", data=data, headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert '<dd class="fw-semibold preview-subject" id="preview-subject">ООО «Ромашка»: скидка' in (
        response.text
    )
    # The HTML goes into a sandboxed iframe's srcdoc, escaped: never into the page itself.
    assert 'sandbox=""' in response.text
    assert 'srcdoc="&lt;p&gt;ООО «Ромашка» &amp; &lt;b&gt;Co&lt;/b&gt;&lt;/p&gt;"' in response.text
    assert "<b>Co</b>" not in response.text
    assert templates() == []  # a preview saves nothing


def test_a_preview_error_is_shown_at_its_field_and_in_the_preview(client, login_as):
    login_as("admin")
    data = {**EMAIL, "op": "preview", "ru_body_text": "ok\n{{ ''.__class__ }}"}
    response = client.post("/messaging/templates/new?channel=email", data=data, headers=HX)
    text = _unescaped(response.text)
    assert "<html" not in text
    reason = "line 2: “__class__” is not allowed: names starting with “_” are private"
    # Out of band, into the box under the field; the other fields' boxes are emptied.
    assert re.search(
        r'<div id="err-ru_body_text" class="field-errors" hx-swap-oob="true">'
        r'<div class="invalid-feedback d-block">' + re.escape(reason),
        text,
    )
    assert '<div id="err-ru_subject" class="field-errors" hx-swap-oob="true"></div>' in text
    assert f"Russian · Text body</strong>: {reason}" in text


def test_the_preview_works_without_javascript_and_saves_nothing(client, login_as):
    login_as("admin")
    data = {**EMAIL, "op": "preview", "ru_subject": "Привет, {{ request }}"}
    response = client.post("/messaging/templates/new?channel=email", data=data)
    text = _unescaped(response.text)
    assert response.status_code == 200 and "<html" in text
    assert 'id="preview-subject">—' in text  # the subject could not be rendered
    assert re.search(
        r'id="err-ru_subject"[^>]*><div class="invalid-feedback d-block">line 1: “request”', text
    )
    assert 'value="Привет, {{ request }}"' in text  # what was typed stays in the form
    assert templates() == []


def test_a_manager_previews_only_for_partners_he_may_see(client, login_as, make_user):
    anna = make_user("manager", name="Анна")
    boris = make_user("manager", name="Борис")
    mine = create_partner("ООО «Ромашка»", responsible=anna, emails=["info@romashka.test"])
    theirs = create_partner("ООО «Лютик»", responsible=boris, emails=["info@lyutik.test"])
    template = saved(ru={"subject": "Для {{ partner.name }} ({{ contact.address }})",
                         "body_html": "", "body_text": "Ваш менеджер: {{ manager.name }}"})  # fmt: skip
    login_as(anna)
    card = client.get(f"/messaging/templates/{template.id}")
    assert "ООО «Ромашка»" in card.text and "ООО «Лютик»" not in card.text
    options = client.get("/messaging/templates/partners?partner_q=ооо", headers=HX)
    assert "<html" not in options.text
    assert "ООО «Ромашка»" in options.text and "ООО «Лютик»" not in options.text

    own = client.get(f"/messaging/templates/{template.id}?partner_id={mine.id}", headers=HX)
    assert "<html" not in own.text
    assert "Для ООО «Ромашка» (info@romashka.test)" in own.text
    assert "Ваш менеджер: Анна" in own.text
    # Another manager's partner is not shown: the preview falls back to the samples.
    other = client.get(f"/messaging/templates/{template.id}?partner_id={theirs.id}", headers=HX)
    assert "Лютик" not in other.text and "info@lyutik.test" not in other.text
    assert "With sample values" in other.text


def test_the_preview_for_a_partner_in_english_falls_back_to_russian_when_there_is_none(
    client, login_as
):
    partner = create_partner("ООО «Ромашка»", emails=["info@romashka.test"])
    template = saved()
    login_as("admin")
    url = f"/messaging/templates/{template.id}?partner_id={partner.id}&preview_language=en"
    page = client.get(url)
    text = _unescaped(page.text)
    assert "For ООО «Ромашка», in Russian." in text
    assert "There is no English text" in text


def test_an_order_template_previews_a_partner_with_a_sample_order(client, login_as):
    partner = create_partner("ООО «Ромашка»", emails=["info@romashka.test"])
    template = saved(ru={"subject": "{{ partner.name }}: заказ {{ order.number }}",
                         "body_html": "", "body_text": "{{ order.total|money }}"})  # fmt: skip
    login_as("admin")
    page = client.get(f"/messaging/templates/{template.id}?partner_id={partner.id}", headers=HX)
    assert "ООО «Ромашка»: заказ ЗК-004512" in page.text
    assert "84\u00a0350,00\u00a0₽" in page.text


# --- the SMS counter ---------------------------------------------------------------------------


def test_the_sms_counter_counts_the_text_with_the_samples_in_it(client, login_as):
    login_as("admin")
    # "ООО «Ромашка»" (the sample partner) is 13 characters, Cyrillic: UCS-2, 70 per SMS.
    response = client.post(
        "/messaging/templates/sms-length",
        data={"field": "ru_body_text", "ru_body_text": "{{ partner.name }}"},
        headers=HX,
    )
    text = " ".join(response.text.split())
    assert "<html" not in text
    assert "13 characters · 1 SMS · UCS-2 (70 per part) · 57 more fit in the last part" in text
    latin = client.post(
        "/messaging/templates/sms-length",
        data={"field": "en_body_text", "en_body_text": "x" * 161},
        headers=HX,
    )
    assert "161 characters · 2 SMS · GSM-7 (153 per part) · 145 more fit" in " ".join(
        latin.text.split()
    )
    broken = client.post(
        "/messaging/templates/sms-length",
        data={"field": "ru_body_text", "ru_body_text": "{{ config }}"},
    )
    # "{{ config }}" as typed: 8 characters and 4 braces, which GSM-7 sends as two each.
    assert "counted as typed" in broken.text and "16 characters" in broken.text
    assert client.post("/messaging/templates/sms-length", data={"field": "name"}).status_code == 400


def test_the_sms_preview_shows_the_counter_of_the_partners_text(client, login_as):
    partner = create_partner("ООО «Ромашка»", phones=["+79001234567"])
    template = saved("SMS", "sms", ru={"body_text": "{{ partner.name }}, " + "Ж" * 60})
    login_as("admin")
    page = client.get(f"/messaging/templates/{template.id}?partner_id={partner.id}", headers=HX)
    text = " ".join(page.text.split())
    # 13 + 2 (", ") + 60 = 75 UCS-2 characters: two parts of 67, 59 more fit in the second.
    assert "75 characters · 2 SMS · UCS-2 (67 per part) · 59 more fit in the last part" in text


# --- the demo ----------------------------------------------------------------------------------


def test_the_demo_writes_three_templates_that_render_for_its_partners(runner):
    result = runner.invoke(args=["crm", "demo", "--partners", "20", "--seed", "3"])
    assert result.exit_code == 0, result.output
    # The mailings' demo adds a template of its own (tests/messaging/test_mailing_demo.py).
    written = len(templates())
    kinds = {"Акция месяца": "", "Напоминание о задолженности": "overdue_debt",
             "Статус заказа изменён": "order_status"}  # fmt: skip
    found = {t.name: t for t in templates() if t.name in kinds}
    assert {name: t.channel for name, t in found.items()} == {
        "Акция месяца": "email",
        "Напоминание о задолженности": "sms",
        "Статус заказа изменён": "email",
    }
    partner_id = db.session.execute(select(Partner.id).order_by(Partner.id)).scalar()
    for name, template in found.items():
        [message] = compose(template, [Recipient(partner_id, language="ru")], kind=kinds[name])
        assert message.error == "", (name, message.error)
        assert "{{" not in message.text
    # A second run adds none.
    assert runner.invoke(args=["crm", "demo", "--partners", "20", "--seed", "3"]).exit_code == 0
    assert len(templates()) == written
