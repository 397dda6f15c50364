"""Demo interactions for `crm demo`: every kind over the last 12 months, planned ones for the
next month, threads of replies and follow-ups, a few unprocessed and overdue items.

Everything is drawn from the step's `rng`. A second run adds interactions only to partners
that have none.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from crm.core.policy import may
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.interactions.models import Interaction, Participant
from crm.interactions.services import sync_derived
from crm.partners.models import Partner

# The demo's texts in each demo language (`crm demo --language`).
TEXTS = {
    "ru": {
        "call": ["Уточнить заказ", "Сверка задолженности", "Новая поставка", "Условия доставки",
                 "Вопрос по прайс-листу", "Продление договора", "Рекламация", "Согласовать скидку"],
        "meeting": ["Презентация новинок", "Переговоры по договору", "Итоги квартала",
                    "Визит на склад", "Обсуждение скидок", "Демонстрация продукта"],
        "email": ["Коммерческое предложение", "Счёт на оплату", "КП №{n}", "Акт сверки",
                  "Приглашение на выставку", "Прайс-лист"],
        "sms": ["Ваш заказ отгружен", "Напоминаем о встрече завтра", "Счёт выставлен, спасибо!",
                "Перезвоните, пожалуйста"],
        "outcome": ["Договорились о встрече", "Не дозвонился", "Дозвонился, согласовали шаги",
                    "Попросили перезвонить", "Заказ подтверждён", "Оставил сообщение"],
        "body": "Добрый день!\n\nНаправляем документы во вложении.\n\nС уважением.",
    },
    "en": {
        "call": ["Order details", "Balance reconciliation", "New delivery", "Delivery terms",
                 "Price list question", "Contract renewal", "Complaint", "Discount approval"],
        "meeting": ["New products presentation", "Contract negotiation", "Quarterly review",
                    "Warehouse visit", "Discussing discounts", "Product demo"],
        "email": ["Commercial offer", "Invoice", "Quote #{n}", "Reconciliation statement",
                  "Invitation to our exhibition", "Price list"],
        "sms": ["Your order has shipped", "A reminder of our meeting tomorrow",
                "Invoice issued, thank you!", "Please call me back"],
        "outcome": ["Agreed to meet", "No answer", "Reached, agreed next step",
                    "Asked to call back", "Order confirmed", "Left a voicemail"],
        "body": "Good afternoon,\n\nPlease find the documents attached.\n\nKind regards.",
    },
}  # fmt: skip


def make_interactions_demo(fake, rng, users, *, n_partners: int, language: str = "ru") -> None:
    """The `crm demo` step: interactions of the partners that have none yet."""
    texts = TEXTS[language]
    now = utcnow().replace(second=0, microsecond=0)
    staff = [u for u in users if may(u, "records.own")]
    if not staff:
        return
    has = select(Interaction.partner_id).where(Interaction.partner_id.is_not(None)).distinct()
    partners = list(
        db.session.execute(
            select(Partner)
            .where(Partner.merged_into_id.is_(None), Partner.id.not_in(has))
            .order_by(Partner.id)
        ).scalars()
    )
    for n, partner in enumerate(partners):
        owner = next((u for u in staff if u.id == partner.responsible_id), rng.choice(staff))
        for _ in range(rng.choice((0, 1, 2, 3, 4, 6, 8))):
            _thread(rng, texts, now, partner, owner, staff)
        if rng.random() < 0.35:  # something planned for the coming month
            _planned(rng, texts, now, partner, owner, staff)
        if n % 100 == 99:
            db.session.flush()
    db.session.flush()


def _person(rng, partner: Partner):
    return (
        rng.choice(partner.contact_persons)
        if partner.contact_persons and rng.random() < 0.6
        else None
    )


def _address(partner: Partner, kind: str) -> str:
    detail = partner.main_detail("email" if kind == "email" else "phone")
    return detail.value if detail else ""


def _new(rng, texts, partner, owner, kind, start, status, parent=None) -> Interaction:
    person = _person(rng, partner)
    i = Interaction(
        kind=kind,
        status=status,
        responsible_id=owner.id,
        partner_id=partner.id,
        contact_person_id=person.id if person else None,
        starts_at=start,
        duration_minutes=0,
        remind_minutes=15,
    )
    if kind == "call":
        i.direction = rng.choice(("outgoing", "outgoing", "incoming"))
        i.duration_minutes = rng.randint(1, 25)
        i.title = rng.choice(texts["call"])
        i.address = _address(partner, kind)
    elif kind == "meeting":
        i.duration_minutes = rng.choice((30, 60, 60, 90, 120))
        i.title = rng.choice(texts["meeting"])
    elif kind == "planned":
        i.duration_minutes = rng.choice((15, 30, 60))
        i.title = rng.choice(texts["call"] + texts["meeting"])
    elif kind == "email":
        i.direction = rng.choice(("outgoing", "incoming"))
        i.title = rng.choice(texts["email"]).format(n=rng.randint(100, 999))
        i.address = _address(partner, kind)
        i.description = texts["body"]
    else:  # sms
        i.direction = "outgoing"
        i.description = rng.choice(texts["sms"])
        i.address = _address(partner, "phone")
    if status == "completed":
        i.completed_at = start + timedelta(minutes=i.duration_minutes)
        if kind in ("call", "meeting"):
            i.outcome = rng.choice(texts["outcome"])
    if parent is not None:
        i.parent = parent
        if kind == "email" and parent.kind == "email" and parent.title:
            i.title = "Re: " + parent.title.removeprefix("Re: ")
    i.partner, i.contact_person = partner, person
    return i


def _status_for(rng, start: datetime, now: datetime) -> str:
    if start > now:
        return "planned"
    r = rng.random()
    # A few past items nobody closed: the unprocessed list has something to show.
    return "planned" if r < 0.03 else "cancelled" if r < 0.06 else "completed"


def _thread(rng, texts, now, partner, owner, staff) -> None:
    """A conversation: a first contact and 0–3 replies/follow-ups a few days apart."""
    kind = rng.choices(("call", "email", "meeting", "sms", "planned"), (40, 25, 15, 10, 10))[0]
    # Working hours in Moscow (UTC+3): 09:00-18:45.
    start = (now - timedelta(days=rng.randint(1, 365))).replace(
        hour=rng.randint(6, 15), minute=rng.choice((0, 15, 30, 45))
    )
    root = _new(rng, texts, partner, owner, kind, start, _status_for(rng, start, now))
    items = [root]
    parent = root
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        start = (parent.starts_at + timedelta(days=rng.randint(1, 10))).replace(
            hour=rng.randint(6, 15), minute=rng.choice((0, 15, 30, 45))
        )
        if start > now + timedelta(days=30):
            break
        kind = rng.choices(("call", "email", "meeting", "sms"), (40, 35, 20, 5))[0]
        child = _new(rng, texts, partner, owner, kind, start, _status_for(rng, start, now), parent)
        items.append(child)
        parent = child
    last = items[-1]
    if last.status == "completed" and rng.random() < 0.15:
        # Waiting for the client's answer; some of these came due already.
        last.follow_up_at = last.starts_at + timedelta(days=rng.randint(2, 14))
    if root.kind == "meeting" and rng.random() < 0.5:
        colleague = rng.choice(staff)
        if colleague.id != owner.id:
            root.participants.append(Participant(user_id=colleague.id, note="joins the meeting"))
    _save(items)


def _planned(rng, texts, now, partner, owner, staff) -> None:
    kind = rng.choices(("meeting", "planned", "call"), (40, 35, 25))[0]
    start = (now + timedelta(days=rng.randint(0, 30))).replace(
        hour=rng.randint(6, 14), minute=rng.choice((0, 30))
    )
    if start <= now:
        start += timedelta(days=1)
    i = _new(rng, texts, partner, owner, kind, start, "planned")
    if kind == "meeting" and rng.random() < 0.4:
        colleague = rng.choice(staff)
        if colleague.id != owner.id:
            i.participants.append(Participant(user_id=colleague.id, note="technical questions"))
    _save([i])


def _save(items: list[Interaction]) -> None:
    """Insert a thread: ids first, then the chain (the first item's id) and derived columns."""
    for i in items:
        i.ends_at = i.starts_at  # placeholders until sync_derived below
        db.session.add(i)
    db.session.flush()
    for i in items:
        i.chain_id = items[0].id
        sync_derived(i)
