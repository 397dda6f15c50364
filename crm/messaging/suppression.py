"""The global suppression list: addresses nothing is sent to again (a bounce, an unsubscribe, an
SMS STOP, a spam complaint, or added by hand), each with its reason; putting one on it, taking
it off, and pasting many at once. Consent, language and group opt-outs are
crm.messaging.consent's.

Every change is recorded in the audit log with the acting user, or none when the system did it
(a bounce) or the recipient himself (a signed link, the SMS gateway). Lifting a bounce or a
complaint needs `messaging.edit` and a note. Addresses are normalised as in
crm.messaging.consent; every function is idempotent: suppressing a suppressed address changes
nothing and records nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from crm.core import audit
from crm.core.errors import DomainError
from crm.core.keys import dialect_insert
from crm.core.policy import require
from crm.core.text import CONTROL_CHARS
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging.consent import (
    check_actor,
    checked_address,
    clean_text,
    normalise,
    required_norm,
    root_of_address,
)
from crm.messaging.models import CHANNELS, SUPPRESSION_REASONS, Suppression

NOTE_MAX = 500  # Suppression.note
# Reasons only admins and marketers may lift, and only with a note saying why: mailing a
# dead address again hurts the sender's reputation, and a complaint is a clear "no".
RESTRICTED_REASONS = ("bounced", "complaint")
# Addresses pasted into the suppression list at once.
PASTE_MAX = 5000


def clean_note(value: str | None, *, required: bool = False) -> str:
    return clean_text(value, NOTE_MAX, "note", required=required, label=_("Note"))


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
    check_actor(actor)
    if reason not in SUPPRESSION_REASONS:
        raise ValueError(reason)
    if actor is None:
        # The system's own note (an SMTP server's long answer to a bounce) is cut, never a
        # reason to lose the suppression.
        note = CONTROL_CHARS.sub("", " ".join((note or "").split()))[:NOTE_MAX]
    else:
        note = clean_note(note)
    norm = required_norm(channel, address)
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
        root=root_of_address(channel, norm, row),
        changes={"address": [None, norm], "reason": [None, reason], "note": [None, note]},
        summary=f"{norm} ({channel}) suppressed: {reason}",
    )
    return True


def unsuppress(actor, channel: str, address: str, *, note: str = "") -> bool:
    """Take the address off the suppression list; True when it was on it. A bounced address
    or a complaint only by admins and marketers, with a note saying why."""
    if actor is None:
        raise ValueError("only a person takes an address off the suppression list")
    check_actor(actor)
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
        root=root_of_address(channel, norm, row),
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
