"""Mailing groups: creating, changing (checked against the version the form was opened at) and
deleting them. A group that mailings, notification settings or sent messages name is not
deleted (switch it off instead): its opt-outs and the record of what was sent stay readable."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext, pgettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm.core import audit, versioning
from crm.core.errors import DomainError, FieldErrors
from crm.core.policy import require
from crm.core.text import CONTROL_CHARS, fold
from crm.extensions import db
from crm.messaging.consent_labels import GROUP_KIND_TITLES
from crm.messaging.models import GROUP_KINDS, MailingGroup

NAME_MAX = 200
DESCRIPTION_MAX = 2000


def _clean(data: dict, group_id: int | None) -> dict:
    errors = FieldErrors()
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        errors.add("name", _("%(field)s is required.", field=pgettext("mailing group", "Name")))
    elif len(name) > NAME_MAX:
        errors.add(
            "name",
            ngettext(
                "%(field)s is too long: %(num)s character, at most %(limit)s.",
                "%(field)s is too long: %(num)s characters, at most %(limit)s.",
                len(name),
                field=pgettext("mailing group", "Name"),
                limit=NAME_MAX,
            ),
        )
    elif CONTROL_CHARS.search(name):
        errors.add(
            "name",
            _("%(field)s contains control characters.", field=pgettext("mailing group", "Name")),
        )
    elif _name_taken(name, group_id):
        errors.add("name", _("A group with this name exists already."))
    kind = data.get("kind") or ""
    if kind not in GROUP_KINDS:
        shown = ", ".join(str(GROUP_KIND_TITLES[k]) for k in GROUP_KINDS)
        errors.add("kind", _("Choose one of: %(choices)s.", choices=shown))
    description = str(data.get("description") or "").strip().replace("\x00", "")
    if len(description) > DESCRIPTION_MAX:
        errors.add(
            "description",
            ngettext(
                "%(field)s is too long: %(num)s character, at most %(limit)s.",
                "%(field)s is too long: %(num)s characters, at most %(limit)s.",
                len(description),
                field=_("Description"),
                limit=DESCRIPTION_MAX,
            ),
        )
    errors.raise_if_any()
    return {
        "name": name,
        "kind": kind,
        "description": description,
        "is_active": bool(data.get("is_active")),
    }


def _name_taken(name: str, group_id: int | None) -> bool:
    # Names differing only in case read as one group in a list: refused as the same name.
    # Groups are a handful, so their names are compared here rather than by a folded column.
    rows = db.session.execute(select(MailingGroup.id, MailingGroup.name)).all()
    return any(fold(other) == fold(name) and gid != group_id for gid, other in rows)


def _flush_name() -> None:
    """Flush; the same name saved by someone else a moment ago is a field error, not a 500
    (the caller rolls the transaction back, as after any refused change)."""
    try:
        db.session.flush()
    except IntegrityError:
        message = _("A group with this name exists already.")
        raise DomainError(message, {"name": [message]}) from None


def create_group(actor, data: dict) -> MailingGroup:
    """A new mailing group (name, kind advertising/service, description, active)."""
    require(actor, "messaging.edit")
    values = _clean(data, None)
    group = MailingGroup(**values)
    db.session.add(group)
    _flush_name()
    audit.record(actor, "create", group, changes=audit.diff({}, values), summary=group.name)
    return group


def update_group(actor, group: MailingGroup, data: dict, *, version: int | None = None):
    """Change a group; refused (StaleRecord) when someone changed it after the form opened."""
    require(actor, "messaging.edit")
    values = _clean(data, group.id)
    old = {key: getattr(group, key) for key in values}
    with versioning.saving(group, version):
        for key, value in values.items():
            setattr(group, key, value)
        audit.record(actor, "update", group, changes=audit.diff(old, values), summary=group.name)
        _flush_name()
    return group


def usage(group: MailingGroup) -> dict[str, int]:
    """How many mailings, notification settings and messages name the group."""
    from crm.messaging.models import Mailing, Message, NotificationSetting

    counts = {}
    for key, model in (
        ("mailings", Mailing),
        ("notifications", NotificationSetting),
        ("messages", Message),
    ):
        counts[key] = db.session.execute(
            select(func.count()).select_from(model).where(model.group_id == group.id)
        ).scalar_one()
    return counts


def delete_group(actor, group: MailingGroup) -> None:
    """Delete a group nobody uses; its opt-outs go with it."""
    require(actor, "messaging.edit")
    used = usage(group)
    if any(used.values()):
        raise DomainError(
            _(
                "The group “%(name)s” is in use (mailings: %(mailings)s, notifications: "
                "%(notifications)s, messages: %(messages)s), so it is not deleted. Switch it "
                "off instead: it is then offered for no new mailing.",
                name=group.name,
                **used,
            )
        )
    audit.record(
        actor,
        "delete",
        group,
        changes=audit.diff(
            {
                "name": group.name,
                "kind": group.kind,
                "description": group.description,
                "is_active": group.is_active,
            },
            {},
        ),
        summary=group.name,
    )
    db.session.delete(group)
    db.session.flush()
