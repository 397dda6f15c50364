"""What is known of each address, and its changes: the consent to advertising (given, with its
date and source; withdrawn, with its source), the language messages to it are written in, the
groups it opted out of, and the global suppression list.

Every change is recorded in the audit log (on the address's Subscriber row for consent and
language, so the history of a consent reads from there — consent_queries.history), with the
acting user, or none when the recipient did it himself through a signed link or the SMS
gateway (the source says so). The acting user is None for those; anyone else's rights are
checked here (`messaging.consent`; lifting a bounce or a complaint needs `messaging.edit` and a
note), and whether he may see the partner whose address it is is the caller's check.

Addresses are normalised as the partners' contact details are (ContactDetail.value_norm):
case-folded e-mail, E.164 phone. Every function is idempotent: granting a standing consent,
opting out twice or suppressing a suppressed address changes nothing and records nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from crm.core import audit
from crm.core.errors import DomainError, FieldErrors
from crm.core.keys import dialect_insert
from crm.core.policy import require
from crm.core.text import CONTROL_CHARS, normalise_email, normalise_phone
from crm.core.timeutil import from_zone, site_today, utcnow
from crm.extensions import db
from crm.messaging.models import (
    CHANNELS,
    SUPPRESSION_REASONS,
    GroupOptOut,
    MailingGroup,
    Subscriber,
    Suppression,
)
from crm.partners.validation import clean_email, clean_phone

LANGUAGES = ("ru", "en")
SOURCE_MAX = 200  # Subscriber.consent_source / withdrawn_source, GroupOptOut.source
NOTE_MAX = 500  # Suppression.note
# Reasons only admins and marketers may lift, and only with a note saying why: mailing a
# dead address again hurts the sender's reputation, and a complaint is a clear "no".
RESTRICTED_REASONS = ("bounced", "complaint")
# Addresses pasted into the suppression list at once.
PASTE_MAX = 5000


# --- addresses ----------------------------------------------------------------------------


def _region() -> str:
    return current_app.config.get("DEFAULT_PHONE_REGION", "RU")


def normalise(channel: str, address: str | None) -> str:
    """The address as ContactDetail.value_norm holds it for the channel's kind."""
    if channel == "email":
        return normalise_email(address)
    if channel == "sms":
        return normalise_phone(address, _region())
    raise ValueError(channel)


def checked_address(channel: str, address: str, field_name: str = "address") -> str:
    """The normalised address typed by someone; DomainError (on `field_name`) when it is not
    an e-mail address (or phone number) at all."""
    if channel not in CHANNELS:
        raise DomainError(_("Choose e-mail or SMS."), {"channel": [_("Choose e-mail or SMS.")]})
    errors = FieldErrors()
    raw = (address or "").strip()
    if not raw:
        errors.add(field_name, _("Enter an address."))
    elif channel == "email":
        clean_email(errors, field_name, raw)
    else:
        clean_phone(errors, field_name, raw, _region())
    errors.raise_if_any()
    return normalise(channel, raw)


def _text(value: str | None, limit: int, field_name: str, *, required: bool, label) -> str:
    text = " ".join((value or "").split())
    if CONTROL_CHARS.search(text):
        text = CONTROL_CHARS.sub("", text)
    if required and not text:
        raise DomainError(
            _("%(field)s is required.", field=label),
            {field_name: [_("%(field)s is required.", field=label)]},
        )
    if len(text) > limit:
        message = ngettext(
            "%(field)s is too long: %(num)s character, at most %(limit)s.",
            "%(field)s is too long: %(num)s characters, at most %(limit)s.",
            len(text),
            field=label,
            limit=limit,
        )
        raise DomainError(message, {field_name: [message]})
    return text


def clean_source(value: str | None, *, required: bool = True) -> str:
    """A consent's source as typed ("form on the website 04.12.2026", "signed paper")."""
    return _text(value, SOURCE_MAX, "source", required=required, label=_("Source"))


def clean_note(value: str | None, *, required: bool = False) -> str:
    return _text(value, NOTE_MAX, "note", required=required, label=_("Note"))


