"""Reads of interactions: the filtered and grouped list, threads, a partner's history, and
the calendar's interaction items (who may see which is crm/interactions/policy.py)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import Select, and_, func, or_, select, union

from crm.auth.models import User
from crm.auth.policy import responsible_users_clause
from crm.core.paging import Page, capped_page
from crm.core.policy import may, rows_clause, visible
from crm.core.text import fold
from crm.core.timeutil import from_zone, to_zone, utcnow
from crm.extensions import db
from crm.interactions.filters import InteractionFilter
from crm.interactions.models import MAX_DURATION, Interaction, Participant
from crm.interactions.policy import participating
from crm.partners.models import ContactPerson, Partner


def get_interaction(interaction_id: int) -> Interaction | None:
    return db.session.get(Interaction, interaction_id)


# --- the list -----------------------------------------------------------------------------


def _local_day_start(day, zone: str) -> datetime:
    return from_zone(datetime.combine(day, time.min), zone)


# "Unprocessed" shows what came due today and in the last RECENT_DAYS days first, newest first;
# the older ones wait folded away with their count (a year of old items would otherwise push a
# follow-up that just came due to page 3). OLDER_SHOWN of them are listed in the fold.
RECENT_DAYS = 7
OLDER_SHOWN = 20


def recent_cutoff(zone: str, now: datetime) -> datetime:
    """The UTC start of the local day RECENT_DAYS before today: items due since are recent."""
    today = to_zone(now, zone).date()
    return _local_day_start(today - timedelta(days=RECENT_DAYS), zone)


def splits_by_age(flt: InteractionFilter) -> bool:
    """The unprocessed list without a grouping comes in two parts: recent, then older."""
    return bool(flt.unprocessed and not flt.group)


def list_stmt(
    user,
    flt: InteractionFilter,
    zone: str,
    now: datetime | None = None,
    part: str | None = None,
) -> Select:
    """The list's select; `part` ("recent"/"older") takes one age part of the unprocessed."""
    now = now or utcnow()
    stmt = select(Interaction)
    visible = rows_clause(user, Interaction)
    mine = flt.responsible == "me" or (flt.responsible and int(flt.responsible) == user.id)
    if mine and flt.unprocessed:
        # What waits for me is what I am responsible for (and alone may close); what I only
        # take part in is someone else's to process.
        stmt = stmt.where(Interaction.responsible_id == user.id)
    elif mine:
        # One's own: responsible or taking part; the indexes on both make this two range reads.
        stmt = stmt.where(
            or_(Interaction.responsible_id == user.id, Interaction.id.in_(participating(user.id)))
        )
    else:
        if flt.responsible:
            stmt = stmt.where(Interaction.responsible_id == int(flt.responsible))
        if visible is not None:
            stmt = stmt.where(visible)
    if flt.kind:
        stmt = stmt.where(Interaction.kind == flt.kind)
    if flt.status:
        stmt = stmt.where(Interaction.status == flt.status)
    if flt.partner:
        stmt = stmt.where(Interaction.partner_id == flt.partner)
    if flt.subject_ref:
        key, object_id = flt.subject_ref
        stmt = stmt.where(Interaction.subject_type == key, Interaction.subject_id == object_id)
    elif flt.subject_words:
        stmt = stmt.where(
            Interaction.search_text.contains(fold(flt.subject_words), autoescape=True)
        )
    if flt.date_from:
        stmt = stmt.where(Interaction.starts_at >= _local_day_start(flt.date_from, zone))
    if flt.date_to:
        end = _local_day_start(flt.date_to + timedelta(days=1), zone)
        stmt = stmt.where(Interaction.starts_at < end)
    if flt.unprocessed:
        stmt = stmt.where(Interaction.due_at <= now)
        if part == "recent":
            stmt = stmt.where(Interaction.due_at >= recent_cutoff(zone, now))
        elif part == "older":
            stmt = stmt.where(Interaction.due_at < recent_cutoff(zone, now))
    for word in fold(flt.q).split()[:8]:
        stmt = stmt.where(Interaction.search_text.contains(word, autoescape=True))
    for clause in flt.extra_clauses():  # the partner scopes ("segment") on partner_id
        stmt = stmt.where(clause)
    return stmt


