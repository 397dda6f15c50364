"""Writes of marketing mailings' drafts: a draft's name, channel, template, group, recipients (a
partner scope such as a segment, resolved when sending starts, and partners added by hand),
tracking and planned time, checked together; what keeps a mailing from being sent (readiness);
drafts made from a selection; the partners-by-code reading of the form. The moves of a
mailing's state (schedule, send now, back to draft, cancel, delete, copy) are
crm.messaging.mailing_states'. Services flush and audit; the caller (request, job) commits."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select

from crm.core import audit, versioning
from crm.core.errors import DomainError, FieldErrors
from crm.core.params import BadValue, parse_id
from crm.core.partner_scope import PARTNER_SCOPES
from crm.core.policy import rows_clause
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging.compose import sample_context
from crm.messaging.mailing_labels import mailing_state_title
from crm.messaging.models import (
    CHANNELS,
    Mailing,
    MailingGroup,
    MailingPartner,
    MessageTemplate,
)
from crm.messaging.recipients import ScopeError, scope_select
from crm.messaging.rendering import check
from crm.partners.models import Partner

NAME_MAX = 200
_CHUNK = 900  # ids per IN (…)
MAX_CODES = 10_000  # partner codes pasted at once


@dataclass
class MailingData:
    """What the mailing form (or a selection) gives a draft."""

    name: str = ""
    channel: str = "email"
    template_id: int | None = None
    group_id: int | None = None
    scope_key: str = ""  # a registered partner scope ("segment"), or "" for none
    scope_value: str = ""
    tracking: bool = False
    scheduled_at: datetime | None = None  # UTC; None: when it is started


def scope_problem(key: str, value: str, user=None) -> str:
    """'' when partner scope `key` can use `value` (for `user`), else why not."""
    if PARTNER_SCOPES.of().get(key) is None:
        return _("Unknown recipient list.")
    # Every registered scope is picked by a record id today (crm.core.filters.IdField).
    try:
        parse_id(value)
    except BadValue:
        return _("Choose the recipient list again: the value given is not one.")
    try:
        scope_select(key, value, user)
    except ScopeError as exc:
        return exc.reason
    return ""


def _clean(actor, data: MailingData, errors: FieldErrors, mailing: Mailing | None = None) -> dict:
    """The draft's values checked together (each problem noted under its field)."""
    name = " ".join((data.name or "").split())
    if not name:
        errors.add("name", _("A mailing needs a name."))
    elif len(name) > NAME_MAX:
        errors.add("name", _("A name has at most %(max)s characters.", max=NAME_MAX))
    channel = data.channel
    if channel not in CHANNELS:
        errors.add("channel", _("A mailing goes by e-mail or SMS."))
    if data.template_id is not None:
        template = db.session.get(MessageTemplate, data.template_id)
        if template is None:
            errors.add("template_id", _("Unknown template."))
        elif channel in CHANNELS and template.channel != channel:
            errors.add(
                "template_id",
                _("The template %(name)s is for another channel.", name=template.name),
            )
    if data.group_id is not None:
        group = db.session.get(MailingGroup, data.group_id)
        if group is None:
            errors.add("group_id", _("Unknown mailing group."))
        elif not group.is_active and (mailing is None or mailing.group_id != group.id):
            errors.add("group_id", _("The group %(name)s is switched off.", name=group.name))
    scope_key, scope_value = data.scope_key or "", data.scope_value or ""
    if scope_key:
        problem = scope_problem(scope_key, scope_value, actor)
        if problem:
            errors.add("scope", problem)
        else:
            scope_value = str(parse_id(scope_value))  # "007" is stored as "7"
    else:
        scope_value = ""
    if data.scheduled_at is not None and data.scheduled_at <= utcnow():
        errors.add("send_at", _("Choose a time in the future."))
    return {
        "name": name,
        "channel": channel,
        "template_id": data.template_id,
        "group_id": data.group_id,
        "scope_key": scope_key,
        "scope_value": scope_value,
        # The open pixel and the redirecting links live in an HTML body: e-mail only.
        "tracking": bool(data.tracking) and channel == "email",
        "scheduled_at": data.scheduled_at,
    }


def _editable(mailing: Mailing) -> None:
    if mailing.state != "draft":
        raise DomainError(
            _(
                "Only a draft can be changed; this mailing is in state «%(state)s».",
                state=mailing_state_title(mailing.state),
            )
        )