def consent_moment(on: date | datetime | None) -> datetime:
    """When a consent was given: now for none or today; a past day as its start in the site's
    zone (stored as naive UTC); a future day is refused."""
    if on is None:
        return utcnow()
    if isinstance(on, datetime):
        moment = on
    else:
        if on > site_today():
            message = _("The date of the consent cannot be in the future.")
            raise DomainError(message, {"on": [message]})
        if on == site_today():
            return utcnow()
        moment = from_zone(datetime.combine(on, time()), current_app.config["DEFAULT_TIMEZONE"])
    if moment > utcnow():
        message = _("The date of the consent cannot be in the future.")
        raise DomainError(message, {"on": [message]})
    return moment


# --- subscribers: consent and language -------------------------------------------------------


def subscriber(channel: str, address_norm: str) -> Subscriber | None:
    return db.session.execute(
        select(Subscriber).where(
            Subscriber.channel == channel, Subscriber.address_norm == address_norm
        )
    ).scalar_one_or_none()


def _subscriber_for(
    channel: str,
    address: str,
    partner_id: int | None,
    contact_person_id: int | None,
) -> Subscriber:
    """The address's Subscriber row, made when there is none (a concurrent writer making the
    same row at the same moment is not an error: both then use the one row)."""
    norm = normalise(channel, address)
    if not norm:
        raise DomainError(_("Enter an address."), {"address": [_("Enter an address.")]})
    found = subscriber(channel, norm)
    if found is None:
        now = utcnow()
        db.session.execute(
            dialect_insert(Subscriber.__table__)
            .values(
                channel=channel,
                address=address.strip()[:320],
                address_norm=norm[:320],
                language="",
                consent=False,
                consent_source="",
                withdrawn_source="",
                partner_id=partner_id,
                contact_person_id=contact_person_id,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["channel", "address_norm"])
        )
        found = subscriber(channel, norm)
    if found.partner_id is None and partner_id is not None:
        found.partner_id = partner_id
        found.contact_person_id = contact_person_id
    return found


def _root(sub: Subscriber):
    """The record whose history shows the change: the partner whose address it is."""
    if sub.partner_id is not None:
        from crm.partners.models import Partner

        partner = db.session.get(Partner, sub.partner_id)
        if partner is not None:
            return partner
    return sub


def _check_actor(actor) -> None:
    # None: the recipient himself (a signed link, an SMS STOP) or the system (a bounce).
    if actor is not None:
        require(actor, "messaging.consent", message=_("You may not change consents."))


def _snapshot(sub: Subscriber) -> dict:
    return {
        "consent": sub.consent,
        "consent_at": sub.consent_at,
        "consent_source": sub.consent_source,
        "withdrawn_at": sub.withdrawn_at,
        "withdrawn_source": sub.withdrawn_source,
    }


def grant_consent(
    actor,
    channel: str,
    address: str,
    *,
    source: str,
    on: date | datetime | None = None,
    partner_id: int | None = None,
    contact_person_id: int | None = None,
) -> Subscriber:
    """Record the address's consent to advertising on `channel`, given `on` (now by default)
    as `source` says. A standing consent is left as it is."""
    _check_actor(actor)
    source = clean_source(source)
    moment = consent_moment(on)
    sub = _subscriber_for(channel, address, partner_id, contact_person_id)
    if sub.consent:
        return sub
    old = _snapshot(sub)
    sub.consent, sub.consent_at, sub.consent_source = True, moment, source
    db.session.flush()
    audit.record(
        actor,
        "consent_granted",
        sub,
        root=_root(sub),
        changes=audit.diff(old, _snapshot(sub)),
        summary=f"consent to advertising by {channel}: {sub.address_norm} ({source})",
    )
    return sub


def withdraw_consent(
    actor,
    channel: str,
    address: str,
    *,
    source: str,
    partner_id: int | None = None,
    contact_person_id: int | None = None,
) -> Subscriber:
    """Record that the address withdrew (or refused) its consent to advertising. An address
    without a consent gets its refusal recorded once; withdrawing again changes nothing."""
    _check_actor(actor)
    source = clean_source(source)
    sub = _subscriber_for(channel, address, partner_id, contact_person_id)
    if not sub.consent and sub.withdrawn_at is not None:
        return sub
    old = _snapshot(sub)
    sub.consent, sub.withdrawn_at, sub.withdrawn_source = False, utcnow(), source
    db.session.flush()
    audit.record(
        actor,
        "consent_withdrawn",
        sub,
        root=_root(sub),
        changes=audit.diff(old, _snapshot(sub)),
        summary=f"consent to advertising by {channel} withdrawn: {sub.address_norm} ({source})",
    )
    return sub


