"""The placeholders of every client message that messaging itself offers
(crm.core.message_placeholders): the partner, the contact the message goes to, the partner's
manager and its debt. Those of event notifications (order, deal, interaction) are
crm.messaging.event_placeholders'; both load as this module's helpers do.

Each loader reads a whole batch of recipients in one or a few queries (ids chunked under the
databases' parameter limits), never one query per recipient, and hands out plain dicts of
str, Decimal, int and date: the sandbox never sees a model. Words the reader reads (a status,
a kind) come in the recipient's language; times in the site's zone (DEFAULT_TIMEZONE: a
contact has no zone of his own). A recipient whose record is missing (a deleted deal, a
partner merged away) gets the same keys with empty values, so a template renders blanks
rather than failing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from sqlalchemy import select

from crm.auth.models import User
from crm.core.i18n import in_language
from crm.core.message_placeholders import Placeholder, Recipient, register_placeholder
from crm.core.timeutil import site_today
from crm.extensions import db
from crm.partners.labels import KIND_TITLES as PARTNER_KIND_TITLES
from crm.partners.models import ContactPerson, Partner
from crm.sales.receivables import receivables

ZERO = Decimal("0.00")
# Ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits.
ID_CHUNK = 900


# --- helpers ---------------------------------------------------------------------------------


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted({i for i in ids if i is not None})
    for start in range(0, len(ordered), ID_CHUNK):
        yield ordered[start : start + ID_CHUNK]


def rows_by_id(ids: Iterable[int], query: Callable[[list[int]], object]) -> dict[int, tuple]:
    """{id: row} of `query(chunk)` (a select whose first column is the id) over every chunk."""
    found: dict[int, tuple] = {}
    for chunk in _chunks(ids):
        for row in db.session.execute(query(chunk)):
            found[row[0]] = tuple(row)
    return found


class Titles:
    """Titles of stored codes in each recipient's language, translated once per pair."""

    def __init__(self, titles: dict):
        self.titles = titles
        self.done: dict[tuple[str, str], str] = {}

    def __call__(self, code: str | None, language: str) -> str:
        if not code:
            return ""
        key = (code, language)
        if key not in self.done:
            title = self.titles.get(code)
            if title is None:
                self.done[key] = code  # an unknown code (an imported status) as it is
            else:
                with in_language(language):
                    self.done[key] = str(title)
        return self.done[key]


# --- partner ---------------------------------------------------------------------------------

PARTNER_FIELDS = (
    ("name", _lp("partner", "Name")),
    ("code", _l("Code")),
    ("city", _l("City")),
    ("inn", _l("INN")),
    ("kind", _l("Company or person")),
)


def load_partner(recipients: Sequence[Recipient]) -> list[dict]:
    rows = rows_by_id(
        (r.partner_id for r in recipients),
        lambda ids: select(
            Partner.id, Partner.name, Partner.code, Partner.city, Partner.inn, Partner.kind
        ).where(Partner.id.in_(ids)),
    )
    kinds = Titles(PARTNER_KIND_TITLES)
    out = []
    for r in recipients:
        row = rows.get(r.partner_id)
        if row is None:
            out.append(dict.fromkeys(("name", "code", "city", "inn", "kind"), ""))
            continue
        _id, name, code, city, inn, kind = row
        out.append(
            {
                "name": name or "",
                "code": code or "",
                "city": city or "",
                "inn": inn or "",
                "kind": kinds(kind, r.language),
            }
        )
    return out


def sample_partner() -> dict:
    return {
        "name": "ООО «Ромашка»",
        "code": "К-00125",
        "city": "Казань",
        "inn": "1655123456",
        "kind": "Компания",
    }


# --- contact ---------------------------------------------------------------------------------

CONTACT_FIELDS = (
    ("name", _l("Name (the contact person, else the partner)")),
    ("position", _l("Position")),
    ("address", _l("Address the message goes to")),
)


