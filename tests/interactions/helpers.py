"""Helpers shared by the interaction tests: the form's data, the listed titles, interactions
made through the shared factory."""

from __future__ import annotations

import html
import re
from datetime import datetime

from sqlalchemy import select

from crm.extensions import db
from crm.interactions.models import Interaction
from tests.factories import create_interaction
from tests.partners.helpers import HX, text

_TITLE = re.compile(
    r'class="fw-semibold me-auto interaction-title" href="/interactions/\d+">(.*?)</a>'
)


def form(**overrides) -> dict:
    """What the interaction form posts for an outgoing call; `overrides` change fields."""
    data = {
        "kind": "call",
        "status": "completed",
        "title": "",
        "responsible_id": "",
        "partner_id": "",
        "contact_person_id": "",
        "contact_text": "",
        "direction": "outgoing",
        "address": "",
        "starts_at": "2026-11-30T10:00",
        "duration_minutes": "5",
        "follow_up_at": "",
        "remind_minutes": "15",
        "outcome": "",
        "subject_type": "",
        "subject_id": "",
        "subject_text": "",
        "description": "",
        "parent_id": "",
    }
    data.update(overrides)
    return {key: str(value) for key, value in data.items()}


def stored() -> list[Interaction]:
    """Every interaction as the database has it now, by id."""
    db.session.expire_all()
    return list(db.session.execute(select(Interaction).order_by(Interaction.id)).scalars())


def titles(response) -> list[str]:
    """The titles of the listed rows, in order."""
    return titles_in(text(response))


def titles_in(page: str) -> list[str]:
    """The titles of the rows in a page or a piece of one, in order."""
    return [html.unescape(t) for t in _TITLE.findall(page)]


def listed(client, query: str = "", fragment: bool = False) -> list[str]:
    """Titles listed for a query string, from the full page or the HTMX fragment."""
    response = client.get(f"/interactions/?{query}", headers=HX if fragment else None)
    assert response.status_code == 200
    assert ("<html" in text(response)) is not fragment
    return titles(response)


def add_interaction(
    responsible,
    starts_at: datetime,
    minutes: int = 30,
    *,
    title=None,
    kind="meeting",
    status="planned",
    participants=(),
    **fields,
) -> Interaction:
    """A meeting of `minutes` at `starts_at` (naive UTC), through the shared factory."""
    if status == "completed":
        fields.setdefault("completed_at", starts_at)
    return create_interaction(
        responsible,
        kind=kind,
        starts_at=starts_at,
        status=status,
        title=title or f"Meeting at {starts_at:%m-%d %H:%M}",
        duration_minutes=minutes,
        participants=participants,
        **fields,
    )
