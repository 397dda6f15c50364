"""Demo mailings for `crm demo`: the groups «Акции и скидки» (advertising) and «Сервисные
уведомления» (service), the consent to advertising of part of the demo contacts (each with its
date and source, as a subscription form or a contract records it), and two draft mailings —
an e-mail sale announcement to consenting clients and an SMS service notice — ready to
preview and schedule. Nothing is sent. A second run adds consent for new contacts only and
leaves the groups and mailings it made alone."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.core.policy import may
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging.models import (
    Mailing,
    MailingGroup,
    MessageTemplate,
    MessageTemplateText,
    Subscriber,
)
from crm.messaging.services import MailingData, create_mailing, template_problems
from crm.partners.models import ContactDetail, ContactPerson, Partner

GROUPS = {
    "ru": [
        ("promo", "Акции и скидки", "advertising", "Распродажи, скидки и новинки ассортимента."),
        (
            "service",
            "Сервисные уведомления",
            "service",
            "Работа склада, доставка, смена реквизитов.",
        ),
    ],
    "en": [
        ("promo", "Promotions and discounts", "advertising", "Sales, discounts and new products."),
        ("service", "Service notices", "service", "Warehouse hours, delivery, changed details."),
    ],
}
SOURCES = {
    "ru": ["форма подписки на сайте", "договор поставки", "анкета на выставке", "звонок менеджера"],
    "en": ["website subscription form", "supply contract", "trade fair form", "manager's call"],
}
MAILINGS = {
    "ru": {
        "promo": "Весенняя распродажа: скидки до 20 %",
        "service": "Склад не работает 12 июня",
    },
    "en": {
        "promo": "Spring sale: up to 20 % off",
        "service": "The warehouse is closed on 12 June",
    },
}
SMS_NOTICE = {
    "ru": (
        "SMS: склад закрыт 12 июня",
        [
            ("ru", "12 июня склад не работает. Заказы этого дня отгрузим 13 июня. Спасибо!"),
            ("en", "The warehouse is closed on 12 June; that day's orders ship on 13 June."),
        ],
    ),
    "en": (
        "SMS: warehouse closed on 12 June",
        [("en", "The warehouse is closed on 12 June; that day's orders ship on 13 June.")],
    ),
}
# Shares of the demo addresses whose owner agreed to advertising.
CONSENT_SHARE = {"email": 0.6, "sms": 0.35}
CHANNEL_KINDS = {"email": "email", "sms": "phone"}
PROMO_PARTNERS = 40
SERVICE_PARTNERS = 15


def _groups(language: str) -> dict[str, MailingGroup]:
    found = {}
    for key, name, kind, description in GROUPS[language]:
        group = db.session.execute(
            select(MailingGroup).where(MailingGroup.name == name)
        ).scalar_one_or_none()
        if group is None:
            group = MailingGroup(name=name, kind=kind, description=description)
            db.session.add(group)
        found[key] = group
    db.session.flush()
    return found


def _address_rows(kind: str):
    """(value, normalised value, partner id, contact person id) of every demo address of a
    kind: partners' own and their contact persons'."""
    own = db.session.execute(
        select(ContactDetail.value, ContactDetail.value_norm, ContactDetail.partner_id).where(
            ContactDetail.kind == kind, ContactDetail.partner_id.is_not(None)
        )
    ).all()
    persons = db.session.execute(
        select(
            ContactDetail.value,
            ContactDetail.value_norm,
            ContactPerson.partner_id,
            ContactPerson.id,
        )
        .join(ContactPerson, ContactPerson.id == ContactDetail.contact_person_id)
        .where(ContactDetail.kind == kind)
    ).all()
    return [(v, n, p, None) for v, n, p in own] + [tuple(r) for r in persons]


def _consents(rng, language: str) -> set[tuple[str, int]]:
    """Consent for a share of the addresses that have no subscriber record yet; returns
    (channel, partner id) of every consenting address."""
    now = utcnow()
    consenting: set[tuple[str, int]] = set()
    for channel, kind in CHANNEL_KINDS.items():
        known = set(
            db.session.execute(
                select(Subscriber.address_norm).where(Subscriber.channel == channel)
            ).scalars()
        )
        for value, norm, partner_id, person_id in sorted(
            _address_rows(kind), key=lambda r: (r[2] or 0, r[3] or 0, r[1] or "")
        ):
            if not norm or norm in known:
                continue
            known.add(norm)
            if rng.random() >= CONSENT_SHARE[channel]:
                continue
            db.session.add(
                Subscriber(
                    channel=channel,
                    address=value,
                    address_norm=norm,
                    consent=True,
                    consent_at=now - timedelta(days=rng.randint(5, 700)),
                    consent_source=rng.choice(SOURCES[language]),
                    partner_id=partner_id,
                    contact_person_id=person_id,
                )
            )
            consenting.add((channel, partner_id))
    db.session.flush()
    return consenting


def _promo_template() -> MessageTemplate | None:
    """The first e-mail template a mailing can send (the templates' demo step made them; one
    written for an event, such as an order's status, does not render without it)."""
    templates = db.session.execute(
        select(MessageTemplate)
        .where(MessageTemplate.channel == "email")
        .order_by(MessageTemplate.id)
    ).scalars()
    return next((t for t in templates if not template_problems(t)), None)


def _notice_template(language: str) -> MessageTemplate:
    """The SMS of the service notice (made once)."""
    name, texts = SMS_NOTICE[language]
    template = db.session.execute(
        select(MessageTemplate).where(MessageTemplate.name == name)
    ).scalar_one_or_none()
    if template is None:
        template = MessageTemplate(
            name=name,
            channel="sms",
            texts=[MessageTemplateText(language=lang, body_text=text) for lang, text in texts],
        )
        db.session.add(template)
        db.session.flush()
    return template


def make_mailings_demo(fake, rng, users, *, n_partners: int, language: str) -> None:
    groups = _groups(language)
    consenting = _consents(rng, language)
    # The mailings' author: one who sends mailings but assigns no records (the marketer).
    author = next(
        (u for u in users if may(u, "messaging.send") and not may(u, "records.assign")),
        next((u for u in users if may(u, "messaging.edit")), None),
    )
    names = MAILINGS[language]
    existing = set(db.session.execute(select(Mailing.name)).scalars())
    clients = list(
        db.session.execute(
            select(Partner.id, Partner.responsible_id)
            .where(Partner.is_client.is_(True), Partner.merged_into_id.is_(None))
            .order_by(Partner.id)
        ).all()
    )
    if names["promo"] not in existing:
        promo_ids = [pid for pid, _r in clients if ("email", pid) in consenting]
        template = _promo_template()
        create_mailing(
            author,
            MailingData(
                name=names["promo"],
                channel="email",
                template_id=template.id if template else None,
                group_id=groups["promo"].id,
                tracking=True,
            ),
            promo_ids[:PROMO_PARTNERS],
        )
    if names["service"] not in existing:
        # A notice to one manager's clients: a service group needs no consent.
        managers = sorted({r for _p, r in clients if r is not None})
        manager = managers[0] if managers else None
        service_ids = [pid for pid, r in clients if r == manager][:SERVICE_PARTNERS]
        create_mailing(
            author,
            MailingData(
                name=names["service"],
                channel="sms",
                template_id=_notice_template(language).id,
                group_id=groups["service"].id,
            ),
            service_ids,
        )
    db.session.flush()