def _order(flt: InteractionFilter):
    if flt.group == "partner":
        return [
            Partner.name_norm.is_(None),
            Partner.name_norm,
            Interaction.partner_id,
            Interaction.starts_at.desc(),
            Interaction.id.desc(),
        ]
    if flt.group == "responsible":
        return [Interaction.responsible_id, Interaction.starts_at.desc(), Interaction.id.desc()]
    if flt.group == "subject":
        return [
            Interaction.subject_type,
            Interaction.subject_id,
            Interaction.subject_text,
            Interaction.starts_at.desc(),
            Interaction.id.desc(),
        ]
    if flt.unprocessed:
        return [Interaction.due_at.desc(), Interaction.id.desc()]
    return [Interaction.starts_at.desc(), Interaction.id.desc()]


def interaction_page(
    user,
    flt: InteractionFilter,
    zone: str,
    per_page: int | None = None,
    now: datetime | None = None,
) -> Page:
    """One page of the list; the matches are counted up to COUNT_LIMIT ("1,000+"). The
    unprocessed list pages through its recent part (or, with `older`, the older one)."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    part = ("older" if flt.older else "recent") if splits_by_age(flt) else None
    return _page(user, flt, zone, now, part, flt.page, per_page)


def older_unprocessed(
    user, flt: InteractionFilter, zone: str, now: datetime | None = None
) -> Page | None:
    """The fold under the recent unprocessed items: how many came due before the last
    RECENT_DAYS days (counted up to COUNT_LIMIT) and the newest OLDER_SHOWN of them. None when
    the list is not split by age or already shows the older part."""
    if not splits_by_age(flt) or flt.older:
        return None
    return _page(user, flt, zone, now, "older", 1, OLDER_SHOWN)


def _page(user, flt, zone, now, part, page_number: int, per_page: int) -> Page:
    stmt = list_stmt(user, flt, zone, now, part)
    if flt.group == "partner":
        stmt = stmt.outerjoin(Partner, Partner.id == Interaction.partner_id)
    ids_stmt = stmt.with_only_columns(Interaction.id).order_by(*_order(flt))
    page = capped_page(ids_stmt, page_number, per_page)
    page.items = load(page.items)
    return page


def load(ids: list[int]) -> list[Interaction]:
    """Interactions by id in the given order. A row, the partner card and the feed show the
    partner, contact person and responsible user (joined by the model); no participants or
    files, which only the detail page reads."""
    if not ids:
        return []
    rows = db.session.execute(select(Interaction).where(Interaction.id.in_(ids))).scalars()
    by_id = {i.id: i for i in rows}
    return [by_id[i] for i in ids if i in by_id]


def thread(i: Interaction, user) -> list[tuple[int, Interaction]]:
    """The chain `i` belongs to, as (depth, interaction) in reply order; hidden ones skipped."""
    members = (
        db.session.execute(
            select(Interaction)
            .where(Interaction.chain_id == (i.chain_id or i.id))
            .order_by(Interaction.starts_at, Interaction.id)
        )
        .unique()
        .scalars()
        .all()
    )
    children: dict[int | None, list[Interaction]] = {}
    ids = {m.id for m in members}
    for m in members:
        parent = m.parent_id if m.parent_id in ids else None
        children.setdefault(parent, []).append(m)
    out: list[tuple[int, Interaction]] = []

    def walk(node_id, depth):
        for child in children.get(node_id, []):
            if may(user, "interaction.view", child):
                out.append((depth, child))
            walk(child.id, depth + 1)

    walk(None, 0)
    return out


def partner_history(user, partner_id: int, kind: str = "", status: str = "", limit=200):
    """A partner's interactions that `user` may see, newest first."""
    stmt = select(Interaction.id).where(Interaction.partner_id == partner_id)
    stmt = visible(user, Interaction, stmt)
    if kind:
        stmt = stmt.where(Interaction.kind == kind)
    if status:
        stmt = stmt.where(Interaction.status == status)
    stmt = stmt.order_by(Interaction.starts_at.desc(), Interaction.id.desc()).limit(limit + 1)
    ids = list(db.session.execute(stmt).scalars())
    return load(ids[:limit]), len(ids) > limit


def assignable_users() -> list[User]:
    return list(
        db.session.execute(
            select(User)
            .where(User.active.is_(True), responsible_users_clause())
            .order_by(User.name, User.email)
        ).scalars()
    )


# --- calendar -----------------------------------------------------------------------------


