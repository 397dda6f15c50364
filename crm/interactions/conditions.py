"""Segment conditions over interactions (crm.core.conditions), registered by interactions,
which owns them: "no contact for N days".

A contact is an interaction with the partner that took place: status «Completed» (a planned
call nobody made, a deferred or cancelled meeting is no contact), dated by its start. The N
days are whole days of the site's zone ending on the rule's date; interactions after that day
do not count (a rule evaluated as of an earlier date sees the contacts up to it)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, not_

from crm.core.conditions import ConditionType, Param
from crm.core.timeutil import from_zone
from crm.interactions.models import KINDS, Interaction
from crm.partners.models import Partner

CONTACT_STATUS = "completed"


def _no_contact(values):
    zone = current_app.config["DEFAULT_TIMEZONE"]
    last = values["as_of"]
    first = last - timedelta(days=values["days"] - 1)
    # Naive UTC, as starts_at is stored: the site's midnights that bound the days.
    start = from_zone(datetime.combine(first, time.min), zone)
    end = from_zone(datetime.combine(last + timedelta(days=1), time.min), zone)
    conditions = [
        Interaction.partner_id == Partner.id,
        Interaction.status == CONTACT_STATUS,
        Interaction.starts_at >= start,
        Interaction.starts_at < end,
    ]
    if values["kinds"] is not None:
        conditions.append(Interaction.kind.in_(values["kinds"]))
    # A partner never contacted matches too.
    return not_(exists().where(*conditions))


CONDITIONS = (
    ConditionType(
        "interactions.no_contact",
        _l("No contact for N days"),
        (
            Param("days", "int", minimum=1, maximum=36_600, title=_l("Days")),
            Param(
                "kinds",
                "choices",
                required=False,
                choices=tuple(KINDS),
                title=_l("Kinds"),
                labels=KINDS,
            ),
        ),
        _no_contact,
        order=60,
    ),
)
