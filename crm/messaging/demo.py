"""Demo message templates for `crm demo`: a monthly promotion e-mail, an SMS reminder of an
overdue debt and an e-mail telling a client his order's status changed (with the order's
placeholders), each with a Russian and an English text, written by the marketer through the
service (so they pass the same checks as a template typed in the form). A second run leaves
existing ones alone. Groups and mailings of the demo are their own parts' steps."""

from __future__ import annotations

from sqlalchemy import select

from crm.core.policy import may
from crm.messaging.models import MessageTemplate
from crm.messaging.template_services import create_template

PROMO_HTML_RU = """<html><body>
<p>Здравствуйте, {{ contact.name }}!</p>
<p>В этом месяце для {{ partner.name }} действует скидка 10&nbsp;% на весь каталог.
Предложение действует до конца месяца.</p>
<p>Подробности расскажет ваш менеджер {{ manager.name }}{% if manager.email %}
(<a href="mailto:{{ manager.email }}">{{ manager.email }}</a>){% endif %}.</p>
<p>С уважением,<br>отдел продаж</p>
<p><small><a href="{{ unsubscribe_url }}">Отписаться от рассылки</a></small></p>
</body></html>
"""
PROMO_TEXT_RU = """Здравствуйте, {{ contact.name }}!

В этом месяце для {{ partner.name }} действует скидка 10 % на весь каталог.
Предложение действует до конца месяца.

Подробности расскажет ваш менеджер {{ manager.name }}{% if manager.email %} ({{ manager.email }}){% endif %}.

С уважением,
отдел продаж

Отписаться от рассылки: {{ unsubscribe_url }}
"""
PROMO_HTML_EN = """<html><body>
<p>Hello {{ contact.name }},</p>
<p>This month {{ partner.name }} gets 10&nbsp;% off the whole catalogue, until the end of the
month.</p>
<p>Your manager {{ manager.name }} will be glad to tell you more.</p>
<p><small><a href="{{ unsubscribe_url }}">Unsubscribe</a></small></p>
</body></html>
"""
PROMO_TEXT_EN = """Hello {{ contact.name }},

This month {{ partner.name }} gets 10 % off the whole catalogue, until the end of the month.
Your manager {{ manager.name }} will be glad to tell you more.

Unsubscribe: {{ unsubscribe_url }}
"""

DEBT_SMS_RU = (
    "{{ partner.name }}: просроченная задолженность {{ debt.overdue|money }} "
    "с {{ debt.oldest_due|date }}. Просим оплатить. {{ manager.name }}"
)
DEBT_SMS_EN = (
    "{{ partner.name }}: overdue debt {{ debt.overdue|money }} since "
    "{{ debt.oldest_due|date }}. Please pay. {{ manager.name }}"
)

ORDER_HTML_RU = """<html><body>
<p>Здравствуйте, {{ contact.name }}!</p>
<p>Статус заказа №&nbsp;{{ order.number }} от {{ order.date|date }} изменён:
{% if order.previous_status %}«{{ order.previous_status }}» → {% endif %}<strong>«{{ order.status }}»</strong>.</p>
<p>Сумма заказа: {{ order.total|money }}{% if order.due_date %}, оплата до {{ order.due_date|date }}{% endif %}.</p>
<p>Если у вас есть вопросы, напишите вашему менеджеру {{ manager.name }}.</p>
</body></html>
"""
ORDER_TEXT_RU = """Здравствуйте, {{ contact.name }}!

Статус заказа № {{ order.number }} от {{ order.date|date }} изменён: {% if order.previous_status %}«{{ order.previous_status }}» → {% endif %}«{{ order.status }}».
Сумма заказа: {{ order.total|money }}{% if order.due_date %}, оплата до {{ order.due_date|date }}{% endif %}.

Если у вас есть вопросы, напишите вашему менеджеру {{ manager.name }}.
"""
ORDER_HTML_EN = """<html><body>
<p>Hello {{ contact.name }},</p>
<p>Your order {{ order.number }} of {{ order.date|date }} is now <strong>{{ order.status }}</strong>{% if order.previous_status %} (was {{ order.previous_status }}){% endif %}.</p>
<p>Order total: {{ order.total|money }}.</p>
</body></html>
"""
ORDER_TEXT_EN = """Hello {{ contact.name }},

Your order {{ order.number }} of {{ order.date|date }} is now {{ order.status }}{% if order.previous_status %} (was {{ order.previous_status }}){% endif %}.
Order total: {{ order.total|money }}.
"""

TEMPLATES = {
    "promo": {
        "channel": "email",
        "name": {"ru": "Акция месяца", "en": "Promotion of the month"},
        "description": {
            "ru": "Ежемесячная рассылка о скидках клиентам, давшим согласие на рекламу.",
            "en": "The monthly e-mail about discounts to clients who agreed to advertising.",
        },
        "texts": {
            "ru": {
                "subject": "{{ partner.name }}: скидка 10 % весь месяц",
                "body_html": PROMO_HTML_RU,
                "body_text": PROMO_TEXT_RU,
            },
            "en": {
                "subject": "{{ partner.name }}: 10 % off all month",
                "body_html": PROMO_HTML_EN,
                "body_text": PROMO_TEXT_EN,
            },
        },
    },
    "debt": {
        "channel": "sms",
        "name": {"ru": "Напоминание о задолженности", "en": "Overdue debt reminder"},
        "description": {
            "ru": "SMS клиенту с просроченной задолженностью.",
            "en": "An SMS to a client with an overdue debt.",
        },
        "texts": {"ru": {"body_text": DEBT_SMS_RU}, "en": {"body_text": DEBT_SMS_EN}},
    },
    "order": {
        "channel": "email",
        "name": {"ru": "Статус заказа изменён", "en": "Order status changed"},
        "description": {
            "ru": "Уведомление клиенту при смене статуса заказа.",
            "en": "A notice to the client when his order's status changes.",
        },
        "texts": {
            "ru": {
                "subject": "Заказ № {{ order.number }}: {{ order.status }}",
                "body_html": ORDER_HTML_RU,
                "body_text": ORDER_TEXT_RU,
            },
            "en": {
                "subject": "Order {{ order.number }}: {{ order.status }}",
                "body_html": ORDER_HTML_EN,
                "body_text": ORDER_TEXT_EN,
            },
        },
    },
}


def make_templates_demo(fake, rng, users, *, n_partners: int, language: str) -> None:
    from crm.extensions import db

    # The author: one who writes templates but owns no clients (the marketer), else any writer.
    writers = [u for u in users if may(u, "messaging.edit")]
    author = next((u for u in writers if not may(u, "records.own")), None)
    author = author or next(iter(writers), None)
    existing = set(db.session.execute(select(MessageTemplate.name)).scalars())
    for spec in TEMPLATES.values():
        name = spec["name"][language]
        if name in existing:
            continue
        create_template(
            author,
            name,
            spec["channel"],
            spec["texts"],
            description=spec["description"][language],
        )
    db.session.flush()
