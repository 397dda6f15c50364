"""Interactions as iCalendar (RFC 5545): a user's feed and the one-event .ics download.

Times are written in UTC (`…Z`), so no VTIMEZONE is needed: the calendar program shows them in
its own zone. Building URLs needs a request context (links to the interaction's page).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from flask import request, url_for
from icalendar import Calendar, Event

from crm.core.timeutil import utcnow
from crm.interactions.models import DIRECTIONS, Interaction

PRODID = "-//CRM//Interactions calendar//EN"
# How often calendar programs should fetch the feed again (those that honour the hint).
REFRESH = timedelta(hours=1)
# Interaction status -> VEVENT STATUS: a deferred item may still move, so it is tentative.
EVENT_STATUS = {
    "planned": "CONFIRMED",
    "in_progress": "CONFIRMED",
    "completed": "CONFIRMED",
    "deferred": "TENTATIVE",
    "cancelled": "CANCELLED",
}


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def uid_host() -> str:
    """The domain part of event UIDs: the site's host name, so the feed and a downloaded .ics
    name the same event alike."""
    return request.host.split(":")[0] or "crm"


def describe(i: Interaction) -> str:
    """The event's DESCRIPTION: kind, status, partner, contact, then the text."""
    kind = i.kind_title
    if i.direction:
        kind += f" ({DIRECTIONS.get(i.direction, i.direction).lower()})"
    lines = [f"{kind} · {i.status_title}"]
    if i.partner is not None:
        lines.append(f"Partner: {i.partner.name}")
    contact = [
        p for p in ((i.contact_person.name if i.contact_person else ""), i.contact_text) if p
    ]
    if contact:
        lines.append("Contact: " + ", ".join(contact))
    if i.address:
        lines.append(("E-mail: " if i.kind == "email" else "Phone: ") + i.address)
    if i.responsible is not None:
        lines.append(f"Responsible: {i.responsible.display_name}")
    if i.outcome:
        lines.append(f"Outcome: {i.outcome}")
    if i.description:
        lines += ["", i.description]
    return "\n".join(lines)


def event_for(i: Interaction, host: str) -> Event:
    event = Event.new(
        uid=f"interaction-{i.id}@{host}",
        # Without METHOD, DTSTAMP is when the event was last changed (RFC 5545 3.8.7.2).
        stamp=_utc(i.updated_at or i.created_at or utcnow()),
        created=_utc(i.created_at) if i.created_at else None,
        last_modified=_utc(i.updated_at) if i.updated_at else None,
        start=_utc(i.starts_at),
        # DTEND must be later than DTSTART: a zero-length call is a moment (no DTEND).
        end=_utc(i.ends_at) if i.ends_at and i.ends_at > i.starts_at else None,
        summary=i.display_title,
        description=describe(i),
        status=EVENT_STATUS.get(i.status, "CONFIRMED"),
        url=url_for("interactions.detail", interaction_id=i.id, _external=True),
        categories=[i.kind_title],
    )
    return event


def calendar_for(
    interactions: Iterable[Interaction], name: str | None = None, uid: str | None = None
) -> bytes:
    """A VCALENDAR with one VEVENT per interaction, serialised. A feed has a `name`; a file of
    one event has none (Outlook offers a named file as a calendar of its own)."""
    host = uid_host()
    cal = Calendar.new(
        prodid=PRODID, name=name, uid=uid, subcomponents=[event_for(i, host) for i in interactions]
    )
    # RFC 7986 wants the value type written out; Outlook and Apple read X-PUBLISHED-TTL.
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    if uid is None:
        del cal["UID"]  # Calendar.new makes up a random one
    return cal.to_ical()
