"""The import/export kinds of this domain: partners.csv (key code) and contacts.csv (key
partner_code, name), written through partners.services so that the normalised search columns,
main contact details and audit entries stay right. Registered in crm/partners/__init__.py.

Row errors are in the language of whoever imports (the engine runs the check in it); the
column names and the values they take (company, client…) are the exchange contract and stay
as they are."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.auth.models import User
from crm.core.db import analyze_as_it_grows
from crm.core.errors import FieldErrors
from crm.core.keys import KeyTaken
from crm.core.text import fold, normalise_phone
from crm.exchange import values
from crm.exchange.exporter import cell
from crm.exchange.kind import (
    INVALID,
    Col,
    Kind,
    Lookup,
    RowError,
    check_email,
    chunks,
    email_problem,
    unknown,
)
from crm.exchange.lookups import USERS
from crm.extensions import db
from crm.partners.models import (
    PARTNER_KINDS,
    PARTNER_ROLES,
    ContactDetail,
    ContactPerson,
    Partner,
)
from crm.partners.services import (
    import_contact_person,
    import_new_contact_persons,
    import_new_partners,
    import_partner,
    main_value,
    resync_partners_search,
)
from crm.partners.validation import clean_inn, clean_phone


def partner_ids(codes: set[str] | None) -> dict[str, int]:
    """Partner ids by code (all, or these codes); a merged partner's code still names the
    partner it went into."""
    stmt = select(Partner.code, Partner.id, Partner.merged_into_id)
    if codes is not None:
        stmt = stmt.where(Partner.code.in_(codes))
    return {code: (into or pid) for code, pid, into in db.session.execute(stmt).all()}


# The partner a row's partner_code names (contacts, sales, payments: any kind of a partner's data).
PARTNER_CODES = Lookup("partners", partner_ids, field="partner_code")


def unknown_partner(row_no: int, rec: dict, ctx) -> list[RowError]:
    return unknown(row_no, rec, ctx, "partner_code", "partners", "partner")


def _roles(value) -> tuple[str, ...]:
    roles = tuple(r.strip().lower() for r in values.text(value).split(";") if r.strip())
    bad = [r for r in roles if r not in PARTNER_ROLES]
    if bad:
        raise values.BadValue(
            _(
                "unknown role(s) %(roles)s; use %(allowed)s",
                roles=", ".join(bad),
                allowed=", ".join(PARTNER_ROLES),
            )
        )
    return tuple(r for r in PARTNER_ROLES if r in roles)


def _check_phone(row_no: int, column: str, phone: str | None) -> list[RowError]:
    if not phone:
        return []
    problems, _norm = _phone_facts(phone, current_app.config["DEFAULT_PHONE_REGION"], _language())
    return [RowError(row_no, column, INVALID, m) for m in problems]


# Room for every phone and e-mail of a 100,000-row file (~20 MB at most per cache).
ROW_CACHE = 1 << 17


def _language() -> str:
    """The language row errors are written in (part of the caches' keys: one import's
    messages must not be served to the next importer in another language)."""
    locale = get_locale()
    return str(locale.language) if locale else ""


@lru_cache(maxsize=ROW_CACHE)
def _phone_facts(phone: str, region: str, language: str = "") -> tuple[tuple[str, ...], str]:
    """clean_phone's messages for a phone and its normalised form (what its contact detail
    stores). Cached: an import checks each row twice (validation, then the write pass) and
    phonenumbers parsing is most of a row's check; the cache makes the second check and the
    write's normalising free. `language` keys the messages (made in the current one)."""
    errors = FieldErrors()
    clean_phone(errors, "phone", phone, region)
    return tuple(errors.fields.get("phone", [])), normalise_phone(phone, region)


@lru_cache(maxsize=ROW_CACHE)
def _email_problem(value: str) -> bool:
    """kind.check_email's verdict, cached for a whole file (kind's own cache holds a few
    thousand, enough for managers, not for 100,000 partners' addresses): the write pass's
    second check of each address costs nothing. True when the address is not one: the
    verdict, not the message, which is made in the importer's language."""
    return email_problem(value) is not None


def _check_email(row_no: int, column: str, value: str | None) -> list[RowError]:
    if not value or not _email_problem(value):
        return []
    problem = _("%(value)s is not a valid e-mail address.", value=repr(value.strip()[:80]))
    return [RowError(row_no, column, INVALID, problem)]


