"""What the SMS gateway reports back (crm/messaging/sms_hooks.py calls these): replies from
recipients — STOP withdraws the number's consent and suppresses it, anything else lands in the
owning partner's history — and delivery reports of sent messages.

Every write here is idempotent (a gateway repeats a hook it got no answer to): a second STOP
changes nothing, a repeated report leaves the message as the first one did. The caller
commits."""

from __future__ import annotations

import logging
import unicodedata

from flask import current_app
from sqlalchemy import func, select

from crm.core.errors import DomainError
from crm.core.text import normalise_phone
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging.models import Message

log = logging.getLogger(__name__)

CHANNEL = "sms"
STOP_SOURCE = "SMS STOP"
# A reply that is one of these words, whatever its case, spacing and punctuation ("Stop!",
# "«СТОП»"), asks to get no more SMS. Only the whole reply: "stop by tomorrow?" is a reply to
# a manager, not an opt-out (it is put in the partner's history, where he reads it).
STOP_WORDS = frozenset({"stop", "стоп", "отписка", "unsubscribe"})
# Latin letters that look like Cyrillic ones: "CTOП" typed on two keyboard layouts is СТОП.
_LOOKALIKES = str.maketrans("aceopxykmtbh", "асеорхукмтвн")
STATUSES = ("delivered", "failed", "undeliverable")


def phone_norm(raw: str) -> str:
    """A number as contact details store it (ContactDetail.value_norm): E.164 when it parses."""
    return normalise_phone(raw, current_app.config.get("DEFAULT_PHONE_REGION", "RU"))


def is_stop(text: str) -> bool:
    """Whether a reply asks to stop the SMS (one of STOP_WORDS, see there)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    letters = "".join(ch for ch in folded if ch.isalnum())
    return letters in STOP_WORDS or letters.translate(_LOOKALIKES) in STOP_WORDS


def stop(address: str, norm: str) -> bool:
    """The number sent STOP: it goes on the suppression list (reason "stop"; an entry it has
    already, for any reason, is kept) and its consent to advertising SMS is withdrawn (a row is
    made for a number never asked, so the withdrawal's date is on record), through the consent
    and suppression services (crm/messaging/consent.py, suppression.py: audited, read back as
    the consent's history). Returns whether anything changed."""
    from crm.messaging import consent, suppression

    before = consent.subscriber(CHANNEL, norm)
    withdraw = before is None or before.consent or before.withdrawn_at is None
    changed = suppression.suppress(None, CHANNEL, norm, "stop", note=STOP_SOURCE)
    if withdraw:
        owner = _owner(norm) if before is None else None
        consent.withdraw_consent(
            None,
            CHANNEL,
            norm,
            source=STOP_SOURCE,
            partner_id=owner[0] if owner else None,
            contact_person_id=owner[1] if owner else None,
        )
        changed = True
    db.session.flush()
    return changed


def _owner(norm: str) -> tuple[int, int | None] | None:
    """(partner id, contact person id or None) of the one partner whose phone (or whose
    contact person's phone) this is; None when none or several have it."""
    from crm.partners.models import ContactDetail, ContactPerson, Partner

    owner = func.coalesce(ContactDetail.partner_id, ContactPerson.partner_id)
    rows = db.session.execute(
        select(owner, ContactDetail.contact_person_id)
        .outerjoin(ContactPerson, ContactPerson.id == ContactDetail.contact_person_id)
        .join(Partner, Partner.id == owner)
        .where(
            ContactDetail.kind == "phone",
            ContactDetail.value_norm == norm,
            Partner.merged_into_id.is_(None),
        )
        .limit(50)
    ).all()
    partners = {partner_id for partner_id, _ in rows}
    if len(partners) != 1:
        return None
    people = {person_id for _, person_id in rows}
    return partners.pop(), people.pop() if len(people) == 1 else None


def record_reply(address: str, norm: str, text: str):
    """A reply that is not STOP goes into the history of the partner owning the number (if
    exactly one does) as an incoming SMS due for an answer now, in the name of the partner's
    responsible manager, whose list of unprocessed items it then appears in. Returns the
    interaction, or None when there is no one partner with an active manager to give it to."""
    from crm.auth.models import User
    from crm.interactions.services import create_for_owner
    from crm.partners.models import Partner

    if not text.strip():
        return None
    found = _owner(norm)
    if found is None:
        return None
    partner_id, person_id = found
    partner = db.session.get(Partner, partner_id)
    manager = db.session.get(User, partner.responsible_id) if partner.responsible_id else None
    if manager is None or not manager.active:
        return None
    now = utcnow()
    try:
        return create_for_owner(
            manager,
            {
                "kind": "sms",
                "direction": "incoming",
                "status": "completed",
                "partner_id": partner_id,
                "contact_person_id": person_id,
                "address": address[:255],
                "description": text,
                "starts_at": now,
                "follow_up_at": now,
            },
        )
    except DomainError as exc:
        # The interaction's own rules refused it (the manager may no longer own clients):
        # the reply is still accepted; it is only not filed.
        log.warning("incoming SMS from %s not recorded: %s %s", norm, exc.message, exc.field_errors)
        return None


class NotSentYet(Exception):
    """A report on a message that is not (yet) recorded as sent."""


def report(provider_id: str, status: str, error: str = "") -> Message | None:
    """Apply the gateway's delivery report to the SMS with this gateway id; None when there is
    none. "delivered" sets delivered_at and the state delivered (it also overrides an earlier
    failure: reports may arrive out of order, and a delivered SMS was delivered); "failed" and
    "undeliverable" mark a sent message failed with the reason (a delivered one stays
    delivered). NotSentYet for a message in any other state."""
    message = db.session.execute(
        select(Message)
        .where(Message.provider_id == provider_id, Message.channel == CHANNEL)
        .order_by(Message.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if message is None:
        return None
    if message.state not in ("sent", "delivered", "failed"):
        raise NotSentYet(message.state)
    if status == "delivered":
        if message.delivered_at is None:
            message.delivered_at = utcnow()
        if message.state != "delivered":
            message.state = "delivered"
            message.error = ""
    elif message.state != "delivered":
        message.state = "failed"
        message.error = (f"{status}: {error}" if error else status)[:500]
    db.session.flush()
    return message
