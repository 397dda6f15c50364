"""What is known of each address, and its changes: the consent to advertising (given, with its
date and source; withdrawn, with its source), the language messages to it are written in and
the groups it opted out of. The global suppression list is crm.messaging.suppression's; the
address helpers both use (normalising, checking, the acting user's right, the record whose
history shows a change) are here.

Every change is recorded in the audit log (on the address's Subscriber row for consent and
language, so the history of a consent reads from there — consent_queries.history), with the
acting user, or none when the recipient did it himself through a signed link or the SMS
gateway (the source says so). The acting user is None for those; anyone else's rights are
checked here (`messaging.consent`), and whether he may see the partner whose address it is is
the caller's check.

Addresses are normalised as the partners' contact details are (ContactDetail.value_norm):
case-folded e-mail, E.164 phone. Every function is idempotent: granting a standing consent or
opting out twice changes nothing and records nothing."""

from __future__ import annotations

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
    GroupOptOut,
    MailingGroup,
    Subscriber,
)
from crm.partners.validation import clean_email, clean_phone

LANGUAGES = ("ru", "en")
SOURCE_MAX = 200  # Subscriber.consent_source / withdrawn_source, GroupOptOut.source


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


def required_norm(channel: str, address: str | None) -> str:
    """The address normalised; DomainError when there is nothing to normalise."""
    norm = normalise(channel, address)
    if not norm:
        raise DomainError(_("Enter an address."), {"address": [_("Enter an address.")]})
    return norm


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


def clean_text(value: str | None, limit: int, field_name: str, *, required: bool, label) -> str:
    """A short text typed by someone (a source, a note): one line, no control characters, at
    most `limit` characters; DomainError on `field_name` otherwise."""
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
    return clean_text(value, SOURCE_MAX, "source", required=required, label=_("Source"))


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
    norm = required_norm(channel, address)
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


def check_actor(actor) -> None:
    """Refused unless `actor` may change consents; None is the recipient himself (a signed
    link, an SMS STOP) or the system (a bounce), always allowed."""
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


def _record_consent(actor, sub: Subscriber, action: str, values: dict, summary: str):
    """Set the subscriber's consent `values`, recorded as `action` with what changed in the
    history of the partner whose address it is."""
    old = _snapshot(sub)
    for key, value in values.items():
        setattr(sub, key, value)
    db.session.flush()
    audit.record(
        actor,
        action,
        sub,
        root=_root(sub),
        changes=audit.diff(old, _snapshot(sub)),
        summary=summary,
    )
    return sub


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
    check_actor(actor)
    source = clean_source(source)
    moment = consent_moment(on)
    sub = _subscriber_for(channel, address, partner_id, contact_person_id)
    if sub.consent:
        return sub
    return _record_consent(
        actor,
        sub,
        "consent_granted",
        {"consent": True, "consent_at": moment, "consent_source": source},
        f"consent to advertising by {channel}: {sub.address_norm} ({source})",
    )


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
    check_actor(actor)
    source = clean_source(source)
    sub = _subscriber_for(channel, address, partner_id, contact_person_id)
    if not sub.consent and sub.withdrawn_at is not None:
        return sub
    return _record_consent(
        actor,
        sub,
        "consent_withdrawn",
        {"consent": False, "withdrawn_at": utcnow(), "withdrawn_source": source},
        f"consent to advertising by {channel} withdrawn: {sub.address_norm} ({source})",
    )


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
    check_actor(actor)
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


def root_of_address(channel: str, norm: str, fallback):
    """The record whose history shows a change to the address: its partner, else `fallback`."""
    sub = subscriber(channel, norm)
    return _root(sub) if sub is not None else fallback


def opt_out(actor, group: MailingGroup, channel: str, address: str, *, source: str = "") -> bool:
    """The address no longer gets `group`'s messages; True when it was not opted out yet."""
    check_actor(actor)
    source = clean_source(source, required=False)
    norm = required_norm(channel, address)
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
        root=root_of_address(channel, norm, row),
        changes={"group": [None, group.name], "address": [None, norm]},
        summary=f"{norm} opted out of {group.name}" + (f" ({source})" if source else ""),
    )
    return True


def opt_in(actor, group: MailingGroup, channel: str, address: str) -> bool:
    """The address gets `group`'s messages again; True when it had opted out."""
    check_actor(actor)
    norm = normalise(channel, address)
    row = _opt_out_row(group, channel, norm) if norm else None
    if row is None:
        return False
    audit.record(
        actor,
        "opt_in",
        row,
        root=root_of_address(channel, norm, row),
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
