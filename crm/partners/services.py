"""Writes of partners, contact persons, contact details and tags: validation, duplicate
checks, merge, and the audit trail of every change."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, insert, or_, select, update

from crm.auth.models import User
from crm.core import audit, versioning
from crm.core.db import insert_rows
from crm.core.errors import DomainError, FieldErrors, PermissionDenied
from crm.core.keys import flush_or_refuse, id_for_key
from crm.core.links import count_references, repoint_references
from crm.core.models import AuditEntry
from crm.core.params import id_or_none
from crm.core.policy import may, require
from crm.core.registry import RegistryKey
from crm.core.text import digits, fold, name_key, normalise_email, normalise_phone
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.partners import queries
from crm.partners.labels import (
    CHANNEL_TITLES,
    CONTACT_KIND_TITLES,
    KIND_TITLES,
    PERSON_NAME,
    field_title,
)
from crm.partners.models import (
    CHANNELS,
    CONTACT_KINDS,
    PARTNER_KINDS,
    PARTNER_ROLES,
    ContactDetail,
    ContactPerson,
    Partner,
    Tag,
    partner_tag,
)
from crm.partners.validation import (
    clean_choice,
    clean_contact_value,
    clean_date,
    clean_email,
    clean_inn,
    clean_phone,
    clean_roles,
    clean_tags,
    clean_text,
)

FLAGS = ("do_not_email", "do_not_call", "do_not_sms", "do_not_mail")
# Fields a user edits in place on the partner card.
INLINE_FIELDS = ("name", "code", "inn", "city", "notes", "best_time_to_call")
# Links handled by merge itself rather than by the generic re-pointing of foreign keys.
OWN_LINKS = {
    "partner.merged_into_id",
    "contact_detail.partner_id",
    "contact_person.partner_id",
    "partner_tag.partner_id",
}


class DuplicatesFound(DomainError):
    def __init__(self, matches):
        super().__init__(_("This partner looks like one that exists already."))
        self.matches = matches


def _region() -> str:
    return current_app.config["DEFAULT_PHONE_REGION"]


def ensure_can_edit(actor, partner: Partner) -> None:
    require(actor, "partner.edit", partner, _("You may not change this partner."))


# --- partner fields -----------------------------------------------------------------------


def _snapshot(p: Partner) -> dict:
    return {
        "code": p.code,
        "name": p.name,
        "kind": p.kind,
        "roles": p.roles,
        "inn": p.inn,
        "city": p.city,
        "responsible_id": p.responsible_id,
        "notes": p.notes,
        "preferred_channel": p.preferred_channel,
        "best_time_to_call": p.best_time_to_call,
        **{f: getattr(p, f) for f in FLAGS},
        "created_on": p.created_on,
        "tags": [t.name for t in p.tags],
    }


def _for_audit(snapshot: dict) -> dict:
    """The snapshot as the History tab shows it: the responsible manager by name, not id."""
    shown = dict(snapshot)
    uid = shown.pop("responsible_id", None)
    user = db.session.get(User, uid) if uid else None
    shown["responsible"] = user.display_name if user else None
    return shown


def _audit_diff(before: dict, after: dict) -> dict:
    return audit.diff(_for_audit(before), _for_audit(after))


def clean_partner(actor, data: dict, *, partner: Partner | None = None) -> dict:
    """Validated partner fields from `data` (missing keys keep the partner's current value)."""
    errors = FieldErrors()
    current = _snapshot(partner) if partner else {}

    def get(key, default=""):
        return data[key] if key in data else current.get(key, default)

    out = {
        "name": clean_text(errors, "name", get("name"), required=True),
        "code": clean_text(errors, "code", get("code")),
        "kind": clean_choice(
            errors,
            "kind",
            get("kind", "company") or "company",
            PARTNER_KINDS,
            titles=KIND_TITLES,
        ),
        "roles": clean_roles(errors, get("roles", ["client"])),
        "inn": clean_inn(errors, get("inn")),
        "city": clean_text(errors, "city", get("city")),
        "notes": clean_text(errors, "notes", get("notes"), multiline=True),
        "preferred_channel": clean_choice(
            errors,
            "preferred_channel",
            get("preferred_channel"),
            CHANNELS,
            allow_empty=True,
            titles=CHANNEL_TITLES,
        ),
        "best_time_to_call": clean_text(errors, "best_time_to_call", get("best_time_to_call")),
        "tags": clean_tags(errors, get("tags", [])),
        **{f: bool(get(f, False)) for f in FLAGS},
    }
    created_on = clean_date(
        errors, "created_on", get("created_on", None), label=field_title("created_on")
    )
    out["created_on"] = created_on or current.get("created_on")
    # Only admins hand partners to someone else; a manager's new partner is his own.
    responsible_id = get("responsible_id", None)
    if not may(actor, "records.assign"):
        responsible_id = partner.responsible_id if partner else actor.id
    if responsible_id in ("", None):
        out["responsible_id"] = None
    else:
        user_id = id_or_none(responsible_id)
        user = db.session.get(User, user_id) if user_id else None
        if user is None or not user.active or not may(user, "records.own"):
            errors.add("responsible_id", _("Choose an active manager or admin."))
        out["responsible_id"] = user.id if user else None
    if partner is not None and "code" in data and not out["code"]:
        errors.add(
            "code", _("A partner needs a code; it links the partner to the accounting data.")
        )
    if out["code"]:
        clash = db.session.execute(
            select(Partner.id).where(Partner.code == out["code"])
        ).scalar_one_or_none()
        if clash and (partner is None or clash != partner.id):
            errors.add("code", _code_taken(out["code"]))
    if "email" in data:
        out["email"] = clean_email(errors, "email", data.get("email"))
    if "phone" in data:
        out["phone"] = clean_phone(errors, "phone", data.get("phone"), _region())
    errors.raise_if_any()
    return out


def _apply(partner: Partner, values: dict) -> None:
    for key in (
        "name",
        "kind",
        "inn",
        "city",
        "notes",
        "preferred_channel",
        "best_time_to_call",
        "responsible_id",
        *FLAGS,
    ):
        setattr(partner, key, values[key])
    if values.get("code"):
        partner.code = values["code"]
    if values.get("created_on"):
        partner.created_on = values["created_on"]
    for role in PARTNER_ROLES:
        setattr(partner, f"is_{role}", role in values["roles"])
    partner.tags = tags_by_name(values["tags"])


def tags_by_name(names: list[str]) -> list[Tag]:
    """Tags with these names, creating the missing ones (once, when two saves create the same
    new tag at the same moment)."""
    ids = {id_for_key(Tag, {"name_norm": fold(n)}, name=n): None for n in names}
    return [db.session.get(Tag, tag_id) for tag_id in ids]


def sync_search(partner: Partner) -> None:
    """Recompute the normalised columns that search, sorting and duplicate checks read."""
    details = [(d.kind, d.value, d.value_norm) for d in partner.contact_details]
    names = []
    for person in partner.contact_persons:
        names.append(person.name_norm)
        details.extend((d.kind, d.value, d.value_norm) for d in person.contact_details)
    for key, value in search_columns(
        partner.name, partner.code, partner.inn, partner.city, names, details
    ).items():
        setattr(partner, key, value)


def search_columns(
    name: str, code: str, inn: str, city: str, person_norms: list[str], details: list[tuple]
) -> dict[str, str]:
    """The normalised columns of a partner from plain values (details: (kind, value,
    value_norm) of the partner's and its persons' contact details); sync_search and the bulk
    import share it."""
    name_norm = fold(name)
    key = name_key(name)
    parts = [name_norm, fold(code), inn, *person_norms]
    for kind, value, value_norm in details:
        if kind == "email":
            parts.append(value_norm)
        elif kind == "phone":
            parts.extend({digits(value_norm), digits(value)})
    return {
        "name_norm": name_norm,
        "name_key": key,
        "name_prefix": key[: queries.NAME_PREFIX],
        "city_norm": fold(city),
        "search_text": " | ".join(p for p in parts if p),
    }


def _check_duplicates(values: dict, exclude_id: int | None, confirmed: bool) -> None:
    if confirmed:
        return
    matches = queries.find_duplicates(
        name=values["name"],
        emails=[values.get("email", "")],
        phones=[values.get("phone", "")],
        inn=values["inn"],
        exclude_id=exclude_id,
    )
    if matches:
        raise DuplicatesFound(matches)


def create_partner(actor, data: dict, *, confirm_duplicates: bool = False) -> Partner:
    """A new partner (with its main e-mail and phone if given); warns about duplicates first."""
    if not may(actor, "partner.create"):
        raise PermissionDenied(_("You may not create partners."))
    values = clean_partner(actor, data)
    _check_duplicates(values, None, confirm_duplicates)
    partner = Partner(code=values["code"] or _temporary_code())
    _apply(partner, values)
    db.session.add(partner)
    for kind in ("email", "phone"):
        if values.get(kind):
            partner.contact_details.append(new_contact_detail(kind, values[kind], is_main=True))
    _flush_code(values["code"])
    if not values["code"]:
        partner.code = _code_for(partner.id)
    sync_search(partner)
    _flush_code(partner.code)
    audit.record(
        actor,
        "create",
        partner,
        changes=_audit_diff({}, _snapshot(partner)),
        summary=f"created partner {partner.name}",
    )
    return partner


def _code_taken(code: str) -> str:
    return _("Code %(code)s belongs to another partner.", code=repr(code))


def _flush_code(code: str) -> None:
    """Flush; the code taken by a partner saved at the same moment is a field error."""
    flush_or_refuse("code", _code_taken(code))


def _temporary_code() -> str:
    import uuid

    return "tmp-" + uuid.uuid4().hex


def _code_for(partner_id: int) -> str:
    code = f"P{partner_id:06d}"
    taken = db.session.execute(select(Partner.id).where(Partner.code == code)).scalar_one_or_none()
    return code if taken is None else f"{code}-{partner_id}"


def update_partner(
    actor, partner: Partner, data: dict, *, confirm_duplicates=False, version: int | None = None
) -> Partner:
    """Change a partner's fields; warns when the change makes it look like another partner.
    `version`: the one the form was opened at — a later change refuses the save (StaleRecord)."""
    ensure_can_edit(actor, partner)
    with versioning.saving(partner, version):
        before = _snapshot(partner)
        values = clean_partner(actor, data, partner=partner)
        identity_changed = (values["name"], values["inn"]) != (before["name"], before["inn"])
        if identity_changed:
            _check_duplicates(values, partner.id, confirm_duplicates)
        _apply(partner, values)
        sync_search(partner)
        _flush_code(partner.code)
        audit.record(actor, "update", partner, changes=_audit_diff(before, _snapshot(partner)))
    return partner


def update_field(actor, partner: Partner, field: str, value: str, version: int | None = None):
    """Inline edit of one field; the same rules as the full form (no duplicate prompt)."""
    if field not in INLINE_FIELDS:
        raise DomainError(_("%(field)s cannot be edited in place.", field=repr(field)))
    return update_partner(actor, partner, {field: value}, confirm_duplicates=True, version=version)


def delete_partner(actor, partner: Partner) -> None:
    """Delete a partner that nothing else refers to (merge it instead when something does).
    A merged partner is never deleted: it is the pointer through which its old code still
    names the partner it went into (imports, the API, old links)."""
    if not may(actor, "partner.delete", partner):
        raise PermissionDenied(_("Only an admin may delete partners."))
    if partner.merged_into_id is not None:
        survivor = db.session.get(Partner, partner.merged_into_id)
        raise DomainError(
            _(
                "%(name)s (%(code)s) was merged into %(survivor)s (%(survivor_code)s) and "
                "cannot be deleted: its code %(code)s keeps naming %(survivor)s in imports "
                "and the API.",
                name=partner.name,
                code=partner.code,
                survivor=survivor.name,
                survivor_code=survivor.code,
            )
        )
    linked = count_references(Partner.__table__, partner.id, skip=OWN_LINKS)
    merged = db.session.execute(
        select(Partner.id).where(Partner.merged_into_id == partner.id).limit(1)
    ).first()
    if merged:
        # Deleting the survivor would leave its pointers naming nothing.
        raise DomainError(
            _(
                "Other partners were merged into this one (merged partners) and their old "
                "codes name it in imports and the API: merge it into another partner instead "
                "of deleting it."
            )
        )
    if linked:
        from crm.partners.history import moved_text

        raise DomainError(
            _(
                "This partner has linked records (%(records)s); merge it into another partner "
                "instead of deleting it.",
                records=moved_text(linked),
            )
        )
    audit.record(
        actor,
        "delete",
        partner,
        changes=_audit_diff(_snapshot(partner), {}),
        summary=f"deleted partner {partner.name} ({partner.code})",
    )
    db.session.delete(partner)
    db.session.flush()


# --- contact details and contact persons --------------------------------------------------


def new_contact_detail(
    kind: str, value: str, *, label: str = "", is_main: bool = False
) -> ContactDetail:
    if kind == "email":
        norm = normalise_email(value)
    elif kind == "phone":
        norm = normalise_phone(value, _region())
    else:
        norm = fold(value)
    return ContactDetail(kind=kind, value=value, value_norm=norm, label=label, is_main=is_main)


def add_contact_detail(actor, partner: Partner, data: dict, person: ContactPerson | None = None):
    """Add an e-mail/phone/address/messenger/website to a partner or one of its persons."""
    ensure_can_edit(actor, partner)
    errors = FieldErrors()
    kind = clean_choice(errors, "kind", data.get("kind"), CONTACT_KINDS, titles=CONTACT_KIND_TITLES)
    value = clean_contact_value(errors, kind, data.get("value"), _region()) if kind else ""
    if kind in ("email", "phone") and not value:
        errors.add("value", _("%(field)s is required.", field=_("Value")))
    label = clean_text(errors, "label", data.get("label"))
    errors.raise_if_any()
    owner = person or partner
    detail = new_contact_detail(kind, value, label=label, is_main=bool(data.get("is_main")))
    same = [d for d in owner.contact_details if d.kind == kind]
    if any(d.value_norm == detail.value_norm for d in same):
        raise DomainError(
            _("This contact detail is there already."), {"value": [_("Already listed.")]}
        )
    if detail.is_main or not same:
        for d in same:
            d.is_main = False
        detail.is_main = True
    owner.contact_details.append(detail)
    db.session.flush()
    sync_search(partner)
    audit.record(
        actor,
        "create",
        detail,
        root=partner,
        changes={kind: [None, value]},
        summary=f"added {kind} {value}" + (f" to {person.name}" if person else ""),
    )
    return detail


def delete_contact_detail(actor, partner: Partner, detail: ContactDetail) -> None:
    ensure_can_edit(actor, partner)
    owner = detail.contact_person or detail.partner
    was_main = detail.is_main
    owner.contact_details.remove(detail)
    if was_main:
        rest = [d for d in owner.contact_details if d.kind == detail.kind]
        if rest:
            rest[0].is_main = True
    audit.record(
        actor,
        "delete",
        detail,
        root=partner,
        changes={detail.kind: [detail.value, None]},
        summary=f"removed {detail.kind} {detail.value}",
    )
    db.session.flush()
    sync_search(partner)


def set_main_detail(actor, partner: Partner, detail: ContactDetail) -> None:
    ensure_can_edit(actor, partner)
    owner = detail.contact_person or detail.partner
    for d in owner.contact_details:
        if d.kind == detail.kind:
            d.is_main = d.id == detail.id
    db.session.flush()
    audit.record(
        actor,
        "update",
        detail,
        root=partner,
        changes={"main": [None, detail.value]},
        summary=f"main {detail.kind} is now {detail.value}",
    )


def clean_person(data: dict) -> dict:
    errors = FieldErrors()
    out = {
        "name": clean_text(errors, "name", data.get("name"), required=True, label=PERSON_NAME),
        "position": clean_text(errors, "position", data.get("position")),
        "notes": clean_text(errors, "notes", data.get("notes"), multiline=True),
        "birthday": clean_date(
            errors, "birthday", data.get("birthday"), label=field_title("birthday")
        ),
    }
    if out["birthday"] and out["birthday"] > date.today():
        errors.add("birthday", _("A birthday cannot be in the future."))
    email = clean_email(errors, "email", data.get("email")) if data.get("email") else ""
    phone = clean_phone(errors, "phone", data.get("phone"), _region()) if data.get("phone") else ""
    errors.raise_if_any()
    out["email"], out["phone"] = email, phone
    return out


def save_contact_person(
    actor,
    partner: Partner,
    data: dict,
    person: ContactPerson | None = None,
    version: int | None = None,
):
    """Create or update a contact person; a new one may come with an e-mail and a phone.
    `version`: the one the form was opened at (an update from an older one is refused)."""
    ensure_can_edit(actor, partner)
    with versioning.saving(person, version) if person is not None else nullcontext():
        return _save_person(actor, partner, data, person)


def _save_person(actor, partner: Partner, data: dict, person: ContactPerson | None):
    values = clean_person(data)
    # One person of a name (folded) per partner: the key of contacts.csv and the API.
    name_norm = fold(values["name"])
    namesake = db.session.execute(
        select(ContactPerson.id).where(
            ContactPerson.partner_id == partner.id,
            ContactPerson.name_norm == name_norm,
            ContactPerson.id != (person.id if person is not None else -1),
        )
    ).first()
    taken = _(
        "%(partner)s has a contact person named %(name)s already.",
        partner=partner.name,
        name=values["name"],
    )
    if namesake:
        raise DomainError(taken, {"name": [taken]})
    before = {}
    if person is None:
        person = ContactPerson(partner=partner)
        action = "create"
    else:
        before = {k: getattr(person, k) for k in ("name", "position", "notes", "birthday")}
        action = "update"
    for key in ("name", "position", "notes", "birthday"):
        setattr(person, key, values[key])
    person.name_norm = name_norm
    for kind in ("email", "phone"):
        norm_values = {d.value_norm for d in person.contact_details if d.kind == kind}
        if values[kind]:
            detail = new_contact_detail(kind, values[kind], is_main=not norm_values)
            if detail.value_norm not in norm_values:
                person.contact_details.append(detail)
    db.session.add(person)
    # A namesake saved at the same moment is refused by the unique index.
    flush_or_refuse("name", taken)
    sync_search(partner)
    after = {k: getattr(person, k) for k in ("name", "position", "notes", "birthday")}
    audit.record(
        actor,
        action,
        person,
        root=partner,
        changes=audit.diff(before, after),
        summary=f"{'added' if action == 'create' else 'changed'} contact person {person.name}",
    )
    return person


def delete_contact_person(actor, partner: Partner, person: ContactPerson) -> None:
    ensure_can_edit(actor, partner)
    audit.record(
        actor,
        "delete",
        person,
        root=partner,
        changes={"name": [person.name, None]},
        summary=f"removed contact person {person.name}",
    )
    partner.contact_persons.remove(person)
    db.session.flush()
    sync_search(partner)


# --- merge --------------------------------------------------------------------------------

# Fields the user picks from one side or the other in the merge preview.
MERGE_CHOICES = (
    "name",
    "kind",
    "inn",
    "city",
    "responsible_id",
    "notes",
    "preferred_channel",
    "best_time_to_call",
    "created_on",
)


# `hook(other_id, survivor_id)` runs before a merge re-points foreign keys to the partner.
MERGE_HOOKS: RegistryKey[Callable[[int, int], None]] = RegistryKey("crm.partner_merge_hooks")


def register_merge_hook(state_or_app, hook) -> None:
    """`hook(other_id, survivor_id)` runs before a merge re-points foreign keys to partner."""
    MERGE_HOOKS.register(state_or_app, hook)


def merge_preview(survivor: Partner, other: Partner) -> dict:
    """What a merge would do: per field both values and the default pick; records to move."""
    s, o = _snapshot(survivor), _snapshot(other)
    fields = []
    for key in MERGE_CHOICES:
        if key == "created_on":
            default = "survivor" if s[key] <= o[key] else "other"
        else:
            default = "survivor" if s[key] not in ("", None) or o[key] in ("", None) else "other"
        fields.append(
            {
                "key": key,
                "survivor": s[key],
                "other": o[key],
                "default": default,
                "same": s[key] == o[key],
                "shown": (_shown(key, s[key]), _shown(key, o[key])),
            }
        )
    moves = {  # by table, as crm.partners.history.table_title names them
        "contact_detail": len(other.contact_details),
        "contact_person": len(other.contact_persons),
        "partner_tag": len(other.tags),
        **count_references(Partner.__table__, other.id, skip=OWN_LINKS),
    }
    return {"fields": fields, "moves": {k: v for k, v in moves.items() if v}}


def _shown(key: str, value):
    """A field's value as the preview shows it: the responsible manager by name, not by id;
    kinds, channels and dates in the reader's language."""
    from crm.partners.history import shown_value

    return shown_value(key, value)


def merge_partners(actor, survivor: Partner, other: Partner, choices: dict[str, str]) -> dict:
    """Merge `other` into `survivor`: chosen field values, all contacts and linked records move,
    `other` remains as a pointer (its code still resolves) and both histories record it."""
    if survivor.id == other.id:
        raise DomainError(_("A partner cannot be merged with itself."))
    if other.merged_into_id or survivor.merged_into_id:
        raise DomainError(_("One of these partners has been merged already."))
    ensure_can_edit(actor, survivor)
    ensure_can_edit(actor, other)
    before = _snapshot(survivor)
    o = _snapshot(other)
    for key in MERGE_CHOICES:
        pick = choices.get(key, "survivor")
        if pick not in ("survivor", "other", "both"):
            raise DomainError(_("Choose which value of %(field)s to keep.", field=field_title(key)))
        if pick == "other":
            setattr(survivor, key, o[key])
        elif pick == "both" and key == "notes" and o["notes"]:
            survivor.notes = "\n\n".join(n for n in (survivor.notes, o["notes"]) if n)
    # Roles add up and opt-outs are kept: a client who said "do not call" still means it.
    for role in PARTNER_ROLES:
        setattr(survivor, f"is_{role}", role in before["roles"] or role in o["roles"])
    for flag in FLAGS:
        setattr(survivor, flag, bool(before[flag] or o[flag]))
    moved = _move_contacts(survivor, other)
    survivor.tags = list({t.id: t for t in [*survivor.tags, *other.tags]}.values())
    db.session.flush()
    db.session.execute(delete(partner_tag).where(partner_tag.c.partner_id == other.id))
    # Domains whose rows would collide on a unique key once re-pointed adjust them first.
    for hook in MERGE_HOOKS.of():
        hook(other.id, survivor.id)
    moved.update(repoint_references(Partner.__table__, other.id, survivor.id, skip=OWN_LINKS))
    # Partners merged into `other` earlier now point straight at the survivor.
    db.session.execute(
        update(Partner).where(Partner.merged_into_id == other.id).values(merged_into_id=survivor.id)
    )
    # The other partner's history now belongs to the survivor's card.
    db.session.execute(
        update(AuditEntry)
        .where(AuditEntry.root_type == "partner", AuditEntry.root_id == other.id)
        .values(root_id=survivor.id)
    )
    other.merged_into_id = survivor.id
    db.session.flush()
    db.session.expire(survivor)
    survivor = queries.get_partner(survivor.id)
    sync_search(survivor)
    db.session.flush()
    changes = _audit_diff(before, _snapshot(survivor))
    changes["merged"] = [None, f"{other.name} ({other.code})"]
    audit.record(
        actor,
        "merge",
        survivor,
        changes=changes,
        summary=f"merged {other.name} ({other.code}) into this partner; moved "
        + ", ".join(f"{k}: {v}" for k, v in moved.items()),
    )
    audit.record(
        actor,
        "merge",
        other,
        root=survivor,
        summary=f"{other.name} ({other.code}) was merged into {survivor.name}",
    )
    return moved


def _move_contacts(survivor: Partner, other: Partner) -> dict[str, int]:
    kept = {(d.kind, d.value_norm) for d in survivor.contact_details}
    has_main = {d.kind for d in survivor.contact_details if d.is_main}
    moved_details = 0
    for detail in list(other.contact_details):
        if (detail.kind, detail.value_norm) in kept:
            continue  # the survivor has it already; the copy goes with `other`
        detail.is_main = detail.is_main and detail.kind not in has_main
        detail.partner_id = survivor.id
        moved_details += 1
    persons = _merge_namesakes(survivor, other)
    persons += db.session.execute(
        update(ContactPerson)
        .where(ContactPerson.partner_id == other.id)
        .values(partner_id=survivor.id, **versioning.bump_values(ContactPerson.__table__))
    ).rowcount
    db.session.flush()
    db.session.execute(delete(ContactDetail).where(ContactDetail.partner_id == other.id))
    db.session.expire(other)
    return {"contact_detail": moved_details, "contact_person": persons}


def _merge_namesakes(survivor: Partner, other: Partner) -> int:
    """A contact person of `other` named as one of the survivor's ((partner, folded name) is
    unique) becomes that person: details they lack, empty fields and every link move to the
    survivor's person, and the copy goes. Returns how many were merged."""
    mine = {p.name_norm: p for p in survivor.contact_persons}
    merged = 0
    for person in list(other.contact_persons):
        keep = mine.get(person.name_norm)
        if keep is None:
            continue
        kept = {(d.kind, d.value_norm) for d in keep.contact_details}
        has_main = {d.kind for d in keep.contact_details if d.is_main}
        for detail in list(person.contact_details):
            if (detail.kind, detail.value_norm) not in kept:
                detail.is_main = detail.is_main and detail.kind not in has_main
                person.contact_details.remove(detail)
                keep.contact_details.append(detail)
        for key in ("position", "notes", "birthday"):
            if getattr(keep, key) in ("", None):
                setattr(keep, key, getattr(person, key))
        db.session.flush()
        repoint_references(
            ContactPerson.__table__, person.id, keep.id, skip={"contact_detail.contact_person_id"}
        )
        other.contact_persons.remove(person)
        db.session.flush()
        merged += 1
    return merged


def bulk_insert_tags(pairs: list[tuple[int, int]]) -> None:
    """Link (partner_id, tag_id) pairs in one statement (demo data and benchmarks)."""
    if pairs:
        db.session.execute(insert(partner_tag), [{"partner_id": p, "tag_id": t} for p, t in pairs])


# --- import (the partners and contacts kinds, crm/partners/exchange.py) ---------------------


def main_value(owner, kind: str) -> str | None:
    """The value of a partner's or person's main e-mail/phone (else its first one)."""
    found = [d for d in owner.contact_details if d.kind == kind]
    main = next((d for d in found if d.is_main), found[0] if found else None)
    return main.value if main else None


def _set_main_value(owner, kind: str, value: str | None) -> None:
    """The value becomes the main one of its kind (the old main stays, not main)."""
    if not value:
        return
    same = [d for d in owner.contact_details if d.kind == kind]
    match = next((d for d in same if d.value == value), None)
    for d in same:
        d.is_main = d is match
    if match is None:
        owner.contact_details.append(new_contact_detail(kind, value, is_main=True))


def _import_view(p: Partner) -> dict:
    """The imported fields as the History tab shows them."""
    return {
        "name": p.name,
        "kind": p.kind,
        "roles": ", ".join(p.roles),
        "inn": p.inn,
        "city": p.city,
        "email": main_value(p, "email"),
        "phone": main_value(p, "phone"),
        "responsible_id": p.responsible_id,
        "created_on": p.created_on,
    }


def import_partner(actor, partner: Partner | None, row: dict, *, today: date) -> Partner:
    """Create (partner None) or update a partner from a checked import row: code, name, kind,
    roles, inn, city, email, phone, responsible_id, created_on (None: kept, or today). The
    row's e-mail and phone become the main ones; the change is audited."""
    created = partner is None
    before = {} if created else _import_view(partner)
    if created:
        partner = Partner(code=row["code"], created_on=row["created_on"] or today)
        partner.contact_details, partner.contact_persons = [], []
        db.session.add(partner)
    partner.name, partner.kind = row["name"], row["kind"] or "company"
    partner.inn, partner.city = row["inn"] or "", row["city"] or ""
    for part in PARTNER_ROLES:  # client, supplier…: the partner's parts, not a user's role
        setattr(partner, f"is_{part}", part in (row["roles"] or ("client",)))
    if row["responsible_id"]:
        partner.responsible_id = row["responsible_id"]
    if row["created_on"]:
        partner.created_on = row["created_on"]
    _set_main_value(partner, "email", row["email"])
    _set_main_value(partner, "phone", row["phone"])
    sync_search(partner)
    db.session.flush()
    audit.record(
        actor,
        "create" if created else "update",
        partner,
        changes=audit.diff(before, _import_view(partner)),
        summary=f"{'created' if created else 'updated'} by import",
    )
    return partner


def import_new_partners(actor, rows: list[dict], *, today: date) -> None:
    """Create many partners from checked import rows (the fields of import_partner) with the
    same rows, contact details and audit entries as import_partner, in three bulk inserts a
    batch (core.db.insert_rows: COPY on PostgreSQL) instead of ORM objects flushed one partner
    at a time.

    What it buys: the unit of work per row (a flush per partner, ORM objects for the partner,
    its details and its audit entry) was ~90 % of a first import; bulk inserts of plain dicts
    make it several times faster."""
    if not rows:
        return
    ids = insert_rows(
        Partner.__table__, [_new_partner_values(r, today) for r in rows], key=("code",)
    )
    details, entries = [], []
    for r in rows:
        pid = ids[(r["code"],)]
        for kind in ("email", "phone"):
            if r[kind]:
                details.append(
                    {
                        "partner_id": pid,
                        "contact_person_id": None,
                        "kind": kind,
                        "value": r[kind],
                        "value_norm": r[f"{kind}_norm"],
                        "label": "",
                        "is_main": True,
                    }
                )
        view = {
            "name": r["name"],
            "kind": r["kind"] or "company",
            "roles": ", ".join(p for p in PARTNER_ROLES if p in (r["roles"] or ("client",))),
            "inn": r["inn"] or "",
            "city": r["city"] or "",
            "email": r["email"] or None,
            "phone": r["phone"] or None,
            "responsible_id": r["responsible_id"] or None,
            "created_on": r["created_on"] or today,
        }
        entries.append(
            {
                "user_id": getattr(actor, "id", None),
                "action": "create",
                "object_type": Partner.__tablename__,
                "object_id": pid,
                "root_type": Partner.__tablename__,
                "root_id": pid,
                "summary": "created by import",
                "changes": audit.diff({}, view),
                "object_version": 1,  # a new partner's version (versioning.Versioned)
            }
        )
    insert_rows(ContactDetail.__table__, details)
    insert_rows(AuditEntry.__table__, entries)


def _new_partner_values(r: dict, today: date) -> dict:
    """The partner table's row for a new imported partner (the other columns take their
    defaults); r gets the normalised e-mail and phone its details use."""
    roles = r["roles"] or ("client",)
    r["email_norm"] = normalise_email(r["email"]) if r["email"] else ""
    if "phone_norm" not in r:  # PartnersKind.check puts it there (parsed once, cached)
        r["phone_norm"] = normalise_phone(r["phone"], _region()) if r["phone"] else ""
    details = [(k, r[k], r[f"{k}_norm"]) for k in ("email", "phone") if r[k]]
    return {
        "code": r["code"],
        "name": r["name"],
        "kind": r["kind"] or "company",
        **{f"is_{part}": part in roles for part in PARTNER_ROLES},
        "inn": r["inn"] or "",
        "city": r["city"] or "",
        "responsible_id": r["responsible_id"] or None,
        "created_on": r["created_on"] or today,
        **search_columns(r["name"], r["code"], r["inn"] or "", r["city"] or "", [], details),
    }


def import_contact_person(partner_id: int, person: ContactPerson | None, row: dict):
    """Create (person None) or update a contact person from a checked import row: name,
    position, email, phone. The caller re-syncs the partners' search (resync_partners_search)."""
    if person is None:
        person = ContactPerson(partner_id=partner_id, contact_details=[])
        db.session.add(person)
    before = (
        person.name,
        person.position,
        main_value(person, "email"),
        main_value(person, "phone"),
    )
    person.name, person.name_norm = row["name"], fold(row["name"])
    person.position = row["position"] or ""
    _set_main_value(person, "email", row["email"])
    _set_main_value(person, "phone", row["phone"])
    after = (person.name, person.position, main_value(person, "email"), main_value(person, "phone"))
    if person.id is not None and before != after:
        versioning.bump(person)  # a person's form opened before must not undo this
    return person


def import_new_contact_persons(rows: list[dict]) -> None:
    """Create many contact persons from checked import rows (partner_id, name, position,
    email, phone; email_norm/phone_norm when the kind has them) with the rows and main
    e-mail/phone that import_contact_person makes, in two bulk inserts (persons, their
    details) instead of ORM objects flushed one person at a time. The caller re-syncs the
    partners' search (resync_partners_search).

    What it buys: the ORM unit of work per person (and a partner loaded with all its details
    and persons to re-sync its search) was nearly all of a contacts import's time."""
    if not rows:
        return
    ids = insert_rows(
        ContactPerson.__table__,
        [
            {
                "partner_id": r["partner_id"],
                "name": r["name"],
                "name_norm": fold(r["name"]),
                "position": r["position"] or "",
            }
            for r in rows
        ],
        key=("partner_id", "name_norm"),
    )
    details = []
    for r in rows:
        person_id = ids[(r["partner_id"], fold(r["name"]))]
        for kind in ("email", "phone"):
            if r[kind]:
                details.append(
                    {
                        "partner_id": None,
                        "contact_person_id": person_id,
                        "kind": kind,
                        "value": r[kind],
                        "value_norm": r.get(f"{kind}_norm") or _detail_norm(kind, r[kind]),
                        "label": "",
                        "is_main": True,
                    }
                )
    insert_rows(ContactDetail.__table__, details)


def _detail_norm(kind: str, value: str) -> str:
    """The value_norm new_contact_detail gives an e-mail or phone."""
    return normalise_email(value) if kind == "email" else normalise_phone(value, _region())


def resync_partners_search(partner_ids: list[int], batch: int = 900) -> None:
    """What sync_search stores for these partners, read and written with plain statements: three
    SELECTs a batch (partners; their own and their persons' details; persons' names) and one
    UPDATE of the partners whose columns change (updated_at too, as the ORM's onupdate).

    What it buys: sync_search needs every touched partner built with all its details and
    persons as ORM objects; after a contacts import of 100,000 persons that is most of the
    time, and a partner whose columns stay the same is not written at all here."""
    p, d, c = Partner.__table__, ContactDetail.__table__, ContactPerson.__table__
    derived = ("name_norm", "name_key", "name_prefix", "city_norm", "search_text")
    ids = sorted(set(partner_ids))
    for i in range(0, len(ids), batch):
        part = ids[i : i + batch]
        partners = db.session.execute(
            select(p.c.id, p.c.name, p.c.code, p.c.inn, p.c.city, *(p.c[k] for k in derived)).where(
                p.c.id.in_(part)
            )
        ).all()
        names: dict[int, list[str]] = {}
        person_of: dict[int, int] = {}
        for pid, person_id, norm in db.session.execute(
            select(c.c.partner_id, c.c.id, c.c.name_norm)
            .where(c.c.partner_id.in_(part))
            .order_by(c.c.partner_id, c.c.name_norm)
        ):
            names.setdefault(pid, []).append(norm)
            person_of[person_id] = pid
        # sync_search's order: the partner's details, then each person's (persons by name),
        # each list by (kind, main first, id) as the relationships load them.
        own: dict[int, list[tuple]] = {}
        theirs: dict[int, list[tuple]] = {}
        for pid, person_id, kind, value, value_norm in db.session.execute(
            select(d.c.partner_id, d.c.contact_person_id, d.c.kind, d.c.value, d.c.value_norm)
            .where(
                or_(
                    d.c.partner_id.in_(part),
                    d.c.contact_person_id.in_(
                        select(c.c.id).where(c.c.partner_id.in_(part)).scalar_subquery()
                    ),
                )
            )
            .order_by(d.c.kind, d.c.is_main.desc(), d.c.id)
        ):
            if pid is not None:
                own.setdefault(pid, []).append((kind, value, value_norm))
            else:
                theirs.setdefault(person_id, []).append((kind, value, value_norm))
        person_order: dict[int, list[int]] = {}
        for person_id, pid in person_of.items():
            person_order.setdefault(pid, []).append(person_id)
        changes = []
        for row in partners:
            details = list(own.get(row.id, []))
            for person_id in person_order.get(row.id, []):  # in name order (dicts keep it)
                details.extend(theirs.get(person_id, []))
            new = search_columns(
                row.name, row.code, row.inn, row.city, names.get(row.id, []), details
            )
            if any(new[k] != row._mapping[k] for k in derived):
                changes.append(
                    {"pid": row.id, **{f"v_{k}": v for k, v in new.items()}, "v_at": utcnow()}
                )
        if changes:
            db.session.execute(
                update(p)
                .where(p.c.id == bindparam("pid"))
                .values(
                    {**{k: bindparam(f"v_{k}") for k in derived}, "updated_at": bindparam("v_at")}
                ),
                changes,
            )