def calendar_span(user, start: datetime, end: datetime, owner_ids=None) -> list[tuple]:
    """(id, starts_at) of the interactions overlapping [start, end) (UTC) in time order, on the
    calendars of `owner_ids` (what they are responsible for or take part in), or all the user
    may see when None. Index-only reads: the rows themselves are loaded for what is shown."""
    # Through the connection: plain Core rows, several times cheaper than the ORM's result for
    # the thousands of (id, start) pairs of a busy month.
    stmt = calendar_span_stmt(user, start, end, owner_ids)
    return list(db.session.connection().execute(stmt).all())


def span_version(user, start: datetime, end: datetime, owner_ids=None) -> tuple:
    """(count, latest change) of the interactions of a span: when neither moved, what was built
    from the span (the iCalendar feed) is still right — save for renamed partners, which the
    feed's daily key catches."""
    span = calendar_span_stmt(user, start, end, owner_ids).subquery()
    stmt = select(func.count(), func.max(Interaction.updated_at)).where(
        Interaction.id.in_(select(span.c.id))
    )
    count, latest = db.session.execute(stmt).one()
    return count, latest


def calendar_span_stmt(user, start: datetime, end: datetime, owner_ids=None) -> Select:
    """The select of `calendar_span`: (id, starts_at) in time order."""
    # An item overlaps when it starts before `end` and ends after `start`; bounding the start
    # from below too (no interaction is longer than MAX_DURATION) keeps it an index range.
    # Zero-length items (a call logged at 10:00) show where they happened.
    earliest = start - timedelta(minutes=MAX_DURATION)
    window = and_(
        Interaction.starts_at >= earliest,
        Interaction.starts_at < end,
        or_(Interaction.ends_at > start, Interaction.starts_at >= start),
    )
    columns = (Interaction.id, Interaction.starts_at)
    if owner_ids is None:
        stmt = visible(user, Interaction, select(*columns).where(window))
        stmt = stmt.order_by(Interaction.starts_at, Interaction.id)
    else:
        owner_ids = list(owner_ids)
        # Two index ranges joined by UNION (an OR of the two made PostgreSQL scan the period
        # of every user): one's own, and what one takes part in. Participants carry copies of
        # the start and end, so that part reads one index of their own table.
        own = select(*columns).where(window, Interaction.responsible_id.in_(owner_ids))
        taking_part = select(Participant.interaction_id, Participant.starts_at).where(
            Participant.user_id.in_(owner_ids),
            Participant.starts_at >= earliest,
            Participant.starts_at < end,
            or_(Participant.ends_at > start, Participant.starts_at >= start),
        )
        seen = rows_clause(user, Interaction)
        if seen is not None and owner_ids != [user.id]:
            own = own.where(seen)
            taking_part = select(*columns).where(
                seen, Interaction.id.in_(taking_part.with_only_columns(Participant.interaction_id))
            )
        both = union(own, taking_part).subquery()
        stmt = select(both.c.id, both.c.starts_at).order_by(both.c.starts_at, both.c.id)
    return stmt


def in_range(user, start: datetime, end: datetime, owner_ids=None) -> list[Interaction]:
    """The interactions of `calendar_span`, loaded whole (the iCalendar feed describes them)."""
    return load([row[0] for row in calendar_span(user, start, end, owner_ids)])


def rows_for_calendar(ids: list[int]) -> list:
    """What calendar items show of these interactions, as plain rows in the given order (no
    objects: a month view shows a few hundred, and building ORM objects cost more than the
    query). Each row has the interaction's columns plus partner_name and person_name."""
    if not ids:
        return []
    stmt = (
        select(
            Interaction.id,
            Interaction.kind,
            Interaction.status,
            Interaction.title,
            Interaction.responsible_id,
            Interaction.contact_text,
            Interaction.starts_at,
            Interaction.ends_at,
            Interaction.due_at,
            Interaction.version,
            Partner.name.label("partner_name"),
            ContactPerson.name.label("person_name"),
        )
        .outerjoin(Partner, Partner.id == Interaction.partner_id)
        .outerjoin(ContactPerson, ContactPerson.id == Interaction.contact_person_id)
        .where(Interaction.id.in_(ids))
    )
    by_id = {row.id: row for row in db.session.connection().execute(stmt)}
    return [by_id[i] for i in ids if i in by_id]