def _analyze_as_it_grows(table, added: int, ctx) -> None:
    """core.db.analyze_as_it_grows for a table this import fills (its look-ups of the next
    batches read it), with the bookkeeping kept in the import's context."""
    state = ctx.seen.setdefault(("analyze", table.name), {})
    analyze_as_it_grows(db.session.connection(), table, added, state)


def _export_main(owner, kind: str) -> str:
    return main_value(owner, kind) or ""


# The column other kinds name a partner by (contacts here; sales and payments in crm/sales).
PARTNER_CODE = Col(
    "partner_code",
    True,
    max_len=64,
    description=_l("The code of a partner that exists in the CRM."),
    example="P-0001",
)


class PartnersKind(Kind):
    name = "partners"
    title = _l("Partners")
    order = 10
    columns = (
        Col(
            "code",
            True,
            max_len=64,
            description=_l(
                "The partner's code in your accounting system: unique, up to 64 characters."
            ),
            example="P-0001",
        ),
        Col(
            "name",
            True,
            max_len=255,
            description=_l("The partner's name as the CRM shows it."),
            example="ООО «Ромашка»",
        ),
        Col(
            "kind",
            default="company",
            description=_l("company (the default) or person."),
            example="company",
        ),
        Col(
            "roles",
            parse=_roles,
            default=("client",),
            description=_l(
                "Roles separated by ';': client, supplier, competitor, other (default: client)."
            ),
            example="client;supplier",
        ),
        Col(
            "inn",
            max_len=20,
            default="",
            description=_l("Tax id (INN): 10 digits for a company, 12 for a person."),
            example="7707083893",
        ),
        Col("email", max_len=254, description=_l("The main e-mail."), example="info@romashka.ru"),
        Col(
            "phone",
            max_len=40,
            description=_l("The main phone; stored in the international form when it can be read."),
            example="8 495 123-45-67",
        ),
        Col("city", max_len=120, default="", description=_l("City."), example="Москва"),
        Col(
            "manager",
            max_len=254,
            description=_l(
                "E-mail of the responsible user; an unknown one is created as an inactive user."
            ),
        ),
        Col(
            "created_on",
            parse=values.day,
            description=_l(
                "The date the partner appeared, YYYY-MM-DD or DD.MM.YYYY (default: the import date)."
            ),
            example="2026-01-15",
        ),
    )
    key = ("code",)
    lookups = (USERS,)

    def check(self, row_no, rec, ctx):
        errors = []
        if rec.get("kind") and rec["kind"] not in PARTNER_KINDS:
            errors.append(
                RowError(
                    row_no,
                    "kind",
                    INVALID,
                    _("must be company or person"),
                )
            )
        if rec.get("inn"):
            e = FieldErrors()
            rec["inn"] = clean_inn(e, rec["inn"])
            errors += [RowError(row_no, "inn", INVALID, m) for m in e.fields.get("inn", [])]
        errors += _check_email(row_no, "email", rec.get("email"))
        errors += check_email(row_no, "manager", rec.get("manager"))
        errors += _check_phone(row_no, "phone", rec.get("phone"))
        if rec.get("phone"):
            rec["phone_norm"] = _phone_facts(
                rec["phone"], current_app.config["DEFAULT_PHONE_REGION"], _language()
            )[1]
        return errors

    def comparable(self, rec, ctx):
        return (
            rec["name"],
            rec["kind"] or "company",
            rec["roles"] or ("client",),
            rec["inn"] or "",
            rec["email"],
            rec["phone"],
            rec["city"] or "",
            (rec["manager"] or "").casefold() or None,
            rec["created_on"],
        )

    def same(self, rec, stored, ctx):
        mine = self.comparable(rec, ctx)
        if rec["created_on"] is None:  # no date in the file: the stored one stays
            mine = (*mine[:-1], stored[-1])
        return mine == stored

    def _load(self, codes):
        return {
            p.code: p
            for batch in chunks(codes)
            for p in db.session.execute(
                select(Partner)
                .where(Partner.code.in_(batch))
                .options(
                    selectinload(Partner.contact_details), selectinload(Partner.contact_persons)
                )
            ).scalars()
        }

    def _stored(self, codes: list[str]) -> dict[str, tuple]:
        """The compared fields of the partners with these codes, by code, read with two plain
        SELECTs a batch (columns and main e-mail/phone) instead of ORM partners with their
        contact details: what it buys is a re-import that does not build 100,000 objects."""
        emails = dict(db.session.execute(select(User.id, User.email)).all())
        t, d = Partner.__table__, ContactDetail.__table__
        out = {}
        for batch in chunks(codes):
            rows = db.session.execute(
                select(
                    t.c.id,
                    t.c.code,
                    t.c.name,
                    t.c.kind,
                    t.c.inn,
                    t.c.city,
                    t.c.responsible_id,
                    t.c.created_on,
                    *(t.c[f"is_{r}"] for r in PARTNER_ROLES),
                ).where(t.c.code.in_(batch))
            ).all()
            main: dict[tuple[int, str], str] = {}
            ids = [r.id for r in rows]
            # No condition on kind: with one, SQLite (after ANALYZE) picks the (kind, value)
            # index and reads every e-mail of the database for each batch.
            for pid, kind, value in db.session.execute(
                select(d.c.partner_id, d.c.kind, d.c.value)
                .where(d.c.partner_id.in_(ids))
                .order_by(d.c.partner_id, d.c.kind, d.c.is_main.desc(), d.c.id)
            ):
                main.setdefault((pid, kind), value)  # main_value: the main one, else the first
            for r in rows:
                out[r.code] = (
                    r.name,
                    r.kind,
                    tuple(role for role in PARTNER_ROLES if r._mapping[f"is_{role}"]),
                    r.inn,
                    main.get((r.id, "email")),
                    main.get((r.id, "phone")),
                    r.city,
                    emails.get(r.responsible_id),
                    r.created_on,
                )
        return out

    def existing(self, recs, ctx):
        return {(code,): v for code, v in self._stored([r["code"] for r in recs]).items()}

    def write(self, recs, ctx, actor):
        stored = self._stored([r["code"] for r in recs])
        by_code = {r["code"]: r for r in recs}
        taken = [r["code"] for r in recs if r["code"] in stored]
        if ctx.create_only and taken:
            raise KeyTaken(f"code {taken[0]!r}")
        # An unchanged row would change and record nothing: skipping it (no ORM partner, no
        # flush) makes a re-import of an unchanged file read-only.
        changed = [c for c in taken if not self.same(by_code[c], stored[c], ctx)]
        found = self._load(changed)
        new = []
        for r in recs:
            row = {**r, "responsible_id": ctx.id_for("users", (r["manager"] or "").casefold())}
            if r["code"] not in stored:
                new.append(row)
            elif r["code"] in found:
                import_partner(actor, found[r["code"]], row, today=ctx.today)
        import_new_partners(actor, new, today=ctx.today)
        _analyze_as_it_grows(Partner.__table__, len(new), ctx)

    def export(self):
        emails = dict(db.session.execute(select(User.id, User.email)).all())
        last = ""
        while True:
            page = list(
                db.session.execute(
                    select(Partner)
                    .where(Partner.code > last, Partner.merged_into_id.is_(None))
                    .order_by(Partner.code)
                    .limit(1000)
                    .options(selectinload(Partner.contact_details))
                ).scalars()
            )
            for p in page:
                yield (
                    p.code,
                    p.name,
                    p.kind,
                    ";".join(p.roles),
                    p.inn,
                    _export_main(p, "email"),
                    _export_main(p, "phone"),
                    p.city,
                    emails.get(p.responsible_id, ""),
                    cell(p.created_on),
                )
            if len(page) < 1000:
                return
            last = page[-1].code
            db.session.expunge_all()


