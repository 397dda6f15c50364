"""Reads of marketing mailings: the list (newest first, with sent/total counts), a mailing's
figures (messages by state, progress, opens and clicks) and its messages, the recipient
preview, and the partners added to a draft by hand.

Everything about messages is read for a user: a manager counts and lists only the messages to
partners he may see (`restricted` says so, for the page to label its figures)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select, union
from sqlalchemy.orm import selectinload

from crm.auth.models import User
from crm.core.paging import Page, capped_page
from crm.core.policy import rows_clause
from crm.core.text import fold
from crm.extensions import db
from crm.messaging.models import Mailing, MailingGroup, MailingPartner, Message
from crm.messaging.recipients import SKIP_REASONS, ScopeError, resolve_partners, scope_select
from crm.partners.models import ContactPerson, Partner

PER_PAGE = 25
MESSAGES_PER_PAGE = 50
PREVIEW_ROWS = 20
HAND_PICKED_SHOWN = 200
SENT_STATES = ("sent", "delivered")  # went out (delivered: confirmed later by the gateway)
PROCESSED_STATES = ("sent", "delivered", "failed", "bounced")  # the progress bar's part


def restricted(user) -> bool:
    """Does `user` see only some partners (a manager), so only some messages?"""
    return rows_clause(user, Partner) is not None


def _visible(stmt, user):
    """`stmt` on Message narrowed to the messages to partners `user` may see."""
    clause = rows_clause(user, Partner)
    if clause is None:
        return stmt
    return stmt.where(Message.partner_id.in_(select(Partner.id).where(clause)))


# --- the list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MailingRow:
    mailing: Mailing
    author: str
    sent: int
    total: int


def mailing_page(flt, user) -> Page:
    """One page of mailings, newest first (search by name, state), with the number of their
    messages sent and made (those to the partners `user` may see, for a manager)."""
    stmt = select(Mailing.id)
    if flt.state:
        stmt = stmt.where(Mailing.state == flt.state)
    if flt.channel:
        stmt = stmt.where(Mailing.channel == flt.channel)
    if flt.q:
        # Mailings are a few hundred a year: names are matched folded in Python (SQLite's
        # lower() knows no Cyrillic), the page is then read by id.
        words = fold(flt.q).split()
        names = db.session.execute(select(Mailing.id, Mailing.name))
        stmt = stmt.where(
            Mailing.id.in_([i for i, name in names if all(w in fold(name) for w in words)])
        )
    found = capped_page(stmt.order_by(Mailing.id.desc()), flt.page, PER_PAGE)
    if not found.items:
        return found
    ids = found.items
    mailings = {
        m.id: m
        for m in db.session.execute(
            select(Mailing)
            .where(Mailing.id.in_(ids))
            .options(selectinload(Mailing.template), selectinload(Mailing.group))
        ).scalars()
    }
    authors = dict(
        db.session.execute(
            select(User.id, User.name).where(
                User.id.in_({m.created_by_id for m in mailings.values() if m.created_by_id})
            )
        ).all()
    )
    counts = {
        mid: (int(sent or 0), int(total))
        for mid, sent, total in db.session.execute(
            _visible(
                select(
                    Message.mailing_id,
                    func.sum(case((Message.state.in_(SENT_STATES), 1), else_=0)),
                    func.count(),
                )
                .where(Message.mailing_id.in_(ids))
                .group_by(Message.mailing_id),
                user,
            )
        )
    }
    whole = not restricted(user)
    rows = []
    for mid in ids:
        m = mailings[mid]
        sent, total = counts.get(mid, (0, 0))
        rows.append(
            MailingRow(
                m, authors.get(m.created_by_id, ""), sent, max(total, m.total) if whole else total
            )
        )
    found.items = rows
    return found


# --- a mailing's figures --------------------------------------------------------------------


@dataclass
class Figures:
    by_state: dict[str, int]
    total: int  # messages made (or to be made, as far as the job has counted them)
    opened: int
    clicked: int
    restricted: bool

    @property
    def processed(self) -> int:
        return sum(self.by_state.get(s, 0) for s in PROCESSED_STATES)

    @property
    def sent(self) -> int:
        return sum(self.by_state.get(s, 0) for s in SENT_STATES)

    @property
    def percent(self) -> int:
        """The progress bar's value: processed messages of all, 0..100."""
        if not self.total:
            return 0
        return min(100, self.processed * 100 // self.total)

    @property
    def open_rate(self) -> float | None:
        return self.opened / self.sent if self.sent else None

    @property
    def click_rate(self) -> float | None:
        return self.clicked / self.sent if self.sent else None


def figures(mailing: Mailing, user) -> Figures:
    """The mailing's messages by state, opened and clicked (those `user` may see)."""
    by_state = dict(
        db.session.execute(
            _visible(
                select(Message.state, func.count())
                .where(Message.mailing_id == mailing.id)
                .group_by(Message.state),
                user,
            )
        ).all()
    )
    opened, clicked = db.session.execute(
        _visible(
            select(
                func.count(Message.opened_at),
                func.count(Message.clicked_at),
            ).where(Message.mailing_id == mailing.id),
            user,
        )
    ).one()
    limited = restricted(user)
    made = sum(by_state.values())
    total = made if limited else max(made, mailing.total or 0)
    return Figures(by_state, total, int(opened or 0), int(clicked or 0), limited)


# --- a mailing's messages -------------------------------------------------------------------


@dataclass(frozen=True)
class MessageRow:
    id: int
    address: str
    partner_id: int | None
    partner_code: str
    partner_name: str
    state: str
    attempts: int
    error: str
    sent_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None


def message_page(mailing: Mailing, user, flt) -> Page:
    """One page of the mailing's messages to the partners `user` may see, in the order they
    were made (state filter)."""
    stmt = select(Message.id).where(Message.mailing_id == mailing.id)
    if flt.state:
        stmt = stmt.where(Message.state == flt.state)
    found = capped_page(_visible(stmt, user).order_by(Message.id), flt.page, MESSAGES_PER_PAGE)
    if not found.items:
        return found
    rows = db.session.execute(
        select(
            Message.id,
            Message.address,
            Message.partner_id,
            Partner.code,
            Partner.name,
            Message.state,
            Message.attempts,
            Message.error,
            Message.sent_at,
            Message.opened_at,
            Message.clicked_at,
        )
        .outerjoin(Partner, Partner.id == Message.partner_id)
        .where(Message.id.in_(found.items))
        .order_by(Message.id)
    ).all()
    found.items = [
        MessageRow(
            r[0], r[1], r[2], r[3] or "", r[4] or "", r[5], r[6], r[7] or "", r[8], r[9], r[10]
        )
        for r in rows
    ]
    return found


# --- recipients -----------------------------------------------------------------------------


def recipients_select(
    user,
    *,
    scope_key: str = "",
    scope_value: str = "",
    mailing_id: int | None = None,
    add_ids=(),
    remove_ids=(),
    remove_all: bool = False,
):
    """The SELECT of the ids of the partners a mailing would go to, of those `user` may see:
    its scope's (resolved now) and those added by hand (the saved ones less `remove_ids`,
    or none with `remove_all`, and `add_ids`); None when it names nobody. Raises ScopeError
    for a scope that cannot be resolved."""
    clause = rows_clause(user, Partner)
    parts = []
    if mailing_id is not None and not remove_all:
        saved = (
            select(MailingPartner.partner_id)
            .join(Partner, Partner.id == MailingPartner.partner_id)
            .where(MailingPartner.mailing_id == mailing_id)
        )
        removed = sorted({int(i) for i in remove_ids})
        if removed:
            saved = saved.where(MailingPartner.partner_id.not_in(removed))
        if clause is not None:
            saved = saved.where(clause)
        parts.append(saved)
    added = sorted({int(i) for i in add_ids})
    if added:
        chosen = select(Partner.id).where(Partner.id.in_(added))
        parts.append(chosen.where(clause) if clause is not None else chosen)
    if scope_key:
        # A member of a UNION has no ORDER BY of its own.
        parts.append(scope_select(scope_key, scope_value, user).order_by(None))
    if not parts:
        return None
    return union(*parts) if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class PreviewRow:
    partner_id: int
    code: str
    name: str
    person: str
    address: str
    language: str


@dataclass
class Preview:
    partners: int = 0
    messages: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    rows: list[PreviewRow] = field(default_factory=list)
    restricted: bool = False
    problem: str = ""  # why there is no preview (the scope cannot be resolved)
    empty: bool = False  # the mailing names no recipients yet

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def preview(channel: str, group: MailingGroup | None, user, **recipients) -> Preview:
    """What a mailing on `channel` of `group` to these recipients (recipients_select's
    arguments) would do now, as far as `user` may see: partners, messages, skipped by reason,
    and the first recipients."""
    limited = restricted(user)
    try:
        partner_ids = recipients_select(user, **recipients)
    except ScopeError as exc:
        return Preview(restricted=limited, problem=exc.reason)
    if partner_ids is None:
        return Preview(restricted=limited, empty=True)
    result = resolve_partners(channel, group, partner_ids)
    first = result.recipients[:PREVIEW_ROWS]
    names = dict(
        (pid, (code, name))
        for pid, code, name in db.session.execute(
            select(Partner.id, Partner.code, Partner.name).where(
                Partner.id.in_({r.partner_id for r in first})
            )
        )
    )
    persons = dict(
        db.session.execute(
            select(ContactPerson.id, ContactPerson.name).where(
                ContactPerson.id.in_({r.contact_person_id for r in first if r.contact_person_id})
            )
        ).all()
    )
    rows = [
        PreviewRow(
            r.partner_id,
            names.get(r.partner_id, ("", ""))[0],
            names.get(r.partner_id, ("", ""))[1],
            persons.get(r.contact_person_id, "") if r.contact_person_id else "",
            r.address,
            r.language,
        )
        for r in first
    ]
    return Preview(result.partners, len(result.recipients), dict(result.skipped), rows, limited)


def mailing_preview(mailing: Mailing, user) -> Preview:
    """The preview of a saved mailing's recipients."""
    return preview(
        mailing.channel,
        mailing.group,
        user,
        scope_key=mailing.scope_key,
        scope_value=mailing.scope_value,
        mailing_id=mailing.id,
    )


def hand_picked(mailing: Mailing, user, limit: int = HAND_PICKED_SHOWN) -> tuple[list, int]:
    """(the first `limit` partners added to the mailing by hand that `user` may see, as (id,
    code, name) by name; how many there are)."""
    stmt = (
        select(Partner.id, Partner.code, Partner.name)
        .join(MailingPartner, MailingPartner.partner_id == Partner.id)
        .where(MailingPartner.mailing_id == mailing.id)
    )
    clause = rows_clause(user, Partner)
    if clause is not None:
        stmt = stmt.where(clause)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.session.execute(stmt.order_by(Partner.name, Partner.id).limit(limit)).all()
    return [tuple(r) for r in rows], total


def author(mailing: Mailing) -> User | None:
    return db.session.get(User, mailing.created_by_id) if mailing.created_by_id else None