def _checked(actor, data: MailingData, codes, mailing: Mailing | None = None):
    """(the draft's values, the ids of the partners `codes` name): every problem of both at
    once, as one DomainError naming the fields."""
    errors = FieldErrors()
    values = _clean(actor, data, errors, mailing)
    ids: list[int] = []
    codes = list(codes)
    if len(codes) > MAX_CODES:
        errors.add("codes", _("At most %(max)s partners at once.", max=MAX_CODES))
    elif codes:
        ids, unknown = partner_ids_for_codes(actor, codes)
        if unknown:
            shown = ", ".join(unknown[:20]) + (" …" if len(unknown) > 20 else "")
            errors.add("codes", _("Not found or not yours: %(codes)s.", codes=shown))
    errors.raise_if_any()
    return values, ids


def create_mailing(
    actor, data: MailingData, partner_ids: Iterable[int] = (), *, codes: Iterable[str] = ()
) -> Mailing:
    """A new draft mailing, with these partners (by id, or by code) added by hand — those
    `actor` may see; an unknown code refuses the whole draft."""
    values, code_ids = _checked(actor, data, codes)
    partner_ids = [*partner_ids, *code_ids]
    mailing = Mailing(**values, state="draft", created_by_id=getattr(actor, "id", None))
    db.session.add(mailing)
    db.session.flush()
    audit.record(actor, "create", mailing, summary=mailing.name)
    added = _add(actor, mailing, partner_ids)
    if added:
        audit.record(actor, "update", mailing, changes={"partners_added": [None, added]})
    db.session.flush()
    return mailing


def update_mailing(
    actor,
    mailing: Mailing,
    data: MailingData,
    *,
    add_ids: Iterable[int] = (),
    add_codes: Iterable[str] = (),
    remove_ids: Iterable[int] = (),
    remove_all: bool = False,
    version: int | None = None,
) -> Mailing:
    """Change a draft: its values, and the partners added by hand (removed, then added, by
    id or code; an unknown code refuses the whole change)."""
    _editable(mailing)
    values, code_ids = _checked(actor, data, add_codes, mailing)
    add_ids = [*add_ids, *code_ids]
    old = {key: getattr(mailing, key) for key in values}
    with versioning.saving(mailing, version):
        changes = audit.diff(old, values)
        for key, value in values.items():
            setattr(mailing, key, value)
        removed = _remove(mailing, None if remove_all else remove_ids)
        added = _add(actor, mailing, add_ids)
        if removed:
            changes["partners_removed"] = [None, removed]
        if added:
            changes["partners_added"] = [None, added]
        audit.record(actor, "update", mailing, changes=changes)
    return mailing


def _visible_live(actor, ids: Iterable[int]) -> list[int]:
    """The live (not merged) partners among `ids` that `actor` may see."""
    wanted = sorted({int(i) for i in ids})
    clause = rows_clause(actor, Partner) if actor is not None else None
    kept: list[int] = []
    for start in range(0, len(wanted), _CHUNK):
        stmt = select(Partner.id).where(
            Partner.id.in_(wanted[start : start + _CHUNK]), Partner.merged_into_id.is_(None)
        )
        if clause is not None:
            stmt = stmt.where(clause)
        kept.extend(db.session.execute(stmt).scalars())
    return sorted(kept)


def _add(actor, mailing: Mailing, ids: Iterable[int]) -> int:
    """Add partners by hand (those already added are left); returns how many were new."""
    wanted = _visible_live(actor, ids)
    if not wanted:
        return 0
    present = set(
        db.session.execute(
            select(MailingPartner.partner_id).where(MailingPartner.mailing_id == mailing.id)
        ).scalars()
    )
    new = [pid for pid in wanted if pid not in present]
    for start in range(0, len(new), 5000):
        db.session.execute(
            insert(MailingPartner),
            [{"mailing_id": mailing.id, "partner_id": pid} for pid in new[start : start + 5000]],
        )
    return len(new)


def _remove(mailing: Mailing, ids: Iterable[int] | None) -> int:
    """Remove partners added by hand (every one of them when `ids` is None)."""
    stmt = delete(MailingPartner).where(MailingPartner.mailing_id == mailing.id)
    if ids is None:
        return db.session.execute(stmt).rowcount
    wanted = sorted({int(i) for i in ids})
    removed = 0
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        removed += db.session.execute(stmt.where(MailingPartner.partner_id.in_(chunk))).rowcount
    return removed


