"""What a message's signed links do: find the message by its key, record an open (the pixel)
or a click (the redirect), and unsubscribe its address (the unsubscribe page and the mail
programs' one-click POST, RFC 8058).

Opens and clicks are counted by one UPDATE each (count + 1, the first moment kept), so two
requests at the same moment both count and neither overwrites the other's first moment."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, update

from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging import consent, suppression, tokens
from crm.messaging.models import Mailing, MailingGroup, Message

KEY_MAX = 64  # Message.key


def find(key: str) -> Message | None:
    """The message with this key: by its key column, or — a row written without one — by
    the Message-ID made from the key with today's MAIL_FROM. Both are unique indexes."""
    if not key or len(key) > KEY_MAX:
        return None
    return db.session.execute(
        select(Message)
        .where(or_(Message.key == key, Message.rfc_message_id == tokens.rfc_message_id(key)))
        .limit(1)
    ).scalar_one_or_none()


def message_of(purpose: str, token: str) -> Message | None:
    """The message a token of `purpose` names; None for a token that is not ours."""
    found = tokens.read(purpose, token)
    return find(found[0]) if found is not None else None


def record_open(message: Message) -> None:
    """The pixel was loaded: one more open, the first one's moment kept."""
    now = utcnow()
    db.session.execute(
        update(Message)
        .where(Message.id == message.id)
        .values(
            open_count=Message.open_count + 1,
            opened_at=func.coalesce(Message.opened_at, now),
        )
        .execution_options(synchronize_session=False)
    )


def record_click(message: Message) -> None:
    """A tracked link was followed: one more click, the first one's moment kept; the message
    was opened too (its pixel may have been blocked), so opened_at is set if it was not."""
    now = utcnow()
    db.session.execute(
        update(Message)
        .where(Message.id == message.id)
        .values(
            click_count=Message.click_count + 1,
            clicked_at=func.coalesce(Message.clicked_at, now),
            opened_at=func.coalesce(Message.opened_at, now),
        )
        .execution_options(synchronize_session=False)
    )


def click_target(token: str) -> tuple[Message | None, str] | None:
    """(the message or None, the URL to go to) of a click token; None when the token is not
    ours or its URL is not an http(s) address with a host (nothing else is ever redirected
    to, so the redirect can only lead where our own e-mail linked)."""
    found = tokens.read("click", token)
    if found is None:
        return None
    key, url = found
    if not isinstance(url, str) or not is_web_url(url):
        return None
    return find(key), url


def is_web_url(url: str) -> bool:
    if any(ch in url for ch in "\r\n\t\\") or len(url) > 4000:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


# --- unsubscribing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Unsubscribe:
    """What the unsubscribe page offers for a message."""

    message: Message
    group: MailingGroup | None  # the message's group; None: advertising in general

    @property
    def masked_address(self) -> str:
        return mask(self.message.channel, self.message.address)


def unsubscribe_of(token: str) -> Unsubscribe | None:
    message = message_of("unsubscribe", token)
    if message is None:
        return None
    group_id = message.group_id
    if group_id is None and message.mailing_id is not None:
        mailing = db.session.get(Mailing, message.mailing_id)
        group_id = mailing.group_id if mailing is not None else None
    group = db.session.get(MailingGroup, group_id) if group_id is not None else None
    return Unsubscribe(message, group)


def unsubscribe(found: Unsubscribe, *, everything: bool, source: str) -> None:
    """The recipient's own "no more": from the message's group (a message without a group:
    from advertising, by withdrawing the consent), or from everything (the suppression list,
    and the consent withdrawn). Done again, it changes nothing."""
    m = found.message
    # The normalised address the recipient lists compare (normalising it again keeps it).
    address = m.address_norm or m.address
    if everything:
        suppression.suppress(None, m.channel, address, "unsubscribed", message_id=m.id)
    if everything or found.group is None:
        consent.withdraw_consent(
            None,
            m.channel,
            address,
            source=source,
            partner_id=m.partner_id,
            contact_person_id=m.contact_person_id,
        )
    else:
        consent.opt_out(None, found.group, m.channel, address, source=source)


def mask(channel: str, address: str) -> str:
    """The address with its middle hidden ("iv***@example.com", "+7 ••• •••-45-67"): the page
    says which address it is about without showing it whole to whoever has the link."""
    address = (address or "").strip()
    if channel == "email":
        local, at, domain = address.partition("@")
        if not at:
            return "***"
        shown = local[:2] if len(local) > 3 else local[:1]
        return f"{shown}***@{domain}"
    digits = [ch for ch in address if ch.isdigit()]
    if len(digits) < 5:
        return "***"
    return f"+{''.join(digits[:1])} *** ***-{''.join(digits[-4:-2])}-{''.join(digits[-2:])}"