def load_contact(recipients: Sequence[Recipient]) -> list[dict]:
    persons = rows_by_id(
        (r.contact_person_id for r in recipients),
        lambda ids: select(ContactPerson.id, ContactPerson.name, ContactPerson.position).where(
            ContactPerson.id.in_(ids)
        ),
    )
    partners = rows_by_id(
        (r.partner_id for r in recipients if r.contact_person_id is None),
        lambda ids: select(Partner.id, Partner.name).where(Partner.id.in_(ids)),
    )
    out = []
    for r in recipients:
        person = persons.get(r.contact_person_id) if r.contact_person_id else None
        if person is not None:
            name, position = person[1] or "", person[2] or ""
        else:
            partner = partners.get(r.partner_id)
            name, position = (partner[1] or "") if partner else "", ""
        out.append({"name": name, "position": position, "address": r.address or ""})
    return out


def sample_contact() -> dict:
    return {
        "name": "Волкова Ирина Сергеевна",
        "position": "главный бухгалтер",
        "address": "volkova@romashka.ru",
    }


# --- manager ---------------------------------------------------------------------------------

MANAGER_FIELDS = (
    ("name", _l("Full name")),
    ("email", _l("E-mail")),
)


def load_manager(recipients: Sequence[Recipient]) -> list[dict]:
    rows = rows_by_id(
        (r.partner_id for r in recipients),
        lambda ids: (
            select(Partner.id, User.name, User.email)
            .join(User, User.id == Partner.responsible_id)
            .where(Partner.id.in_(ids))
        ),
    )
    out = []
    for r in recipients:
        row = rows.get(r.partner_id)
        if row is None:
            out.append({"name": "", "email": ""})
        else:
            out.append({"name": row[1] or row[2] or "", "email": row[2] or ""})
    return out


def sample_manager() -> dict:
    return {"name": "Алексей Петров", "email": "a.petrov@example.ru"}


# --- debt ------------------------------------------------------------------------------------

DEBT_FIELDS = (
    ("total", _l("Debt today")),
    ("overdue", _l("Overdue debt")),
    ("oldest_due", _l("Due date of the oldest overdue document")),
    ("days_overdue", _l("Days the oldest overdue document is late")),
    ("as_of", _l("Date of the figures")),
)


def load_debt(recipients: Sequence[Recipient]) -> list[dict]:
    """The receivables of the recipients' partners today (crm.sales.receivables, one pass for
    the batch). A partner in credit owes nothing: its debt shows as zero."""
    today = site_today()
    ids = {r.partner_id for r in recipients if r.partner_id is not None}
    balances = receivables(today, ids) if ids else {}
    out = []
    for r in recipients:
        balance = balances.get(r.partner_id)
        oldest = balance.oldest_overdue if balance is not None else None
        out.append(
            {
                "total": max(balance.debt, ZERO) if balance is not None else ZERO,
                "overdue": balance.overdue if balance is not None else ZERO,
                "oldest_due": oldest,
                "days_overdue": (today - oldest).days if oldest is not None else 0,
                "as_of": today,
            }
        )
    return out


def sample_debt() -> dict:
    today = site_today()
    return {
        "total": Decimal("125400.00"),
        "overdue": Decimal("48200.00"),
        "oldest_due": today - timedelta(days=17),
        "days_overdue": 17,
        "as_of": today,
    }


PLACEHOLDERS = (
    Placeholder("partner", _l("Partner"), PARTNER_FIELDS, load_partner, sample_partner, 10),
    Placeholder("contact", _l("Contact"), CONTACT_FIELDS, load_contact, sample_contact, 20),
    Placeholder("manager", _l("Manager"), MANAGER_FIELDS, load_manager, sample_manager, 30),
    Placeholder("debt", _l("Debt"), DEBT_FIELDS, load_debt, sample_debt, 40),
)


def register(state) -> None:
    for placeholder in PLACEHOLDERS:
        register_placeholder(state, placeholder)