def has_recipients(mailing: Mailing) -> bool:
    """Does the mailing name any recipients (a scope, or partners added by hand)?"""
    if mailing.scope_key:
        return True
    found = db.session.execute(
        select(MailingPartner.partner_id).where(MailingPartner.mailing_id == mailing.id).limit(1)
    ).first()
    return found is not None


def template_problems(template: MessageTemplate) -> list[str]:
    """Why the template cannot be sent, rendered with the sample values of a mailing."""
    if not template.texts:
        return [_("The template %(name)s has no text.", name=template.name)]
    context = sample_context("")
    problems = []
    for text in template.texts:
        if template.channel == "email":
            if not text.subject.strip():
                problems.append(
                    _("The template's %(language)s text has no subject.", language=text.language)
                )
            if not (text.body_html.strip() or text.body_text.strip()):
                problems.append(
                    _("The template's %(language)s text has no body.", language=text.language)
                )
            parts = ((text.subject, False), (text.body_html, True), (text.body_text, False))
        else:
            if not text.body_text.strip():
                problems.append(
                    _("The template's %(language)s text is empty.", language=text.language)
                )
            parts = ((text.body_text, False),)
        for source, html in parts:
            reason = check(source, context, html=html, language=text.language)
            if reason:
                problems.append(
                    _(
                        "The template's %(language)s text does not render: %(reason)s",
                        language=text.language,
                        reason=reason,
                    )
                )
    return problems


def readiness(mailing: Mailing) -> list[str]:
    """What keeps the mailing from being sent ([] when it is ready)."""
    problems = []
    template = mailing.template
    if template is None:
        problems.append(_("Choose a template."))
    elif template.channel != mailing.channel:
        problems.append(_("The template %(name)s is for another channel.", name=template.name))
    else:
        problems.extend(template_problems(template))
    group = mailing.group
    if group is None:
        problems.append(_("Choose a mailing group."))
    elif not group.is_active:
        problems.append(_("The group %(name)s is switched off.", name=group.name))
    if not has_recipients(mailing):
        problems.append(_("Choose the recipients: a segment, or partners added by hand."))
    elif mailing.scope_key:
        problem = scope_problem(mailing.scope_key, mailing.scope_value)
        if problem:
            problems.append(_("The recipient list cannot be used: %(problem)s", problem=problem))
    return problems


def create_for_scope(actor, name: str, key: str, value: str) -> Mailing:
    """A draft e-mail mailing to a partner scope's value (a segment, resolved when sent)."""
    return create_mailing(
        actor, MailingData(name=name[:NAME_MAX], scope_key=key, scope_value=value)
    )


def create_for_partners(actor, name: str, ids: Iterable[int]) -> Mailing:
    """A draft e-mail mailing to these partners, added by hand (those `actor` may see)."""
    mailing = create_mailing(actor, MailingData(name=name[:NAME_MAX]), ids)
    if not has_recipients(mailing):
        raise DomainError(_("Nobody you may see is in this list: no mailing was made."))
    return mailing


def merge_mailing_partners(other_id: int, survivor_id: int) -> None:
    """Before partner `other_id` is merged into `survivor_id`: where both were added by hand to
    one mailing, the other's row goes (the rest move with the merge)."""
    survivor_in = select(MailingPartner.mailing_id).where(MailingPartner.partner_id == survivor_id)
    db.session.execute(
        delete(MailingPartner).where(
            MailingPartner.partner_id == other_id, MailingPartner.mailing_id.in_(survivor_in)
        )
    )


def split_codes(text: str) -> list[str]:
    """Partner codes pasted one per line, or separated by commas, semicolons or tabs (a column
    copied from a spreadsheet)."""
    return [c for c in re.split(r"[\s,;]+", text or "") if c]


def partner_ids_for_codes(actor, codes: list[str]) -> tuple[list[int], list[str]]:
    """(ids of the live partners `actor` may see with these codes — a merged partner's code
    gives the partner it went into —, the codes naming nobody he may see)."""
    wanted = sorted({c.strip() for c in codes if c.strip()})
    by_code: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = db.session.execute(
            select(Partner.code, Partner.id, Partner.merged_into_id).where(
                Partner.code.in_(wanted[start : start + _CHUNK])
            )
        )
        for code, pid, merged_into in rows:
            by_code[code] = merged_into or pid
    seen = set(_visible_live(actor, by_code.values()))
    # A code of a partner he may not see reads as unknown: it tells him nothing.
    unknown = [c for c in wanted if by_code.get(c) not in seen]
    return sorted(seen), unknown
