"""Reads of segments: the SELECT of a segment's member ids (the rule's for a dynamic segment,
the stored rows otherwise), narrowed to the partners a user may see; the segments a user can
pick in a filter. Lists, reports, exports and the scope filter all start from
`members_select`, so "who is in a segment" is answered in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.auth.models import User
from crm.core.paging import Page, capped_page
from crm.core.periods_sql import as_date
from crm.core.policy import rows_clause
from crm.core.text import fold
from crm.core.timeutil import site_today
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import SalesDocument
from crm.sales.receivables import receivables
from crm.segments import product_queries
from crm.segments.models import Segment, SegmentRefresh
from crm.segments.objects import OBJECTS, objects_of
from crm.segments.rules import matching

PER_PAGE = 50


def members_select(segment: Segment, as_of=None, user=None):
    """SELECT of the ids of the segment's live partners (only those `user` may see when one is
    given). A dynamic segment's rule is compiled here (raises RuleError if it no longer
    holds, e.g. a segment it names was deleted)."""
    target = objects_of(segment)
    if segment.kind == "dynamic":
        stmt = matching(segment.rule, segment.of, as_of)
    else:
        stmt = (
            select(target.id)
            .join(target.member, target.member_key() == target.id)
            .where(target.member.segment_id == segment.id, *target.live())
        )
    if user is not None and target.model is Partner:  # every role sees every product
        clause = rows_clause(user, Partner)
        if clause is not None:
            stmt = stmt.where(clause)
    return stmt


def all_segments() -> list[Segment]:
    return list(db.session.execute(select(Segment).order_by(Segment.name)).scalars())


@dataclass(frozen=True)
class MemberRow:
    id: int
    code: str
    name: str
    city: str
    manager: str
    revenue: Decimal  # Σ sales in the FIGURE_DAYS ending today
    last_purchase: date | None
    debt: Decimal  # receivable balance today (negative: the partner's credit)


FIGURE_DAYS = 365


def member_page(
    segment: Segment, user, page: int, q: str = "", per_page: int = PER_PAGE, where=()
) -> Page:
    """One page of the members `user` may see, by name (searched by name or code; `where`:
    more conditions on Partner, e.g. the list's partner scopes), with their revenue over the
    last year, last purchase and debt today (products: revenue over the last year, last sale,
    stock)."""
    if segment.of == "products":
        return product_queries.member_page(members_select(segment), page, q, per_page)
    ids = members_select(segment, user=user).subquery()
    stmt = select(Partner.id).where(Partner.id.in_(select(ids.c.id)), *where)
    words = fold(q).split() if q else []
    if words:  # as the partner list searches: every word in the folded name, code, INN…
        stmt = stmt.where(*(Partner.search_text.contains(w, autoescape=True) for w in words))
    found = capped_page(stmt.order_by(Partner.name, Partner.id), page, per_page)
    found.items = member_rows(found.items)
    return found


def member_rows(ids: list[int], today: date | None = None) -> list[MemberRow]:
    """The rows of these partners (in this order) with their key figures; a few queries for
    any number of ids (the export pages through them)."""
    if not ids:
        return []
    today = today or site_today()
    doc = SalesDocument
    since = today - timedelta(days=FIGURE_DAYS - 1)
    revenue = dict(
        db.session.execute(
            select(doc.partner_id, func.sum(doc.total))
            .where(
                doc.partner_id.in_(ids), doc.line_count > 0, doc.date >= since, doc.date <= today
            )
            .group_by(doc.partner_id)
        ).all()
    )
    last = dict(
        db.session.execute(
            select(doc.partner_id, func.max(doc.date))
            .where(doc.partner_id.in_(ids), doc.purchase_lines > 0, doc.date <= today)
            .group_by(doc.partner_id)
        ).all()
    )
    balances = receivables(today, ids)
    people = (
        select(Partner.id, Partner.code, Partner.name, Partner.city, User.name)
        .outerjoin(User, User.id == Partner.responsible_id)
        .where(Partner.id.in_(ids))
    )
    by_id = {row[0]: row for row in db.session.execute(people)}
    out = []
    for pid in ids:
        if pid not in by_id:
            continue
        _, code, name, city, manager = by_id[pid]
        balance = balances.get(pid)
        out.append(
            MemberRow(
                pid,
                code,
                name,
                city or "",
                manager or "",
                Decimal(revenue.get(pid) or 0).quantize(Decimal("0.01")),
                as_date(last.get(pid)),
                balance.debt if balance else Decimal("0"),
            )
        )
    return out


# The export's columns (titles translated when the export is written) and a row's values.
EXPORT_TITLES = (
    _l("Code"),
    _l("Partner"),
    _l("City"),
    _l("Responsible"),
    _l("Revenue, 12 months"),
    _l("Last purchase"),
    _l("Debt"),
)


def export_row(r: MemberRow) -> tuple:
    return (r.code, r.name, r.city, r.manager, r.revenue, r.last_purchase, r.debt)


def visible_member_ids(segment: Segment, user) -> list[int]:
    """The ids of every member `user` may see, by name (raises RuleError for a broken rule)."""
    target = objects_of(segment)
    inner = members_select(segment, user=user).subquery()
    stmt = select(target.id).where(target.id.in_(select(inner.c.id)))
    return list(db.session.execute(stmt.order_by(target.model.name, target.id)).scalars())


def rows_in_chunks(ids: list[int], chunk: int = 1000):
    """MemberRows of these ids in order, a chunk at a time (an export of any size)."""
    today = site_today()
    for start in range(0, len(ids), chunk):
        yield from member_rows(ids[start : start + chunk], today)


@dataclass(frozen=True)
class SegmentRow:
    segment: Segment
    owner: str
    stored: int | None  # the stored members (periodic, manual); None: dynamic, counted lazily


def segment_page(flt) -> Page:
    """One page of segments by name (search by name or description, kind)."""
    stmt = select(Segment.id)
    if flt.q:
        # A team has tens of segments: matched folded in Python (SQLite's lower() knows no
        # Cyrillic), the page then read by id.
        words = fold(flt.q).split()
        rows = db.session.execute(select(Segment.id, Segment.name, Segment.description))
        found_ids = [
            sid for sid, name, text in rows if all(w in fold(f"{name} {text}") for w in words)
        ]
        stmt = stmt.where(Segment.id.in_(found_ids))
    if flt.kind:
        stmt = stmt.where(Segment.kind == flt.kind)
    found = capped_page(stmt.order_by(Segment.name, Segment.id), flt.page, PER_PAGE)
    if not found.items:
        return found
    segments = {
        s.id: s
        for s in db.session.execute(select(Segment).where(Segment.id.in_(found.items))).scalars()
    }
    counts = {}
    for target in OBJECTS.values():
        member = target.member
        counts.update(
            db.session.execute(
                select(member.segment_id, func.count())
                .join(target.model, target.id == target.member_key())
                .where(member.segment_id.in_(found.items), *target.live())
                .group_by(member.segment_id)
            ).all()
        )
    owners = dict(
        db.session.execute(
            select(User.id, User.name).where(
                User.id.in_({s.owner_id for s in segments.values() if s.owner_id})
            )
        ).all()
    )
    found.items = [
        SegmentRow(
            s,
            owners.get(s.owner_id, ""),
            None if s.kind == "dynamic" else counts.get(s.id, 0),
        )
        for s in (segments[i] for i in found.items)
    ]
    return found


def member_count(segment: Segment, user) -> int:
    """How many members `user` sees."""
    sub = members_select(segment, user=user).subquery()
    return db.session.execute(select(func.count()).select_from(sub)).scalar_one()


def refresh_history(segment: Segment, limit: int = 20) -> list[SegmentRefresh]:
    return list(
        db.session.execute(
            select(SegmentRefresh)
            .where(SegmentRefresh.segment_id == segment.id)
            .order_by(SegmentRefresh.at.desc(), SegmentRefresh.id.desc())
            .limit(limit)
        ).scalars()
    )


def refresh_changes(record: SegmentRefresh, user, limit: int = 200) -> list[tuple[str, str, str]]:
    """(change, code, name) of one refresh's entered and left partners that `user` may see
    (products: their SKU and name)."""
    segment = db.session.get(Segment, record.segment_id)
    target = objects_of(segment)
    change = target.change
    code = Partner.code if target.model is Partner else target.model.sku
    stmt = (
        select(change.change, code, target.model.name)
        .join(target.model, target.id == target.change_key())
        .where(change.refresh_id == record.id)
        .order_by(change.change, target.model.name)
        .limit(limit)
    )
    clause = rows_clause(user, Partner) if target.model is Partner else None
    if clause is not None:
        stmt = stmt.where(clause)
    return [tuple(row) for row in db.session.execute(stmt)]


def refresh_record(segment: Segment, refresh_id: int) -> SegmentRefresh | None:
    record = db.session.get(SegmentRefresh, refresh_id)
    return record if record is not None and record.segment_id == segment.id else None
