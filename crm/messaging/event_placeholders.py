"""The placeholders of event notifications that messaging itself offers
(crm.core.message_placeholders): the order of an "order status" notification, the deal of a
"deal won" one and the interaction of a reminder, each read from the id its event brings. The
placeholders of every message (partner, contact, manager, debt) and the batch loading rules
both follow are crm.messaging.placeholders'."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_babel import lazy_pgettext as _lp
from sqlalchemy import select

from crm.core.formats import fmt_date, fmt_datetime
from crm.core.message_placeholders import Placeholder, Recipient, register_placeholder
from crm.core.timeutil import site_today, to_zone
from crm.deals.models import Deal, DealKind
from crm.interactions.models import KINDS as INTERACTION_KINDS
from crm.interactions.models import Interaction
from crm.messaging.placeholders import ZERO, Titles, rows_by_id
from crm.sales.models import SalesDocument

ORDER_STATUS_TITLES = {
    "ordered": lazy_pgettext("order status", "Ordered"),
    "shipped": lazy_pgettext("order status", "Shipped"),
    "paid": lazy_pgettext("order status", "Paid"),
    "cancelled": lazy_pgettext("order status", "Cancelled"),
}


def _event_id(recipient: Recipient, key: str) -> int | None:
    """An id the event brings (`{"document_id": 12}`); None when absent or not a whole number."""
    value = recipient.event.get(key) if recipient.event else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _zone() -> str:
    return current_app.config["DEFAULT_TIMEZONE"]


# --- order (order status notifications) ------------------------------------------------------

ORDER_FIELDS = (
    ("number", _l("Number")),
    ("date", _l("Date")),
    ("status", _lp("order", "Status")),
    ("previous_status", _l("Previous status")),
    ("total", _l("Total")),
    ("due_date", _l("Payment due")),
)


def load_order(recipients: Sequence[Recipient]) -> list[dict]:
    """The document of the event (`document_id`), its new status (`status`, else the
    document's) and the one before (`previous_status`)."""
    doc = SalesDocument
    rows = rows_by_id(
        (_event_id(r, "document_id") for r in recipients),
        lambda ids: select(doc.id, doc.doc_no, doc.date, doc.status, doc.total, doc.due_date).where(
            doc.id.in_(ids)
        ),
    )
    statuses = Titles(ORDER_STATUS_TITLES)
    out = []
    for r in recipients:
        row = rows.get(_event_id(r, "document_id"))
        status = str(r.event.get("status") or "") or (row[3] if row else "")
        previous = str(r.event.get("previous_status") or "")
        out.append(
            {
                "number": row[1] if row else "",
                "date": row[2] if row else None,
                "status": statuses(status, r.language),
                "previous_status": statuses(previous, r.language),
                "total": Decimal(row[4]).quantize(ZERO) if row and row[4] is not None else ZERO,
                "due_date": row[5] if row else None,
            }
        )
    return out


def sample_order() -> dict:
    today = site_today()
    return {
        "number": "ЗК-004512",
        "date": today - timedelta(days=2),
        "status": "Отгружен",
        "previous_status": "Заказан",
        "total": Decimal("84350.00"),
        "due_date": today + timedelta(days=12),
    }


# --- deal (deal won notifications) -----------------------------------------------------------

DEAL_FIELDS = (
    ("number", _l("Number")),
    ("title", _l("Title")),
    ("amount", _l("Amount")),
    ("won_on", _l("Won on")),
    ("kind", _l("Kind")),
)


def load_deal(recipients: Sequence[Recipient]) -> list[dict]:
    rows = rows_by_id(
        (_event_id(r, "deal_id") for r in recipients),
        lambda ids: (
            select(Deal.id, Deal.deal_no, Deal.title, Deal.amount, Deal.closed_on)
            .add_columns(DealKind.name)
            .join(DealKind, DealKind.id == Deal.kind_id)
            .where(Deal.id.in_(ids))
        ),
    )
    out = []
    for r in recipients:
        row = rows.get(_event_id(r, "deal_id"))
        if row is None:
            out.append({"number": "", "title": "", "amount": ZERO, "won_on": None, "kind": ""})
            continue
        _id, number, title, amount, closed_on, kind = row
        out.append(
            {
                "number": number or "",
                "title": title or "",
                "amount": Decimal(amount).quantize(ZERO) if amount is not None else ZERO,
                "won_on": closed_on,
                "kind": kind or "",
            }
        )
    return out


def sample_deal() -> dict:
    return {
        "number": "СД-0042",
        "title": "Поставка стеллажей для склада",
        "amount": Decimal("1250000.00"),
        "won_on": site_today(),
        "kind": "Продажа",
    }


# --- interaction (reminders to a contact person) ---------------------------------------------

INTERACTION_FIELDS = (
    ("title", _l("Topic")),
    ("kind", _l("Kind")),
    ("starts_at", _l("Date and time")),
    ("date", _l("Date")),
    ("time", _l("Time")),
    ("duration_minutes", _l("Duration, minutes")),
    ("place", _l("Place, phone or e-mail")),
)


def load_interaction(recipients: Sequence[Recipient]) -> list[dict]:
    """The interaction of the event (`interaction_id`); its start in the site's zone, written
    in the recipient's language ("05.12.2026 11:00")."""
    i = Interaction
    rows = rows_by_id(
        (_event_id(r, "interaction_id") for r in recipients),
        lambda ids: select(i.id, i.title, i.kind, i.starts_at, i.duration_minutes, i.address).where(
            i.id.in_(ids)
        ),
    )
    kinds = Titles(INTERACTION_KINDS)
    zone = _zone()
    out = []
    for r in recipients:
        row = rows.get(_event_id(r, "interaction_id"))
        if row is None:
            out.append(
                {
                    "title": "",
                    "kind": "",
                    "starts_at": "",
                    "date": None,
                    "time": "",
                    "duration_minutes": 0,
                    "place": "",
                }
            )
            continue
        _id, title, kind, starts_at, duration, place = row
        out.append(
            {
                "title": title or kinds(kind, r.language),
                "kind": kinds(kind, r.language),
                "starts_at": fmt_datetime(starts_at, locale=r.language or "ru", zone=zone),
                "date": to_zone(starts_at, zone).date(),
                "time": fmt_datetime(starts_at, locale=r.language or "ru", zone=zone, kind="time"),
                "duration_minutes": duration or 0,
                "place": place or "",
            }
        )
    return out


def sample_interaction() -> dict:
    day = site_today() + timedelta(days=1)
    return {
        "title": "Встреча по договору поставки",
        "kind": "Встреча",
        "starts_at": fmt_date(day, locale="ru") + " 11:00",
        "date": day,
        "time": "11:00",
        "duration_minutes": 60,
        "place": "Казань, ул. Баумана, 12",
    }


PLACEHOLDERS = (
    Placeholder(
        "order", _l("Order"), ORDER_FIELDS, load_order, sample_order, 50, ("order_status",)
    ),
    Placeholder("deal", _l("Deal"), DEAL_FIELDS, load_deal, sample_deal, 60, ("deal_won",)),
    Placeholder(
        "interaction",
        _l("Interaction"),
        INTERACTION_FIELDS,
        load_interaction,
        sample_interaction,
        70,
        ("interaction_reminder",),
    ),
)


def register(state) -> None:
    for placeholder in PLACEHOLDERS:
        register_placeholder(state, placeholder)