def set_language(
    actor,
    channel: str,
    address: str,
    language: str,
    *,
    partner_id: int | None = None,
    contact_person_id: int | None = None,
) -> Subscriber:
    """The language messages to the address are written in ("": none, Russian is used)."""
    _check_actor(actor)
    language = (language or "").strip()
    if language and language not in LANGUAGES:
        message = _("Choose Russian or English.")
        raise DomainError(message, {"language": [message]})
    sub = _subscriber_for(channel, address, partner_id, contact_person_id)
    if sub.language == language:
        return sub
    old = sub.language
    sub.language = language
    db.session.flush()
    audit.record(
        actor,
        "language",
        sub,
        root=_root(sub),
        changes={"language": [old, language]},
        summary=f"language of {sub.address_norm}: {language or 'default'}",
    )
    return sub


# --- group opt-outs --------------------------------------------------------------------------


def _opt_out_row(group: MailingGroup, channel: str, norm: str) -> GroupOptOut | None:
    return db.session.execute(
        select(GroupOptOut).where(
            GroupOptOut.group_id == group.id,
            GroupOptOut.channel == channel,
            GroupOptOut.address_norm == norm,
        )
    ).scalar_one_or_none()


def _root_of_address(channel: str, norm: str, fallback):
    sub = subscriber(channel, norm)
    return _root(sub) if sub is not None else fallback


def opt_out(actor, group: MailingGroup, channel: str, address: str, *, source: str = "") -> bool:
    """The address no longer gets `group`'s messages; True when it was not opted out yet."""
    _check_actor(actor)
    source = clean_source(source, required=False)
    norm = normalise(channel, address)
    if not norm:
        raise DomainError(_("Enter an address."), {"address": [_("Enter an address.")]})
    if _opt_out_row(group, channel, norm) is not None:
        return False
    db.session.execute(
        dialect_insert(GroupOptOut.__table__)
        .values(
            group_id=group.id,
            channel=channel,
            address_norm=norm,
            source=source,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["group_id", "channel", "address_norm"])
    )
    row = _opt_out_row(group, channel, norm)
    audit.record(
        actor,
        "opt_out",
        row,
        root=_root_of_address(channel, norm, row),
        changes={"group": [None, group.name], "address": [None, norm]},
        summary=f"{norm} opted out of {group.name}" + (f" ({source})" if source else ""),
    )
    return True


def opt_in(actor, group: MailingGroup, channel: str, address: str) -> bool:
    """The address gets `group`'s messages again; True when it had opted out."""
    _check_actor(actor)
    norm = normalise(channel, address)
    row = _opt_out_row(group, channel, norm) if norm else None
    if row is None:
        return False
    audit.record(
        actor,
        "opt_in",
        row,
        root=_root_of_address(channel, norm, row),
        changes={"group": [group.name, None], "address": [norm, None]},
        summary=f"{norm} opted in to {group.name} again",
    )
    db.session.delete(row)
    db.session.flush()
    return True


def set_opt_outs(
    actor, channel: str, address: str, shown: list[MailingGroup], out_ids: set[int]
) -> int:
    """Opt the address out of the groups of `shown` whose ids are in `out_ids` and back into
    the others of `shown` (a form's checkboxes); returns the number of changes."""
    changed = 0
    for group in shown:
        if group.id in out_ids:
            changed += opt_out(actor, group, channel, address)
        else:
            changed += opt_in(actor, group, channel, address)
    return changed


# --- the suppression list --------------------------------------------------------------------


def suppression(channel: str, address_norm: str) -> Suppression | None:
    return db.session.execute(
        select(Suppression).where(
            Suppression.channel == channel, Suppression.address_norm == address_norm
        )
    ).scalar_one_or_none()


