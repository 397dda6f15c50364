"""Recipient lists: the partners of a mailing (its partner scope, such as a segment, resolved
now, and those added by hand), their addresses on the mailing's channel, de-duplicated, with
the addresses that may not be sent to skipped and counted.

Whom a partner's mailing reaches: every address of the channel's kind (e-mail; phone for SMS)
of the partner itself and of its contact persons. Counted as skipped:
- no_address: partners with no such address at all;
- do_not_contact: addresses of partners marked "do not e-mail" / "do not SMS";
- duplicate: an address already reached through another partner or contact in this list;
- suppressed, opted_out, no_consent: see crm.messaging.eligibility (advertising groups need
  the address's consent; service groups do not).
An address belongs to the first contact that has it (partners by id, the partner's own
addresses before its contact persons')."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, literal, select, union_all

from crm.core.filters import Ignored
from crm.core.message_placeholders import Recipient
from crm.core.partner_scope import PARTNER_SCOPES
from crm.extensions import db
from crm.messaging import eligibility
from crm.messaging.models import ADDRESS_KINDS, Mailing, MailingGroup, MailingPartner
from crm.partners.models import ContactDetail, ContactPerson, Partner

SKIP_REASONS = ("no_address", "do_not_contact", "duplicate", *eligibility.REASONS)
DO_NOT = {"email": Partner.do_not_email, "sms": Partner.do_not_sms}


@dataclass
class Resolution:
    recipients: list[Recipient]
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    partners: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


class ScopeError(ValueError):
    """The mailing's scope cannot be resolved (its segment was deleted, …): `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def scope_select(key: str, value: str, user=None):
    """The SELECT of the partner ids a registered partner scope's value names (all of them
    without a user); ScopeError when the scope or its value is unknown."""
    scope = PARTNER_SCOPES.of().get(key)
    if scope is None:
        raise ScopeError(f"unknown recipient list {key!r}")
    try:
        return scope.partner_ids(int(value) if value.isdigit() else value, user)
    except Ignored as exc:
        raise ScopeError(str(exc)) from None


def partner_select(mailing: Mailing, user=None):
    """The SELECT of the ids of a mailing's partners: its scope's and those added by hand."""
    parts = [select(MailingPartner.partner_id).where(MailingPartner.mailing_id == mailing.id)]
    if mailing.scope_key:
        parts.append(scope_select(mailing.scope_key, mailing.scope_value, user))
    return union_all(*parts) if len(parts) > 1 else parts[0]


def resolve(mailing: Mailing, user=None) -> Resolution:
    """The recipients of `mailing` now (the partners `user` may see, for a preview)."""
    return resolve_partners(mailing.channel, mailing.group, partner_select(mailing, user))


def resolve_partners(channel: str, group: MailingGroup | None, partner_ids) -> Resolution:
    """The recipients on `channel` of a message of `group` to the partners `partner_ids` (a
    SELECT of ids, or a list)."""
    kind = ADDRESS_KINDS[channel]
    ids = partner_ids.subquery() if hasattr(partner_ids, "subquery") else None
    in_list = (
        Partner.id.in_(select(ids.c[0])) if ids is not None else Partner.id.in_(list(partner_ids))
    )
    # Merged partners are gone (their rows moved to the partner they merged into).
    pids = select(Partner.id).where(in_list, Partner.merged_into_id.is_(None))
    partners = select(Partner.id, DO_NOT[channel].label("do_not")).where(
        in_list, Partner.merged_into_id.is_(None)
    )
    partner_rows = {pid: bool(do_not) for pid, do_not in db.session.execute(partners)}
    own = select(
        ContactDetail.partner_id.label("partner_id"),
        literal(None).label("person_id"),
        ContactDetail.value,
        ContactDetail.value_norm,
        ContactDetail.id.label("detail_id"),
    ).where(ContactDetail.kind == kind, ContactDetail.partner_id.in_(pids))
    persons = (
        select(
            ContactPerson.partner_id,
            ContactPerson.id,
            ContactDetail.value,
            ContactDetail.value_norm,
            ContactDetail.id,
        )
        .join(ContactDetail, and_(ContactDetail.contact_person_id == ContactPerson.id))
        .where(ContactDetail.kind == kind, ContactPerson.partner_id.in_(pids))
    )
    rows = sorted(
        db.session.execute(union_all(own, persons)).all(),
        # Partner by id; its own addresses first; then by contact person and detail id.
        key=lambda r: (r[0], r[1] is not None, r[1] or 0, r[4]),
    )
    result = Resolution([], partners=len(partner_rows))
    with_address: set[int] = set()
    seen: set[str] = set()
    candidates: list[tuple[int, int | None, str, str]] = []
    for partner_id, person_id, value, value_norm, _detail in rows:
        if partner_id not in partner_rows or not value_norm:
            continue
        with_address.add(partner_id)
        if partner_rows[partner_id]:
            result.skipped["do_not_contact"] += 1
            continue
        if value_norm in seen:
            result.skipped["duplicate"] += 1
            continue
        seen.add(value_norm)
        candidates.append((partner_id, person_id, value, value_norm))
    result.skipped["no_address"] = len(partner_rows) - len(with_address)
    blocked = eligibility.blocked(channel, group, seen)
    languages = eligibility.languages(channel, seen)
    for partner_id, person_id, value, value_norm in candidates:
        reason = blocked.get(value_norm)
        if reason:
            result.skipped[reason] += 1
            continue
        result.recipients.append(
            Recipient(
                partner_id=partner_id,
                contact_person_id=person_id,
                channel=channel,
                address=value,
                address_norm=value_norm,
                language=languages.get(value_norm, "ru"),
            )
        )
    return result
