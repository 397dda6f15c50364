"""Reads of partners: the filtered list, duplicates, report rows (who may see which is
crm/partners/policy.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext
from rapidfuzz import fuzz
from sqlalchemy import Select, and_, func, or_, select, text
from sqlalchemy.orm import selectinload

from crm.auth.models import User
from crm.auth.policy import responsible_users_clause
from crm.core.models import AuditEntry
from crm.core.paging import COUNT_LIMIT, EXACT_COUNT_UPTO, Page, planner_estimate
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


def _search_clause(q: str, column=Partner.search_text):
    """Every word must occur in the search text; phone-like input matches by its digits."""
    if set(q) <= PHONE_CHARS and len(digits(q)) >= 3:
        return or_(*[column.contains(v, autoescape=True) for v in sorted(phone_variants(q))])
    words = fold(q).split()
    return and_(*[column.contains(w, autoescape=True) for w in words])


def partner_list_stmt(user, flt: PartnerFilter, search: bool = True) -> Select:
    """The partners of the list (without the search word when not `search`)."""
    stmt = select(Partner).where(Partner.merged_into_id.is_(None))
    visible = rows_clause(user, Partner)
    if visible is not None:
        stmt = stmt.where(visible)
    if flt.q and search:
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
    for clause in flt.extra_clauses():
        stmt = stmt.where(clause)
    return stmt


ORDER = {
    "name": (Partner.name_norm, Partner.id),
    "-name": (Partner.name_norm.desc(), Partner.id.desc()),
    "code": (Partner.code,),
    "city": (Partner.city_norm, Partner.name_norm, Partner.id),
    "-created": (Partner.created_on.desc(), Partner.id.desc()),
    "created": (Partner.created_on, Partner.id),
}
# The same orders as the list's indexes hold them (ix_partner_list, ix_partner_responsible,
# ix_partner_city_list, ix_partner_created_list): column names, descending or not. They add
# merged_into_id, which is NULL in every listed row, so the order is the same; but PostgreSQL
# does not take `merged_into_id IS NULL` as fixing the column, and only with it named does it
# read those indexes in order and stop when the page is full instead of sorting every partner
# (0.6 ms instead of ~30 ms at 100,000). SQLite reads its indexes in order either way.
INDEX_KEYS = {
    "name": (("merged_into_id", "name_norm", "id"), False),
    "-name": (("merged_into_id", "name_norm", "id"), True),
    "code": (("code",), False),
    "city": (("city_norm", "merged_into_id", "name_norm", "id"), False),
    "-created": (("merged_into_id", "created_on", "id"), True),
    "created": (("merged_into_id", "created_on", "id"), False),
}


def _ordered(columns, descending: bool) -> tuple:
    return tuple(c.desc() if descending else c for c in columns)


INDEXED_ORDER = {
    sort: _ordered([getattr(Partner, n) for n in names], desc)
    for sort, (names, desc) in INDEX_KEYS.items()
}


def page_order(flt: PartnerFilter):
    """The list order, written so that PostgreSQL can read it from an index (INDEXED_ORDER).

    With a search word PostgreSQL should take the matches from the trigram index and sort
    them unless the word is common (see _page_ids): the plain order keeps it from
    walking the name index, where a common word's matches may cluster ("ооо ..." names) far
    from the start."""
    return ORDER[flt.sort] if flt.q else INDEXED_ORDER[flt.sort]


def _count(stmt: Select) -> int:
    ids = stmt.with_only_columns(Partner.id).order_by(None).subquery()
    return db.session.execute(select(func.count()).select_from(ids)).scalar_one()


def _ids(stmt: Select, order, limit: int, offset: int = 0) -> list[int]:
    ids = stmt.with_only_columns(Partner.id).order_by(*order).limit(limit).offset(offset)
    return list(db.session.execute(ids).scalars())


def list_total(stmt: Select, flt: PartnerFilter):
    """What the list's count says, as (total, more, approximate, ids): never more counting
    than that needs; `ids` are the matches when they are all known (at most COUNT_LIMIT).

    The ids of the matches are read in no order up to COUNT_LIMIT + 1 (the database stops at
    the 1,001st, by whatever path finds matches fastest: the trigram index for a rare word, a
    plain read for a common one). Past the limit a filtered list says "1,000+"; the
    unfiltered one is counted exactly while that is cheap and otherwise, on PostgreSQL,
    shows the planner's estimate ("≈ 995,000", see EXACT_COUNT_UPTO)."""
    ids = stmt.with_only_columns(Partner.id).order_by(None)
    seen = list(db.session.execute(ids.limit(COUNT_LIMIT + 1)).scalars())
    if len(seen) <= COUNT_LIMIT:
        return len(seen), False, False, seen
    if flt.active:
        return COUNT_LIMIT, True, False, None
    total, approximate = unfiltered_total(stmt)
    return total, False, approximate, None


