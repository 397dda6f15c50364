"""A small shop for the segment filter and the selections, built by hand so that every stage,
class, deal and debt below is known without the code under test.

Partners (all clients, created 2025-01-01; Анна's unless said):
    P1  Москва  1000 a month, 15.07.2025–15.09.2026 (product PX)
    P2  Москва   100 a month, 15.07.2025–15.06.2026 (product PY)
    P3  Казань   100 a month, as P2 — Борис's
    P4  Казань   100 a month, as P2 — nobody's
    P5  Казань   300 once, 15.08.2026 (product PY)
Stages (W = 12, L = 6): P1 regular X at 30.06.2026 and at 30.09.2026; P2, P3, P4 regular X
then regular Y (9 months of 12 with sales: CV 57.7 %); P5 potential then one-time.
ABC/XYZ of partners by revenue, 01.10.2025–30.09.2026: P1 12000 (A, X), P2–P4 900 each
(B, Y: the share before P2 is 80 %, before P4 92 %), P5 300 (C, Z); total 15000.
Deals of the kind «Продажа» (Квалификация 1, Предложение 2, Договор 3), created 10.01.2026:
    D1 P1 at 2 (Анна), D2 P2 at 3 (Анна), D3 P3 at 1 (Борис), D4 P4 lost at 2 (nobody),
    D5 P1 at 3 (Анна).
Meetings: I1 P1 (Анна), I2 P2 (Анна), I3 P3 (Борис), I4 without a partner (Анна).
Nothing is paid: each partner owes all it bought, overdue (due on the document's date).
Segments: «Избранные» (manual: P1, P3), «Тройка» (manual: P2, P3, P5), «Москва» (dynamic:
city Москва — P1, P2), «Сломанный» (dynamic: member of a segment deleted since)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pytest

from crm.extensions import db
from crm.segments.services import add_members, create_segment, delete_segment
from tests.factories import (
    create_deal,
    create_deal_kind,
    create_document,
    create_interaction,
    create_partner,
    create_product,
)


@dataclass
class Shop:
    anna: object
    boris: object
    p: dict  # code → partner id
    deals: dict  # D1… → deal number
    interactions: dict  # I1… → title
    kind_id: int
    chosen: int  # «Избранные»
    three: int  # «Тройка»
    moscow: int  # «Москва»
    broken: int  # «Сломанный»

    def code_of(self, partner_id: int) -> str:
        return {v: k for k, v in self.p.items()}[partner_id]


def _months(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day = date(day.year + day.month // 12, day.month % 12 + 1, 15)


@pytest.fixture
def shop(app, make_user) -> Shop:
    anna, boris = make_user("manager", name="Анна"), make_user("manager", name="Борис")
    px, py = create_product("PX", commit=False), create_product("PY", commit=False)
    spec = {
        "P1": ("Москва", anna),
        "P2": ("Москва", anna),
        "P3": ("Казань", boris),
        "P4": ("Казань", None),
        "P5": ("Казань", anna),
    }
    partners = {}
    for code, (city, owner) in spec.items():
        partners[code] = create_partner(
            f"Клиент {code}",
            code=code,
            city=city,
            responsible=owner,
            is_client=True,
            created_on=date(2025, 1, 1),
            phones=[f"+7 900 000-00-0{code[1]}"],
            commit=False,
        )
    for day in _months(date(2025, 7, 15), date(2026, 9, 15)):
        create_document(partners["P1"], [1000], date=day, product=px, commit=False)
    for code in ("P2", "P3", "P4"):
        for day in _months(date(2025, 7, 15), date(2026, 6, 15)):
            create_document(partners[code], [100], date=day, product=py, commit=False)
    create_document(partners["P5"], [300], date=date(2026, 8, 15), product=py, commit=False)
    db.session.commit()

    kind = create_deal_kind("Продажа", stages=("Квалификация", "Предложение", "Договор"))
    deals = {
        "D1": create_deal(partners["P1"], kind, anna, stage=2, deal_no="D1", commit=False),
        "D2": create_deal(partners["P2"], kind, anna, stage=3, deal_no="D2", commit=False),
        "D3": create_deal(partners["P3"], kind, boris, stage=1, deal_no="D3", commit=False),
        "D4": create_deal(
            partners["P4"], kind, None, stage=2, status="lost", deal_no="D4", commit=False
        ),
        "D5": create_deal(partners["P1"], kind, anna, stage=3, deal_no="D5", commit=False),
    }
    when = datetime(2026, 3, 2, 9, 0)
    interactions = {}
    for key, owner, code in (
        ("I1", anna, "P1"),
        ("I2", anna, "P2"),
        ("I3", boris, "P3"),
        ("I4", anna, None),
    ):
        interactions[key] = create_interaction(
            owner,
            kind="meeting",
            partner=partners[code] if code else None,
            starts_at=when,
            title=f"Разговор {key}",
            commit=False,
        ).title
    db.session.commit()

    ids = {code: p.id for code, p in partners.items()}
    chosen = create_segment(None, "Избранные", "manual")
    add_members(None, chosen, [ids["P1"], ids["P3"]])
    three = create_segment(None, "Тройка", "manual")
    add_members(None, three, [ids["P2"], ids["P3"], ids["P5"]])
    moscow = create_segment(
        None, "Москва", "dynamic", {"type": "partner.city", "cities": ["Москва"]}
    )
    gone = create_segment(None, "Удалённый", "manual")
    broken = create_segment(
        None, "Сломанный", "dynamic", {"type": "segment.member", "segments": [gone.id]}
    )
    delete_segment(None, gone)
    db.session.commit()
    return Shop(
        anna,
        boris,
        ids,
        {k: d.deal_no for k, d in deals.items()},
        interactions,
        kind.id,
        chosen.id,
        three.id,
        moscow.id,
        broken.id,
    )
