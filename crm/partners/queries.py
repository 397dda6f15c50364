"""Reads of partners: the filtered list, duplicates, report rows (who may see which is
crm/partners/policy.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext
from rapidfuzz import fuzz
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from crm.auth.models import User
from crm.auth.policy import responsible_users_clause
from crm.core.models import AuditEntry
from crm.core.paging import COUNT_LIMIT, Page
from crm.core.policy import may, rows_clause
from crm.core.text import digits, fold, name_key, normalise_email, normalise_phone
from crm.extensions import db
from crm.partners.filters import PartnerFilter
from crm.partners.listing import list_rows
from crm.partners.models import ContactDetail, ContactPerson, Partner, Tag, partner_tag

NAME_PREFIX = 4  # letters of the name key that look-alike candidates share
SIMILAR_NAME_SCORE = 90  # rapidfuzz token_sort_ratio at or above which names are "very similar"
PHONE_CHARS = set("0123456789+-() .")


# --- list -------------------------------------------------------------------------------


def phone_variants(q: str) -> set[str]:
    """Digit strings a phone typed as `q` is stored under: as typed, in international form, and
    with a national trunk prefix replaced by the country code ("8 912 …" is "+7 912 …")."""
    import phonenumbers

    region = current_app.config["DEFAULT_PHONE_REGION"]
    typed = digits(q)
    variants = {typed}
    full = normalise_phone(q, region)
    if full.startswith("+"):
        variants.add(digits(full))
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    prefix = meta.national_prefix if meta else None
    if prefix and typed.startswith(prefix) and not q.lstrip().startswith("+"):
        variants.add(str(meta.country_code) + typed[len(prefix) :])
    return variants


def _search_clause(q: str):
    """Every word must occur in the search text; phone-like input matches by its digits."""
    if set(q) <= PHONE_CHARS and len(digits(q)) >= 3:
        return or_(
            *[Partner.search_text.contains(v, autoescape=True) for v in sorted(phone_variants(q))]
        )
    words = fold(q).split()
    return and_(*[Partner.search_text.contains(w, autoescape=True) for w in words])


def partner_list_stmt(user, flt: PartnerFilter) -> Select:
    stmt = select(Partner).where(Partner.merged_into_id.is_(None))
    visible = rows_clause(user, Partner)
    if visible is not None:
        stmt = stmt.where(visible)
    if flt.q:
        stmt = stmt.where(_search_clause(flt.q))
    if flt.role:
        stmt = stmt.where(getattr(Partner, f"is_{flt.role}").is_(True))
    if flt.manager == "none":
        stmt = stmt.where(Partner.responsible_id.is_(None))
    elif flt.manager:
        stmt = stmt.where(Partner.responsible_id == int(flt.manager))
    if flt.tag:
        stmt = stmt.where(
            Partner.id.in_(select(partner_tag.c.partner_id).where(partner_tag.c.tag_id == flt.tag))
        )
    if flt.city:
        stmt = stmt.where(Partner.city_norm == fold(flt.city))
    return stmt


ORDER = {
    "name": (Partner.name_norm, Partner.id),
    "-name": (Partner.name_norm.desc(), Partner.id.desc()),
    "code": (Partner.code,),
    "city": (Partner.city_norm, Partner.name_norm, Partner.id),
    "-created": (Partner.created_on.desc(), Partner.id.desc()),
    "created": (Partner.created_on, Partner.id),
}


def page_order(flt: PartnerFilter):
    """The list order, with merged_into_id first for a name order without a search word.

    merged_into_id is NULL in every listed row, so the order is the same; but PostgreSQL does
    not take `merged_into_id IS NULL` as fixing the column, and only with it named does it
    read ix_partner_list / ix_partner_responsible in order and stop at the 1,001st row
    instead of sorting every partner (0.6 ms instead of ~30 ms at 100,000). With a search
    word it is left out: PostgreSQL then takes the matches from the trigram index and sorts
    them, cheaper than reading in name order, where a common word's matches cluster ("ооо ..."
    names) far from the start. SQLite reads its scan indexes in order either way."""
    order = ORDER[flt.sort]
    if flt.q or flt.sort not in ("name", "-name"):
        return order
    live = Partner.merged_into_id.desc() if flt.sort == "-name" else Partner.merged_into_id
    return (live, *order)


def _count(stmt: Select) -> int:
    ids = stmt.with_only_columns(Partner.id).order_by(None).subquery()
    return db.session.execute(select(func.count()).select_from(ids)).scalar_one()


def _ids(stmt: Select, order, limit: int, offset: int = 0) -> list[int]:
    ids = stmt.with_only_columns(Partner.id).order_by(*order).limit(limit).offset(offset)
    return list(db.session.execute(ids).scalars())


def partner_page(
    user, flt: PartnerFilter, per_page: int | None = None, persons=False, plain=False
) -> Page:
    """One page of the filtered list, with what each row shows loaded in a few extra queries.

    One index-only query lists the ids of the first COUNT_LIMIT + 1 matches in list order: they
    give the total (or "1,000+") and the first pages, so the matches are read once, not once
    to count and again for the page. The unfiltered list is counted exactly (an index-only
    count); pages after the first COUNT_LIMIT matches are read with OFFSET."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    stmt = partner_list_stmt(user, flt)
    order = page_order(flt)
    ids = _ids(stmt, order, COUNT_LIMIT + 1)
    complete = len(ids) <= COUNT_LIMIT
    if complete:
        total, more = len(ids), False
    elif flt.active:
        total, more = COUNT_LIMIT, True
    else:
        total, more = _count(stmt), False
    # Past the end (an old link, an edited URL): the last page, not an empty one.
    page = flt.page if more else min(flt.page, max(1, -(-total // per_page)))
    offset = (page - 1) * per_page
    if complete or offset + per_page < len(ids):
        page_ids = ids[offset : offset + per_page + 1]
    else:
        page_ids = _ids(stmt, order, per_page + 1, offset)
        if not page_ids and more:
            total, more = _count(stmt), False
            page = max(1, -(-total // per_page))
            offset = (page - 1) * per_page
            page_ids = _ids(stmt, order, per_page + 1, offset)
    next_exists = len(page_ids) > per_page
    page_ids = page_ids[:per_page]
    if more and page_ids and not next_exists:
        total, more = offset + len(page_ids), False  # the last page: now the total is known
    if plain:  # the list page's rows, without ORM entities (crm/partners/listing.py)
        return Page(list_rows(page_ids), total, page, per_page, more, next_exists)
    options = [selectinload(Partner.tags), selectinload(Partner.contact_details)]
    if persons:
        options.append(
            selectinload(Partner.contact_persons).selectinload(ContactPerson.contact_details)
        )
    items = []
    if page_ids:
        rows = db.session.execute(
            select(Partner).where(Partner.id.in_(page_ids)).options(*options)
        ).scalars()
        by_id = {p.id: p for p in rows}
        items = [by_id[i] for i in page_ids if i in by_id]
    return Page(items, total, page, per_page, more, next_exists)


def iter_partners(user, flt: PartnerFilter, batch: int = 500):
    """Every partner of the filter in list order, loaded in batches (exports, reports)."""
    stmt = partner_list_stmt(user, flt).order_by(*ORDER[flt.sort])
    offset = 0
    while True:
        rows = list(
            db.session.execute(
                stmt.options(
                    selectinload(Partner.tags),
                    selectinload(Partner.contact_details),
                    selectinload(Partner.contact_persons).selectinload(
                        ContactPerson.contact_details
                    ),
                )
                .limit(batch)
                .offset(offset)
            ).scalars()
        )
        yield from rows
        if len(rows) < batch:
            return
        offset += batch
        db.session.expunge_all()  # keep memory flat on big exports


# --- choices for filters and forms -----------------------------------------------------------


def responsible_choices() -> list[User]:
    """Users who can be responsible for a partner."""
    return list(
        db.session.execute(
            select(User)
            .where(User.active.is_(True), responsible_users_clause())
            .order_by(User.name, User.email)
        ).scalars()
    )


def all_tags() -> list[Tag]:
    return list(db.session.execute(select(Tag).order_by(Tag.name_norm)).scalars())


CITIES_TTL = 300  # seconds an edited city may take to reach the suggestions


def cities(user, limit: int = 500) -> list[str]:
    """The most common cities of the partners `user` may see, for the filter's suggestions
    (one spelling of each): a city nobody else has would tell a manager of a partner that is
    not his.

    Counting them reads an index entry per partner (merged ones too: the live ones alone
    meant reading the whole table), too much for every full list page. So each process keeps
    the list for CITIES_TTL seconds, keyed by the newest partner: a new partner's city (how
    a city usually arrives) shows at once, an edited one within the TTL."""
    visible = rows_clause(user, Partner)
    newest = db.session.execute(
        select(Partner.id, Partner.updated_at).order_by(Partner.id.desc()).limit(1)
    ).first()
    seen_by = None if visible is None else user.id
    key = (str(db.engine.url), limit, seen_by, tuple(newest) if newest else None)
    cache = current_app.extensions.setdefault("crm.partner_cities", {})
    kept = cache.get(key)
    if kept and kept[0] > time.monotonic():
        return kept[1]
    stmt = select(func.min(Partner.city)).where(Partner.city_norm != "")
    if visible is not None:
        stmt = stmt.where(visible)
    rows = db.session.execute(
        stmt.group_by(Partner.city_norm)
        .order_by(func.count().desc(), Partner.city_norm)
        .limit(limit)
    ).scalars()
    found = sorted(rows, key=fold)
    now = time.monotonic()
    for old in [k for k, (expires, _) in cache.items() if expires <= now or k[3] != key[3]]:
        del cache[old]  # expired, or the partners changed since
    cache[key] = (now + CITIES_TTL, found)
    return found


# --- detail -----------------------------------------------------------------------------


def get_partner(partner_id: int) -> Partner | None:
    return db.session.execute(
        select(Partner)
        .where(Partner.id == partner_id)
        .options(
            selectinload(Partner.tags),
            selectinload(Partner.contact_details),
            selectinload(Partner.contact_persons).selectinload(ContactPerson.contact_details),
        )
    ).scalar_one_or_none()


def history(partner: Partner, limit: int = 100) -> list[AuditEntry]:
    """Audit entries of the partner and its contacts, newest first, with their users."""
    rows = db.session.execute(
        select(AuditEntry, User)
        .outerjoin(User, User.id == AuditEntry.user_id)
        .where(AuditEntry.root_type == "partner", AuditEntry.root_id == partner.id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    ).all()
    for entry, user in rows:
        entry.user = user
    return [entry for entry, _ in rows]


# --- duplicates -------------------------------------------------------------------------


@dataclass
class DuplicateMatch:
    partner: Partner
    reasons: list[str]
    # May the user looking at the warning open this partner? When not, the warning says a
    # match exists and who is responsible for it, and nothing else (no name, code, link).
    visible: bool = True


def mark_visible(user, matches: list[DuplicateMatch]) -> list[DuplicateMatch]:
    """The matches with `visible` set for `user`."""
    for m in matches:
        m.visible = may(user, "partner.view", m.partner)
    return matches


def find_duplicates(
    *,
    name: str = "",
    emails: list[str] = (),
    phones: list[str] = (),
    inn: str = "",
    exclude_id: int | None = None,
    limit: int = 10,
) -> list[DuplicateMatch]:
    """Existing partners that look like the same one: same e-mail, phone or tax id, or a very
    similar name. Contact persons' e-mails and phones count for their partner."""
    region = current_app.config["DEFAULT_PHONE_REGION"]
    reasons: dict[int, list[str]] = {}

    def add(pid: int, reason: str) -> None:
        if pid != exclude_id and reason not in reasons.setdefault(pid, []):
            reasons[pid].append(reason)

    values = [
        ("email", normalise_email(e), gettext("same e-mail %(value)s", value=e.strip()))
        for e in emails
        if e
    ]
    values += [
        ("phone", normalise_phone(p, region), gettext("same phone %(value)s", value=p.strip()))
        for p in phones
        if p
    ]
    for kind, norm, reason in values:
        if not norm:
            continue
        owner = func.coalesce(ContactDetail.partner_id, ContactPerson.partner_id)
        for (pid,) in db.session.execute(
            select(owner)
            .outerjoin(ContactPerson, ContactPerson.id == ContactDetail.contact_person_id)
            .where(ContactDetail.kind == kind, ContactDetail.value_norm == norm)
            .limit(limit)
        ):
            add(pid, reason)
    inn_digits = digits(inn)
    if inn_digits:
        for (pid,) in db.session.execute(
            select(Partner.id).where(Partner.inn == inn_digits).limit(limit)
        ):
            add(pid, gettext("same tax id %(value)s", value=inn_digits))
    key = name_key(name)
    if key:
        # Candidates: the same key, or the same first letters (an indexed equality), then a
        # fuzzy comparison of the whole key.
        candidates = db.session.execute(
            select(Partner.id, Partner.name_key)
            .where(or_(Partner.name_key == key, Partner.name_prefix == key[:NAME_PREFIX]))
            .order_by((Partner.name_key == key).desc())
            .limit(500)
        ).all()
        for pid, other_key in candidates:
            if other_key == key:
                add(pid, gettext("same name"))
            elif fuzz.token_sort_ratio(key, other_key) >= SIMILAR_NAME_SCORE:
                add(pid, gettext("very similar name"))
    if not reasons:
        return []
    partners = db.session.execute(
        select(Partner).where(Partner.id.in_(list(reasons)[: limit * 3]))
    ).scalars()
    found = {p.id: p for p in partners}
    # A merged partner points at the one that now holds its records: show that one.
    matches: dict[int, DuplicateMatch] = {}
    for pid, why in reasons.items():
        p = found.get(pid)
        if p is None:
            continue
        if p.merged_into_id:
            p = db.session.get(Partner, p.merged_into_id)
            if p is None or p.id == exclude_id:
                continue
        match = matches.setdefault(p.id, DuplicateMatch(p, []))
        match.reasons.extend(r for r in why if r not in match.reasons)
    return list(matches.values())[:limit]


# --- reports ----------------------------------------------------------------------------


def partner_by_code(code: str) -> Partner | None:
    """The live partner for a code, following merges."""
    partner = db.session.execute(select(Partner).where(Partner.code == code)).scalar_one_or_none()
    seen = set()
    while partner is not None and partner.merged_into_id and partner.id not in seen:
        seen.add(partner.id)
        partner = db.session.get(Partner, partner.merged_into_id)
    return partner