def unfiltered_total(stmt: Select) -> tuple[int, bool]:
    """The count of a list without filters that holds more than COUNT_LIMIT partners, as
    (total, approximate): exact up to EXACT_COUNT_UPTO; above it, on PostgreSQL, the
    planner's estimate ("≈ 995,000") instead of a scan of every visible partner."""
    estimate = planner_estimate(stmt.with_only_columns(Partner.id).order_by(None))
    if estimate is None or estimate < EXACT_COUNT_UPTO:
        return _count(stmt), False
    return estimate, True


def partner_page(
    user, flt: PartnerFilter, per_page: int | None = None, persons=False, plain=False
) -> Page:
    """One page of the filtered list, with what each row shows loaded in a few extra queries
    (`plain`: the list page's rows as plain values, crm/partners/listing.py)."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    stmt = partner_list_stmt(user, flt)
    if flt.q and db.session.get_bind().dialect.name == "postgresql":
        ids, total, more, approximate, page = _page_ids_and_total(user, stmt, flt, per_page)
    else:
        ids, total, more, approximate, page = _ordered_page_ids(stmt, flt, per_page)
    next_exists = len(ids) > per_page
    page_ids = ids[:per_page]
    if (more or approximate) and page_ids and not next_exists:
        # The last page: now the total is known.
        total, more, approximate = (page - 1) * per_page + len(page_ids), False, False
    if plain:  # the list page's rows, without ORM entities (crm/partners/listing.py)
        return Page(list_rows(page_ids), total, page, per_page, more, next_exists, approximate)
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
    return Page(items, total, page, per_page, more, next_exists, approximate)


def _ordered_page_ids(stmt: Select, flt: PartnerFilter, per_page: int):
    """(ids of the page + 1, total, more, approximate, page number), mostly in one read: every
    list on SQLite, a list without a search word on PostgreSQL.

    The list's index is read in list order (SQLite's scan indexes hold the search text too),
    so one read of the ids of the first COUNT_LIMIT + 1 matches gives both the total (or
    "1,000+") and the first pages: the matches are read once, not once to count and again
    for the page, and a tag's or role's read stops at the 1,001st match instead of
    collecting every partner with that tag. Pages after the first COUNT_LIMIT matches are
    read with OFFSET. The unfiltered list past COUNT_LIMIT: see unfiltered_total."""
    order = page_order(flt)
    ids = _ids(stmt, order, COUNT_LIMIT + 1)
    complete = len(ids) <= COUNT_LIMIT
    approximate = False
    if complete:
        total, more = len(ids), False
    elif flt.active:
        total, more = COUNT_LIMIT, True
    else:
        (total, approximate), more = unfiltered_total(stmt), False
    known = not (more or approximate)
    # Past the end (an old link, an edited URL): the last page, not an empty one.
    page = min(flt.page, max(1, -(-total // per_page))) if known else flt.page
    offset = (page - 1) * per_page
    if complete or offset + per_page < len(ids):
        return ids[offset : offset + per_page + 1], total, more, approximate, page
    page_ids = _ids(stmt, order, per_page + 1, offset)
    if not page_ids and not known:
        total, more, approximate = _count(stmt), False, False
        page = max(1, -(-total // per_page))
        page_ids = _ids(stmt, order, per_page + 1, (page - 1) * per_page)
    return page_ids, total, more, approximate, page


def _page_ids_and_total(user, stmt: Select, flt: PartnerFilter, per_page: int):
    """A search on PostgreSQL: (ids of the page + 1, total, more, approximate, page number).

    The count (list_total) reads matches in no order and stops at its limit. When that was
    all of them, the page is those ids put in order (a rare word is looked up once). Else
    the page is read in list order and stops when full (per_page + 1 ids, the last one
    telling whether a next page exists), where reading a thousand matches in order would
    mean sorting every match of a common word (or walking far, see _page_ids)."""
    total, more, approximate, matches = list_total(stmt, flt)
    # Past the end (an old link, an edited URL): the last page, not an empty one.
    known = not (more or approximate)
    page = min(flt.page, max(1, -(-total // per_page))) if known else flt.page
    if matches is not None:
        # All matches are known: put them in order, instead of finding them again.
        if not matches:
            return [], total, more, approximate, page
        in_order = select(Partner).where(Partner.id.in_(matches))
        page_ids = _ids(in_order, ORDER[flt.sort], per_page + 1, (page - 1) * per_page)
        return page_ids, total, more, approximate, page
    page_ids = _page_ids(user, stmt, flt, per_page + 1, (page - 1) * per_page, more)
    if not page_ids and not known and page > 1:
        total, more, approximate = _count(stmt), False, False
        page = max(1, -(-total // per_page))
        page_ids = _page_ids(user, stmt, flt, per_page + 1, (page - 1) * per_page, False)
    return page_ids, total, more, approximate, page


def _page_ids(user, stmt: Select, flt: PartnerFilter, limit: int, offset: int, many: bool):
    """The ids of one page in list order (`many`: the search matched more than COUNT_LIMIT)."""
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    if flt.q and many and postgresql and _common_at_start(flt.q):
        walked = _walked_ids(user, flt, limit, offset)
        if walked is not None:
            return walked
    return _ids(stmt, page_order(flt), limit, offset)


def _search_matches(q: str, value: str) -> bool:
    """Does `value` (a search_text) match the search `q`? (as _search_clause does)"""
    if set(q) <= PHONE_CHARS and len(digits(q)) >= 3:
        return any(v in value for v in phone_variants(q))
    return all(w in value for w in fold(q).split())


# The first SAMPLES values of PostgreSQL's histogram of search_text (its 1st, 2nd, ... 100th
# percentiles, in about name order) of which at least HITS must match for a walk.
SAMPLES, HITS = 3, 2


def _common_at_start(q: str) -> bool:
    """Do the word's matches start with the list? Asked of ANALYZE's histogram of search_text
    (a catalog read, ~0.3 ms): its first values are the partners at the start of the list,
    and a word common there is found in a short walk. A word common only further on (every
    Cyrillic word: the Latin names sort first) would make the walk read that far."""
    rows = db.session.execute(
        text(
            f"SELECT (histogram_bounds::text::text[])[1:{SAMPLES}] FROM pg_stats"
            " WHERE tablename = 'partner' AND attname = 'search_text'"
            " AND schemaname = current_schema()"
        )
    ).scalar()
    return bool(rows) and sum(_search_matches(q, v) for v in rows) >= HITS


# How many rows (per row wanted, at least WALK_MIN) a common word's page may walk in list
# order before giving up for the trigram index and a sort.
WALK_ROWS = 20
WALK_MIN = 2000


def _walked_ids(user, flt: PartnerFilter, limit: int, offset: int) -> list[int] | None:
    """A common word's page, read by walking the list's index in order and testing each row;
    None when the walk found too few matches within its budget.

    PostgreSQL takes a search's matches from the trigram index and sorts them all: for a word
    in a quarter of all partners that is ~250,000 rows at 1,000,000 partners (~400 ms), for a
    page of 25. Walking the name index finds them in order instead, and stops when the page
    is full (a word in every other partner: ~50 rows). The walk is capped, because matches
    may cluster far from the start ("ооо" is in every "ООО ..." name, which sorts after the
    Latin ones): past the cap the sort is the cheaper way. The walked rows are the first ones
    of the list, so the matches among them are its first matches: the page is exact."""
    names, desc = INDEX_KEYS[flt.sort]
    budget = max(WALK_MIN, WALK_ROWS * (offset + limit))
    columns = [Partner.id, Partner.search_text] + [getattr(Partner, n) for n in names if n != "id"]
    walk = (
        partner_list_stmt(user, flt, search=False)
        .with_only_columns(*columns)
        .order_by(*INDEXED_ORDER[flt.sort])
        .limit(budget)
        .subquery()
    )
    ids = list(
        db.session.execute(
            select(walk.c.id)
            .where(_search_clause(flt.q, walk.c.search_text))
            .order_by(*_ordered([walk.c[n] for n in names], desc))
            .limit(limit)
            .offset(offset)
        ).scalars()
    )
    return ids if len(ids) == limit else None


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