class ContactsKind(Kind):
    """Contact persons by (partner_code, name); the name is matched as the database's unique
    key holds it (folded: "Семён Иванов" and "семен  иванов" are one person), and the file's
    spelling is stored."""

    name = "contacts"
    title = _l("Contact persons")
    order = 20
    columns = (
        PARTNER_CODE,
        Col(
            "name",
            True,
            max_len=255,
            description=_l("The contact person's full name."),
            example="Иванов Иван Иванович",
        ),
        Col("position", max_len=200, default="", description=_l("Position."), example="Директор"),
        Col("email", max_len=254, description=_l("E-mail."), example="ivanov@romashka.ru"),
        Col("phone", max_len=40, description=_l("Phone."), example="8 916 123-45-67"),
    )
    key = ("partner_code", "name")
    lookups = (PARTNER_CODES,)

    def check(self, row_no, rec, ctx):
        errors = unknown_partner(row_no, rec, ctx)
        errors += _check_email(row_no, "email", rec.get("email"))
        errors += _check_phone(row_no, "phone", rec.get("phone"))
        if rec.get("phone"):
            rec["phone_norm"] = _phone_facts(
                rec["phone"], current_app.config["DEFAULT_PHONE_REGION"]
            )[1]
        return errors

    def key_of(self, rec):
        return (rec["partner_code"], fold(rec["name"]))

    def comparable(self, rec, ctx):
        return (rec["name"], rec["position"] or "", rec["email"], rec["phone"])

    def _persons(self, keys: set[tuple[int, str]]) -> dict[tuple[int, str], ContactPerson]:
        """The stored persons with these (partner id, folded name) keys, as ORM objects with
        their details (for the rows that change a person)."""
        ids = sorted({pid for pid, _norm in keys})
        return {
            (c.partner_id, c.name_norm): c
            for batch in chunks(ids)
            for c in db.session.execute(
                select(ContactPerson)
                .where(ContactPerson.partner_id.in_(batch))
                .options(selectinload(ContactPerson.contact_details))
            ).scalars()
            if (c.partner_id, c.name_norm) in keys
        }

    def _stored(self, recs, ctx) -> dict[tuple[int, str], tuple]:
        """The compared fields (name, position, main e-mail, main phone) of the stored persons
        of these rows' partners, by (partner id, folded name), read with two plain SELECTs a
        batch instead of ORM persons with their details: a re-import builds no objects."""
        c, d = ContactPerson.__table__, ContactDetail.__table__
        ids = sorted({ctx["partners"][r["partner_code"]] for r in recs})
        out = {}
        for batch in chunks(ids):
            persons = db.session.execute(
                select(c.c.id, c.c.partner_id, c.c.name_norm, c.c.name, c.c.position).where(
                    c.c.partner_id.in_(batch)
                )
            ).all()
            main: dict[tuple[int, str], str] = {}
            for person_ids in chunks([p.id for p in persons]):
                for person_id, kind, value in db.session.execute(
                    select(d.c.contact_person_id, d.c.kind, d.c.value)
                    .where(d.c.contact_person_id.in_(person_ids))
                    .order_by(d.c.contact_person_id, d.c.kind, d.c.is_main.desc(), d.c.id)
                ):
                    main.setdefault((person_id, kind), value)  # main_value's choice
            for p in persons:
                out[(p.partner_id, p.name_norm)] = (
                    p.name,
                    p.position,
                    main.get((p.id, "email")),
                    main.get((p.id, "phone")),
                )
        return out

    def existing(self, recs, ctx):
        code_of = {ctx["partners"][r["partner_code"]]: r["partner_code"] for r in recs}
        return {
            (code_of[pid], norm): values
            for (pid, norm), values in self._stored(recs, ctx).items()
            if pid in code_of
        }

    def write(self, recs, ctx, actor):
        """New persons in bulk (import_new_contact_persons); changed ones through the ORM
        (import_contact_person), as are persons named twice in the batch (two codes of a
        merged partner), so that the later row updates the earlier one as it always did;
        unchanged ones not at all. Then the touched partners' search columns."""
        stored = self._stored(recs, ctx)
        keyed = [(r, (ctx["partners"][r["partner_code"]], fold(r["name"]))) for r in recs]
        times = Counter(key for _r, key in keyed)
        if ctx.create_only:
            seen = set()
            for r, key in keyed:
                if key in stored or key in seen:
                    raise KeyTaken(f"partner_code {r['partner_code']!r}, name {r['name']!r}")
                seen.add(key)
        new, one_by_one = [], []
        for r, key in keyed:
            if times[key] > 1 or (key in stored and not self.same(r, stored[key], ctx)):
                one_by_one.append((r, key))
            elif key not in stored:
                new.append({**r, "partner_id": key[0]})
        import_new_contact_persons(new)
        _analyze_as_it_grows(ContactPerson.__table__, len(new), ctx)
        if one_by_one:
            persons = self._persons({key for _r, key in one_by_one})
            for r, key in one_by_one:
                persons[key] = import_contact_person(key[0], persons.get(key), r)
            db.session.flush()
        resync_partners_search([r["partner_id"] for r in new] + [k[0] for _r, k in one_by_one])

    def export(self):
        last = 0
        while True:
            page = list(
                db.session.execute(
                    select(ContactPerson, Partner.code)
                    .join(Partner, Partner.id == ContactPerson.partner_id)
                    .where(Partner.merged_into_id.is_(None))
                    .where(ContactPerson.id > last)
                    .order_by(ContactPerson.id)
                    .limit(1000)
                    .options(selectinload(ContactPerson.contact_details))
                ).all()
            )
            for person, code in page:
                yield (
                    code,
                    person.name,
                    person.position,
                    _export_main(person, "email"),
                    _export_main(person, "phone"),
                )
            if len(page) < 1000:
                return
            last = page[-1][0].id
            db.session.expunge_all()


PARTNERS, CONTACTS = PartnersKind(), ContactsKind()
