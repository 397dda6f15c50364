"""May an address be sent a message of a group? The one place that reads the suppression list,
the group opt-outs and the consent to advertising, for the recipient lists of mailings and for
the event notifications alike. Bulk: one query per table for a whole list of addresses."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from crm.extensions import db
from crm.messaging.models import GroupOptOut, MailingGroup, Subscriber, Suppression

# Why an address is not sent to, in the order they are checked (a suppressed address is
# counted as suppressed even if it also lacks consent).
REASONS = ("suppressed", "opted_out", "no_consent")
_CHUNK = 900  # bound parameters per IN (SQLite's limit is far above; PostgreSQL's too)


def _chunks(values: list[str]):
    for n in range(0, len(values), _CHUNK):
        yield values[n : n + _CHUNK]


def blocked(channel: str, group: MailingGroup | None, addresses: Iterable[str]) -> dict[str, str]:
    """{normalised address: reason} for the addresses that must not get a message of `group`
    on `channel`; the others are absent. Advertising needs the address's consent (given and
    not withdrawn); a service group does not, but its opt-outs and the suppression list hold."""
    wanted = sorted(set(addresses))
    reasons: dict[str, str] = {}
    for chunk in _chunks(wanted):
        stmt = select(Suppression.address_norm).where(
            Suppression.channel == channel, Suppression.address_norm.in_(chunk)
        )
        for address in db.session.execute(stmt).scalars():
            reasons[address] = "suppressed"
        if group is not None:
            stmt = select(GroupOptOut.address_norm).where(
                GroupOptOut.group_id == group.id,
                GroupOptOut.channel == channel,
                GroupOptOut.address_norm.in_(chunk),
            )
            for address in db.session.execute(stmt).scalars():
                reasons.setdefault(address, "opted_out")
    if group is None or group.kind == "advertising":
        consenting = consented(channel, wanted)
        for address in wanted:
            if address not in consenting:
                reasons.setdefault(address, "no_consent")
    return reasons


def consented(channel: str, addresses: Iterable[str]) -> set[str]:
    """The addresses whose consent to advertising on `channel` stands."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(addresses))):
        stmt = select(Subscriber.address_norm).where(
            Subscriber.channel == channel,
            Subscriber.address_norm.in_(chunk),
            Subscriber.consent.is_(True),
        )
        found.update(db.session.execute(stmt).scalars())
    return found


def languages(channel: str, addresses: Iterable[str]) -> dict[str, str]:
    """{normalised address: language} where one is recorded (else the default, Russian)."""
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(set(addresses))):
        stmt = select(Subscriber.address_norm, Subscriber.language).where(
            Subscriber.channel == channel,
            Subscriber.address_norm.in_(chunk),
            Subscriber.language != "",
        )
        found.update((a, lang) for a, lang in db.session.execute(stmt))
    return found
