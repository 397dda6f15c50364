"""The deal page tests' shared data: two managers' deals of two kinds, built as rows."""

from __future__ import annotations

from datetime import date

import pytest


@pytest.fixture
def desk(app, make_user, make_partner, make_deal_kind, make_deal):
    """Anna and Boris (managers), an admin and a viewer; Ромашка (Anna's) and Лютик (Boris's);
    a process kind «Поставка» (Lead → Offer → Contract) and a free kind «Сервис» (Talk,
    Quote); six deals:

    A1 Anna, Ромашка, Поставка, Lead, open, 1000, created 10.01, expected 01.03 "Поставка труб"
    A2 Anna, Ромашка, Поставка, Offer, open, 5000, created 05.02, expected 15.04 "Pipes extra"
    A3 Anna, Ромашка, Поставка, won, 7000, created 20.01, closed 10.02
    B1 Boris, Лютик, Сервис, Quote, open, 2000, created 01.03, expected 20.05, Anna takes part
    B2 Boris, Лютик, Сервис, Talk, lost (Цена), 3000, created 15.02, closed 05.03
    B3 Boris, Лютик, Поставка, Contract, open, 9000, created 10.03, expected 30.06
    """
    anna = make_user("manager", name="Анна Петрова")
    boris = make_user("manager", name="Борис Иванов")
    admin = make_user("admin", name="Админ")
    viewer = make_user("viewer", name="Зритель")
    romashka = make_partner(name="Ромашка", responsible=anna, persons=[{"name": "Ольга"}])
    lyutik = make_partner(name="Лютик", responsible=boris, persons=[{"name": "Пётр"}])
    supply = make_deal_kind(name="Поставка", stages=("Lead", "Offer", "Contract"))
    service = make_deal_kind(name="Сервис", stages=("Talk", "Quote"), process=False)
    d = {}
    d["A1"] = make_deal(
        romashka, supply, anna, deal_no="A1", title="Поставка труб", amount="1000",
        created_on=date(2026, 1, 10), expected_close=date(2026, 3, 1),
    )  # fmt: skip
    d["A2"] = make_deal(
        romashka, supply, anna, stage="Offer", deal_no="A2", title="Pipes extra", amount="5000",
        created_on=date(2026, 2, 5), expected_close=date(2026, 4, 15),
    )  # fmt: skip
    d["A3"] = make_deal(
        romashka, supply, anna, status="won", deal_no="A3", title="Won pipes", amount="7000",
        created_on=date(2026, 1, 20), closed_on=date(2026, 2, 10),
    )  # fmt: skip
    d["B1"] = make_deal(
        lyutik, service, boris, stage="Quote", deal_no="B1", title="Service plan", amount="2000",
        created_on=date(2026, 3, 1), expected_close=date(2026, 5, 20), participants=[anna],
    )  # fmt: skip
    d["B2"] = make_deal(
        lyutik, service, boris, stage="Talk", status="lost", loss_reason="Цена", deal_no="B2",
        title="Lost service", amount="3000", created_on=date(2026, 2, 15),
        closed_on=date(2026, 3, 5),
    )  # fmt: skip
    d["B3"] = make_deal(
        lyutik, supply, boris, stage="Contract", deal_no="B3", title="Big supply", amount="9000",
        created_on=date(2026, 3, 10), expected_close=date(2026, 6, 30),
    )  # fmt: skip
    return {
        "anna": anna,
        "boris": boris,
        "admin": admin,
        "viewer": viewer,
        "romashka": romashka,
        "lyutik": lyutik,
        "supply": supply,
        "service": service,
        "deals": d,
    }
