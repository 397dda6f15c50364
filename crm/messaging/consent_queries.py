"""Reads of the consent pages: the groups with what uses them, the suppression list (the part
a user may see), and the partner card's Mailings tab — each address of the partner and its
contact persons with its consent, language, opt-outs, suppression and consent history, and
the last messages sent to the partner."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from crm.core.models import AuditEntry
from crm.core.paging import Page, capped_page
from crm.core.policy import rows_clause
from crm.core.text import digits, fold
from crm.extensions import db
from crm.messaging.models import (
    ADDRESS_KINDS,
    GroupOptOut,
    Mailing,
    MailingGroup,
    Message,
    Subscriber,
    Suppression,
)
from crm.partners.models import ContactDetail, ContactPerson, Partner

CHANNEL_OF_KIND = {kind: channel for channel, kind in ADDRESS_KINDS.items()}
CONSENT_ACTIONS = ("consent_granted", "consent_withdrawn")
RECENT_MESSAGES = 20
HISTORY_PER_ADDRESS = 20


# --- groups ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRow:
    group: MailingGroup
    mailings: int
    opt_outs: int


def group_rows() -> list[GroupRow]:
    """Every group (active first, by name) with its mailings and opt-outs counted."""
    mailings = (
        select(func.count())
        .select_from(Mailing)
        .where(Mailing.group_id == MailingGroup.id)
        .scalar_subquery()
    )
    opt_outs = (
        select(func.count())
        .select_from(GroupOptOut)
        .where(GroupOptOut.group_id == MailingGroup.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(MailingGroup, mailings, opt_outs).order_by(
            MailingGroup.is_active.desc(), MailingGroup.name, MailingGroup.id
        )
    ).all()
    return [GroupRow(g, m, o) for g, m, o in rows]


def groups_for_choice(also: Iterable[int] = ()) -> list[MailingGroup]:
    """The active groups and those of `also` (an address's opt-outs of a group since
    switched off still show), advertising first, by name."""
    also = sorted(set(also))
    cond = MailingGroup.is_active.is_(True)
    if also:
        cond = or_(cond, MailingGroup.id.in_(also))
    return list(
        db.session.execute(
            select(MailingGroup).where(cond).order_by(MailingGroup.kind, MailingGroup.name)
        ).scalars()
    )


# --- the suppression list --------------------------------------------------------------------


def _visible_addresses(user):
    """The condition on Suppression rows `user` may see: all of them, or — for a user who
    sees only some partners — those of addresses of these partners and their persons."""
    clause = rows_clause(user, Partner)
    if clause is None:
        return None
    partners = select(Partner.id).where(clause)
    parts = []
    for channel, kind in ADDRESS_KINDS.items():
        own = select(ContactDetail.value_norm).where(
            ContactDetail.kind == kind, ContactDetail.partner_id.in_(partners)
        )
        persons = (
            select(ContactDetail.value_norm)
            .join(ContactPerson, ContactPerson.id == ContactDetail.contact_person_id)
            .where(ContactDetail.kind == kind, ContactPerson.partner_id.in_(partners))
        )
        parts.append(
            and_(
                Suppression.channel == channel,
                or_(Suppression.address_norm.in_(own), Suppression.address_norm.in_(persons)),
            )
        )
    return or_(*parts)


def suppression_select(user, q: str = "", reason: str = "", channel: str = ""):
    """The SELECT of the suppression rows `user` may see that match the filters, newest
    first."""
    stmt = select(Suppression)
    visible = _visible_addresses(user)
    if visible is not None:
        stmt = stmt.where(visible)
    if reason:
        stmt = stmt.where(Suppression.reason == reason)
    if channel:
        stmt = stmt.where(Suppression.channel == channel)
    text = fold(q)
    if text:
        found = Suppression.address_norm.contains(text, autoescape=True)
        number = digits(text)
        if len(number) >= 3 and len(number) * 2 >= len(text.replace(" ", "")):
            found = or_(found, Suppression.address_norm.contains(number, autoescape=True))
        stmt = stmt.where(found)
    return stmt.order_by(Suppression.created_at.desc(), Suppression.id.desc())


def suppression_page(user, flt) -> Page:
    stmt = suppression_select(user, flt.q, flt.reason, flt.channel)
    page = capped_page(stmt.with_only_columns(Suppression.id), flt.page, 50)
    rows = {
        s.id: s
        for s in db.session.execute(
            select(Suppression).where(Suppression.id.in_(page.items))
        ).scalars()
    }
    page.items = [rows[i] for i in page.items if i in rows]
    return page


def suppression_rows(user, flt) -> Iterator[Suppression]:
    """Every matching row, read in chunks (the CSV export)."""
    stmt = suppression_select(user, flt.q, flt.reason, flt.channel)
    yield from db.session.execute(stmt.execution_options(yield_per=1000)).scalars()


# --- the partner card's Mailings tab --------------------------------------------------------


@dataclass
class HistoryEntry:
    at: datetime
    who: str  # the user's name; "" when the recipient or the system did it
    granted: bool
    source: str
    consent_at: datetime | None = None  # the moment the consent was given, as recorded


@dataclass
class AddressState:
    detail: ContactDetail
    person: ContactPerson | None
    channel: str
    subscriber: Subscriber | None
    opted_out: set[int]
    suppression: Suppression | None
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def norm(self) -> str:
        return self.detail.value_norm

    @property
    def consent(self) -> bool:
        return bool(self.subscriber and self.subscriber.consent)

    @property
    def language(self) -> str:
        return self.subscriber.language if self.subscriber else ""


def partner_details(partner: Partner) -> list[tuple[ContactDetail, ContactPerson | None]]:
    """The partner's own e-mails and phones, then its contact persons' (by name)."""
    found = [(d, None) for d in partner.contact_details if d.kind in CHANNEL_OF_KIND]
    for person in sorted(partner.contact_persons, key=lambda p: (fold(p.name), p.id)):
        found += [(d, person) for d in person.contact_details if d.kind in CHANNEL_OF_KIND]
    return [(d, p) for d, p in found if d.value_norm]


def detail_of_partner(partner: Partner, detail_id: int):
    """(detail, person) of one of the partner's e-mails or phones; None when it is not his."""
    return next(((d, p) for d, p in partner_details(partner) if d.id == detail_id), None)


