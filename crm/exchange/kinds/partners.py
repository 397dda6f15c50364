"""partners.csv (key code) and contacts.csv (key partner_code, name): written through the ORM
so the normalised search columns, main contact details and audit entries stay right."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.auth.models import User
from crm.core import audit, versioning
from crm.core.errors import FieldErrors
from crm.core.keys import KeyTaken
from crm.core.text import fold
from crm.exchange import values
from crm.exchange.kinds.base import Col, Kind, RowError, check_email, chunks, user_id
from crm.extensions import db
from crm.partners.models import PARTNER_KINDS, PARTNER_ROLES, ContactPerson, Partner
from crm.partners.services import new_contact_detail, sync_search
from crm.partners.validation import clean_inn, clean_phone


def _roles(value) -> tuple[str, ...]:
    roles = tuple(r.strip().lower() for r in values.text(value).split(";") if r.strip())
    bad = [r for r in roles if r not in PARTNER_ROLES]
    if bad:
        raise values.BadValue(f"unknown role(s) {', '.join(bad)}; use {', '.join(PARTNER_ROLES)}")
    return tuple(r for r in PARTNER_ROLES if r in roles)


def _check_phone(row_no: int, column: str, phone: str | None) -> list[RowError]:
    if not phone:
        return []
    errors = FieldErrors()
    clean_phone(errors, column, phone, current_app.config["DEFAULT_PHONE_REGION"])
    return [RowError(row_no, column, m) for m in errors.fields.get(column, [])]


def _main(owner, kind: str) -> str | None:
    found = [d for d in owner.contact_details if d.kind == kind]
    main = next((d for d in found if d.is_main), found[0] if found else None)
    return main.value if main else None


def _set_main(owner, kind: str, value: str | None) -> None:
    """The file's e-mail/phone becomes the main one of its kind (the old main stays, not main)."""
    if not value:
        return
    same = [d for d in owner.contact_details if d.kind == kind]
    match = next((d for d in same if d.value == value), None)
    for d in same:
        d.is_main = d is match
    if match is None:
        owner.contact_details.append(new_contact_detail(kind, value, is_main=True))


def _audit_view(p: Partner) -> dict:
    """The imported fields as the History tab shows them."""
    return {"name": p.name, "kind": p.kind, "roles": ", ".join(p.roles), "inn": p.inn,
            "city": p.city, "email": _main(p, "email"), "phone": _main(p, "phone"),
            "responsible_id": p.responsible_id, "created_on": p.created_on}  # fmt: skip


class PartnersKind(Kind):
    name = "partners"
    columns = (
        Col("code", True, max_len=64),
        Col("name", True, max_len=255),
        Col("kind", default="company"),
        Col("roles", parse=_roles, default=("client",)),
        Col("inn", max_len=20, default=""),
        Col("email", max_len=254),
        Col("phone", max_len=40),
        Col("city", max_len=120, default=""),
        Col("manager", max_len=254),
        Col("created_on", parse=values.day),
    )
    key = ("code",)
    lookups = ("users",)

    def check(self, row_no, rec, ctx):
        errors = []
        if rec.get("kind") and rec["kind"] not in PARTNER_KINDS:
            errors.append(RowError(row_no, "kind", "must be company or person"))
        if rec.get("inn"):
            e = FieldErrors()
            rec["inn"] = clean_inn(e, rec["inn"])
            errors += [RowError(row_no, "inn", m) for m in e.fields.get("inn", [])]
        errors += check_email(row_no, "email", rec.get("email"))
        errors += check_email(row_no, "manager", rec.get("manager"))
        errors += _check_phone(row_no, "phone", rec.get("phone"))
        return errors

    def comparable(self, rec, ctx):
        return (rec["name"], rec["kind"] or "company", rec["roles"] or ("client",), rec["inn"] or "",
                rec["email"], rec["phone"], rec["city"] or "",
                (rec["manager"] or "").casefold() or None, rec["created_on"])  # fmt: skip

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
                select(Partner).where(Partner.code.in_(batch))
                .options(selectinload(Partner.contact_details), selectinload(Partner.contact_persons))
            ).scalars()
        }  # fmt: skip

    def existing(self, recs, ctx):
        emails = dict(db.session.execute(select(User.id, User.email)).all())
        return {
            (code,): (
                p.name,
                p.kind,
                tuple(p.roles),
                p.inn,
                _main(p, "email"),
                _main(p, "phone"),
                p.city,
                emails.get(p.responsible_id),
                p.created_on,
            )  # fmt: skip
            for code, p in self._load([r["code"] for r in recs]).items()
        }

    def write(self, recs, ctx, actor):
        found = self._load([r["code"] for r in recs])
        for r in recs:
            p = found.get(r["code"])
            created = p is None
            if not created and ctx.create_only:
                raise KeyTaken(f"code {r['code']!r}")
            before = {} if created else _audit_view(p)
            if created:
                p = Partner(code=r["code"], created_on=r["created_on"] or ctx.today)
                p.contact_details, p.contact_persons = [], []
                db.session.add(p)
            p.name, p.kind, p.inn, p.city = (
                r["name"],
                r["kind"] or "company",
                r["inn"] or "",
                r["city"] or "",
            )
            for role in PARTNER_ROLES:
                setattr(p, f"is_{role}", role in (r["roles"] or ("client",)))
            if r["manager"]:
                p.responsible_id = user_id(ctx, r["manager"])
            if r["created_on"]:
                p.created_on = r["created_on"]
            _set_main(p, "email", r["email"])
            _set_main(p, "phone", r["phone"])
            sync_search(p)
            db.session.flush()
            audit.record(actor, "create" if created else "update", p,
                         changes=audit.diff(before, _audit_view(p)),
                         summary=f"{'created' if created else 'updated'} by import")  # fmt: skip


