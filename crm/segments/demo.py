"""Demo segments for `crm demo`: a few of the team's usual ones, so a first look at Segments
finds something to open — a periodic "overdue debt" segment of the marketer's (refreshed at
once), dynamic "active" and "potential" clients from the templates, and a manual call list of
a manager's, filled once from his biggest clients. A second run leaves existing ones alone."""

from __future__ import annotations

from sqlalchemy import select

from crm.core.policy import may
from crm.segments.models import Segment
from crm.segments.presets import get_preset
from crm.segments.services import create_segment

NAMES = {
    "ru": {
        "overdue": "Клиенты с просроченной задолженностью",
        "active": "Активные клиенты",
        "potential": "Потенциальные клиенты",
        "calls": "Обзвон: крупные клиенты",
    },
    "en": {
        "overdue": "Clients with overdue debt",
        "active": "Active clients",
        "potential": "Potential clients",
        "calls": "Calls: large clients",
    },
}
LARGE = "100000"  # a year's revenue that makes a client "large" in the demo's call list


def make_segments_demo(fake, rng, users, *, n_partners: int, language: str) -> None:
    from crm.extensions import db

    names = NAMES[language]
    # The marketing segments' owner: one who shapes any segment but owns no clients (the
    # marketer); the call list's: one who owns clients and assigns none (a manager).
    marketer = next(
        (u for u in users if may(u, "segments.edit") and not may(u, "records.own")), None
    )
    manager = next(
        (u for u in users if may(u, "records.own") and not may(u, "records.assign")), None
    )
    existing = set(db.session.execute(select(Segment.name)).scalars())
    wanted = [
        ("overdue", marketer, "periodic", "overdue"),
        ("active", marketer, "dynamic", "active"),
        ("potential", marketer, "dynamic", "potential"),
    ]
    for key, owner, kind, preset_key in wanted:
        preset = get_preset(preset_key)
        if preset is None or names[key] in existing:
            continue
        create_segment(
            owner,
            names[key],
            kind,
            preset.rule,
            schedule="daily" if kind == "periodic" else None,
            description=str(preset.description),
        )
    if names["calls"] not in existing and manager is not None:
        rule = {
            "all": [
                {"type": "partner.manager", "managers": [manager.id]},
                {
                    "type": "sales.figure",
                    "metric": "revenue",
                    "compare": "at_least",
                    "value": LARGE,
                    "days": 365,
                },
            ]
        }
        create_segment(manager, names["calls"], "manual", rule)
    db.session.flush()