def suppress(
    actor,
    channel: str,
    address: str,
    reason: str,
    *,
    note: str = "",
    message_id: int | None = None,
) -> bool:
    """Put the address on the suppression list: nothing is sent to it again. True when it was
    not there yet (an address already there keeps its first reason)."""
    _check_actor(actor)
    if reason not in SUPPRESSION_REASONS:
        raise ValueError(reason)
    if actor is None:
        # The system's own note (an SMTP server's long answer to a bounce) is cut, never a
        # reason to lose the suppression.
        note = CONTROL_CHARS.sub("", " ".join((note or "").split()))[:NOTE_MAX]
    else:
        note = clean_note(note)
    norm = normalise(channel, address)
    if not norm:
        raise DomainError(_("Enter an address."), {"address": [_("Enter an address.")]})
    if suppression(channel, norm) is not None:
        return False
    db.session.execute(
        dialect_insert(Suppression.__table__)
        .values(
            channel=channel,
            address_norm=norm,
            reason=reason,
            note=note,
            message_id=message_id,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["channel", "address_norm"])
    )
    row = suppression(channel, norm)
    audit.record(
        actor,
        "suppress",
        row,
        root=_root_of_address(channel, norm, row),
        changes={"address": [None, norm], "reason": [None, reason], "note": [None, note]},
        summary=f"{norm} ({channel}) suppressed: {reason}",
    )
    return True


def unsuppress(actor, channel: str, address: str, *, note: str = "") -> bool:
    """Take the address off the suppression list; True when it was on it. A bounced address
    or a complaint only by admins and marketers, with a note saying why."""
    if actor is None:
        raise ValueError("only a person takes an address off the suppression list")
    _check_actor(actor)
    norm = normalise(channel, address)
    row = suppression(channel, norm) if norm else None
    if row is None:
        return False
    restricted = row.reason in RESTRICTED_REASONS
    if restricted:
        require(
            actor,
            "messaging.edit",
            message=_("Only administrators and marketers may lift a bounce or a complaint."),
        )
    note = clean_note(note, required=restricted)
    audit.record(
        actor,
        "unsuppress",
        row,
        root=_root_of_address(channel, norm, row),
        changes={"address": [norm, None], "reason": [row.reason, None], "note": [row.note, note]},
        summary=f"{norm} ({channel}) taken off the suppression list"
        + (f": {note}" if note else ""),
    )
    db.session.delete(row)
    db.session.flush()
    return True


@dataclass
class Pasted:
    """What adding pasted addresses to the suppression list did."""

    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)  # on the list already
    invalid: list[str] = field(default_factory=list)  # not an address of the channel


def split_addresses(text: str) -> list[str]:
    """Addresses pasted one per line, or separated by commas, semicolons or spaces (e-mail);
    one per line or separated by commas or semicolons (phones hold spaces)."""
    lines = (text or "").replace(";", "\n").replace(",", "\n").splitlines()
    return [line.strip() for line in lines if line.strip()]


def suppress_many(actor, channel: str, text: str, *, note: str = "") -> Pasted:
    """Add pasted addresses to the suppression list by hand (reason "manual"). Nothing is
    written when any of them is not an address: the user corrects the list and sends it again."""
    if channel not in CHANNELS:
        raise DomainError(_("Choose e-mail or SMS."), {"channel": [_("Choose e-mail or SMS.")]})
    note = clean_note(note)
    items = split_addresses(text)
    if channel == "email":
        items = [word for item in items for word in item.split()]
    if not items:
        raise DomainError(_("Enter an address."), {"addresses": [_("Enter an address.")]})
    if len(items) > PASTE_MAX:
        message = _("At most %(num)s addresses at once.", num=PASTE_MAX)
        raise DomainError(message, {"addresses": [message]})
    result = Pasted()
    norms: dict[str, str] = {}
    for item in items:
        try:
            norm = checked_address(channel, item)
        except DomainError:
            result.invalid.append(item)
            continue
        norms.setdefault(norm, item)
    if result.invalid:
        shown = ", ".join(result.invalid[:10]) + (" …" if len(result.invalid) > 10 else "")
        message = ngettext(
            "Not an address: %(items)s. Nothing was added.",
            "Not addresses: %(items)s. Nothing was added.",
            len(result.invalid),
            items=shown,
        )
        raise DomainError(message, {"addresses": [message]})
    for norm, raw in norms.items():
        if suppress(actor, channel, raw, "manual", note=note):
            result.added.append(norm)
        else:
            result.present.append(norm)
    return result