def address_states(partner: Partner) -> list[AddressState]:
    details = partner_details(partner)
    by_channel: dict[str, set[str]] = {}
    for d, _person in details:
        by_channel.setdefault(CHANNEL_OF_KIND[d.kind], set()).add(d.value_norm)
    subscribers: dict[tuple[str, str], Subscriber] = {}
    suppressed: dict[tuple[str, str], Suppression] = {}
    opted: dict[tuple[str, str], set[int]] = {}
    for channel, norms in by_channel.items():
        wanted = sorted(norms)
        for s in db.session.execute(
            select(Subscriber).where(
                Subscriber.channel == channel, Subscriber.address_norm.in_(wanted)
            )
        ).scalars():
            subscribers[(channel, s.address_norm)] = s
        for s in db.session.execute(
            select(Suppression).where(
                Suppression.channel == channel, Suppression.address_norm.in_(wanted)
            )
        ).scalars():
            suppressed[(channel, s.address_norm)] = s
        for norm, group_id in db.session.execute(
            select(GroupOptOut.address_norm, GroupOptOut.group_id).where(
                GroupOptOut.channel == channel, GroupOptOut.address_norm.in_(wanted)
            )
        ):
            opted.setdefault((channel, norm), set()).add(group_id)
    histories = history([s.id for s in subscribers.values()])
    states = []
    for d, person in details:
        key = (CHANNEL_OF_KIND[d.kind], d.value_norm)
        sub = subscribers.get(key)
        states.append(
            AddressState(
                d,
                person,
                key[0],
                sub,
                opted.get(key, set()),
                suppressed.get(key),
                histories.get(sub.id, []) if sub else [],
            )
        )
    return states


def history(subscriber_ids: list[int]) -> dict[int, list[HistoryEntry]]:
    """The consent history of each subscriber (newest first): given and withdrawn, when, by
    whom and on what source, as the audit log recorded it."""
    if not subscriber_ids:
        return {}
    users = db.metadata.tables["user"]
    rows = db.session.execute(
        select(AuditEntry, users.c.name, users.c.email)
        .outerjoin(users, users.c.id == AuditEntry.user_id)
        .where(
            AuditEntry.object_type == Subscriber.__tablename__,
            AuditEntry.object_id.in_(sorted(set(subscriber_ids))),
            AuditEntry.action.in_(CONSENT_ACTIONS),
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    ).all()
    found: dict[int, list[HistoryEntry]] = {}
    for entry, name, email in rows:
        entries = found.setdefault(entry.object_id, [])
        if len(entries) >= HISTORY_PER_ADDRESS:
            continue
        changes = entry.changes or {}
        granted = entry.action == "consent_granted"
        source_key = "consent_source" if granted else "withdrawn_source"
        source = _new_value(changes, source_key) or ""
        consent_at = _new_value(changes, "consent_at") if granted else None
        entries.append(
            HistoryEntry(
                entry.at,
                name or email or "",
                granted,
                source,
                _parse_moment(consent_at),
            )
        )
    return found


def _new_value(changes: dict, key: str):
    pair = changes.get(key)
    return pair[1] if isinstance(pair, list) and len(pair) == 2 else None


def _parse_moment(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class SentRow:
    message: Message
    mailing_name: str | None
    group_name: str | None


def recent_messages(partner_id: int, limit: int = RECENT_MESSAGES) -> list[SentRow]:
    """The last messages to the partner and its persons, newest first."""
    rows = db.session.execute(
        select(Message, Mailing.name, MailingGroup.name)
        .outerjoin(Mailing, Mailing.id == Message.mailing_id)
        .outerjoin(MailingGroup, MailingGroup.id == Message.group_id)
        .where(Message.partner_id == partner_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    ).all()
    return [SentRow(m, mailing, group) for m, mailing, group in rows]