class ContactsKind(Kind):
    """Contact persons by (partner_code, name); the name is matched as the database's unique
    key holds it (folded: "Семён Иванов" and "семен  иванов" are one person), and the file's
    spelling is stored."""

    name = "contacts"
    columns = (
        Col("partner_code", True, max_len=64),
        Col("name", True, max_len=255),
        Col("position", max_len=200, default=""),
        Col("email", max_len=254),
        Col("phone", max_len=40),
    )
    key = ("partner_code", "name")
    lookups = ("partners",)

    def check(self, row_no, rec, ctx):
        errors = []
        if rec.get("partner_code") and rec["partner_code"] not in ctx.partners:
            errors.append(
                RowError(row_no, "partner_code", f"unknown partner {rec['partner_code']!r}")
            )
        errors += check_email(row_no, "email", rec.get("email"))
        errors += _check_phone(row_no, "phone", rec.get("phone"))
        return errors

    def key_of(self, rec):
        return (rec["partner_code"], fold(rec["name"]))

    def comparable(self, rec, ctx):
        return (rec["name"], rec["position"] or "", rec["email"], rec["phone"])

    def _persons(self, recs, ctx) -> dict[tuple[int, str], ContactPerson]:
        ids = sorted({ctx.partners[r["partner_code"]] for r in recs})
        return {
            (c.partner_id, c.name_norm): c
            for batch in chunks(ids)
            for c in db.session.execute(
                select(ContactPerson).where(ContactPerson.partner_id.in_(batch))
                .options(selectinload(ContactPerson.contact_details))
            ).scalars()
        }  # fmt: skip

    def existing(self, recs, ctx):
        code_of = {ctx.partners[r["partner_code"]]: r["partner_code"] for r in recs}
        return {
            (code_of[pid], norm): (c.name, c.position, _main(c, "email"), _main(c, "phone"))
            for (pid, norm), c in self._persons(recs, ctx).items()
        }

    def write(self, recs, ctx, actor):
        persons = self._persons(recs, ctx)
        touched = set()
        for r in recs:
            pid = ctx.partners[r["partner_code"]]
            norm = fold(r["name"])
            person = persons.get((pid, norm))
            if person is not None and ctx.create_only:
                raise KeyTaken(f"partner_code {r['partner_code']!r}, name {r['name']!r}")
            if person is None:
                person = ContactPerson(partner_id=pid, contact_details=[])
                persons[(pid, norm)] = person
                db.session.add(person)
            before = (person.name, person.position, _main(person, "email"), _main(person, "phone"))
            person.name, person.name_norm = r["name"], norm
            person.position = r["position"] or ""
            _set_main(person, "email", r["email"])
            _set_main(person, "phone", r["phone"])
            after = (person.name, person.position, _main(person, "email"), _main(person, "phone"))
            if person.id is not None and before != after:
                versioning.bump(person)  # a person's form opened before must not undo this
            touched.add(pid)
        db.session.flush()
        for batch in chunks(sorted(touched)):
            for p in db.session.execute(
                select(Partner).where(Partner.id.in_(batch)).options(
                    selectinload(Partner.contact_details),
                    selectinload(Partner.contact_persons).selectinload(ContactPerson.contact_details))
            ).scalars():  # fmt: skip
                sync_search(p)
