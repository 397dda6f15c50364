"""Conditions over the partner's own fields (role, kind, city, manager, tags, created date,
contact details present, preferences: the preferred channel and the channels the partner asked
not to be contacted by), registered by segments itself: partners is below it and knows
nothing of segments. Each builds an SQL condition on `partner.id`'s row with bound values."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select

from crm.core.conditions import ConditionType, Param
from crm.core.text import fold
from crm.partners.labels import CHANNEL_TITLES, CONTACT_KIND_TITLES, KIND_TITLES, ROLE_TITLES
from crm.partners.listing import filter_options
from crm.partners.models import (
    CHANNELS,
    CONTACT_KINDS,
    PARTNER_KINDS,
    PARTNER_ROLES,
    ContactDetail,
    Partner,
    Tag,
    partner_tag,
)


def _manager_options() -> list[tuple[int, str]]:
    managers, _tags = filter_options()
    return managers


def _role(values):
    return or_(*(getattr(Partner, f"is_{role}").is_(True) for role in values["roles"]))


def _kind(values):
    return Partner.kind == values["kind"]


def _city(values):
    # Cities compare folded (case and ё/е), as the partner list's city filter does.
    return Partner.city_norm.in_([fold(c) for c in values["cities"]])


def _manager(values):
    # Two-valued (never NULL): "not managed by m" then holds for partners nobody manages.
    return and_(Partner.responsible_id.is_not(None), Partner.responsible_id.in_(values["managers"]))


def _no_manager(values):
    return Partner.responsible_id.is_(None)


def _tags(values):
    wanted = select(Tag.id).where(Tag.name_norm.in_([fold(t) for t in values["tags"]]))
    return exists().where(partner_tag.c.partner_id == Partner.id, partner_tag.c.tag_id.in_(wanted))


def _created(values):
    conditions = []
    if values["from"] is not None:
        conditions.append(Partner.created_on >= values["from"])
    if values["to"] is not None:
        conditions.append(Partner.created_on <= values["to"])
    return and_(*conditions) if conditions else Partner.id.is_not(None)


def _has_contact(values):
    return exists().where(
        ContactDetail.partner_id == Partner.id, ContactDetail.kind == values["kind"]
    )


def _channel(values):
    return Partner.preferred_channel.in_(values["channels"])


# The partner's "do not …" flags by the channel they close (the card's preferences).
REFUSED = {
    "email": Partner.do_not_email,
    "phone": Partner.do_not_call,
    "sms": Partner.do_not_sms,
    "mail": Partner.do_not_mail,
}


def _do_not_contact(values):
    # Any of the channels: "may be e-mailed" is {"not": {… "channels": ["email"]}}.
    return or_(*(REFUSED[c].is_(True) for c in values["channels"]))


CONDITIONS = (
    ConditionType(
        "partner.role",
        _l("Role"),
        (Param("roles", "choices", choices=PARTNER_ROLES, title=_l("Roles"), labels=ROLE_TITLES),),
        _role,
        order=10,
    ),
    ConditionType(
        "partner.kind",
        _l("Company or person"),
        (Param("kind", "choice", choices=PARTNER_KINDS, title=_l("Kind"), labels=KIND_TITLES),),
        _kind,
        order=11,
    ),
    ConditionType(
        "partner.city", _l("City"), (Param("cities", "texts", title=_l("Cities")),), _city, order=12
    ),
    ConditionType(
        "partner.manager",
        _l("Responsible manager"),
        (Param("managers", "ids", title=_l("Managers"), options=_manager_options),),
        _manager,
        order=13,
    ),
    ConditionType("partner.no_manager", _l("Nobody responsible"), (), _no_manager, order=14),
    ConditionType(
        "partner.tags",
        _l("Has a tag"),
        (Param("tags", "texts", title=_l("Tags")),),
        _tags,
        order=15,
    ),
    ConditionType(
        "partner.created",
        _l("Created between"),
        (
            Param("from", "date", required=False, title=_l("From")),
            Param("to", "date", required=False, title=_l("To")),
        ),
        _created,
        order=16,
    ),
    ConditionType(
        "partner.has_contact",
        _l("Has a contact detail"),
        (
            Param(
                "kind",
                "choice",
                choices=CONTACT_KINDS,
                title=_l("Kind"),
                labels=CONTACT_KIND_TITLES,
            ),
        ),
        _has_contact,
        order=17,
    ),
    ConditionType(
        "partner.channel",
        _l("Preferred channel"),
        (
            Param(
                "channels", "choices", choices=CHANNELS, title=_l("Channels"), labels=CHANNEL_TITLES
            ),
        ),
        _channel,
        order=18,
    ),
    ConditionType(
        "partner.do_not_contact",
        _l("Asked not to be contacted by"),
        (
            Param(
                "channels",
                "choices",
                choices=tuple(REFUSED),
                title=_l("Channels"),
                labels={c: CHANNEL_TITLES[c] for c in REFUSED},
            ),
        ),
        _do_not_contact,
        order=19,
    ),
)
