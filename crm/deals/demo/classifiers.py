"""The demo's deal classifiers: two deal kinds with their stages (a process kind, whose stages
go strictly in order, and a non-process one), participant roles and loss reasons, in Russian or
English with the words of the demo deals; created when missing, reused by a second run."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert, select

from crm.deals.models import DealKind, DealStage
from crm.extensions import db

BATCH = 2000
# Typical days in each stage (the median of a log-normal stay).
PROCESS_DAYS = (6, 10, 14, 18, 12)
SERVICE_DAYS = (4, 8, 10, 9)

TEXTS = {
    "ru": {
        "process": ("Поставка оборудования", [("Квалификация", 10), ("Выявление потребностей", 25),
                    ("Коммерческое предложение", 50), ("Переговоры", 70), ("Договор", 90)]),
        "service": ("Сервисный контракт", [("Первичный контакт", 20), ("Обследование объекта", 40),
                    ("Предложение", 60), ("Согласование", 80)]),
        "roles": ["ЛПР", "Влияющий", "Пользователь"],
        "reasons": ["Дорого", "Выбрали конкурента", "Нет бюджета", "Не отвечает",
                    "Сроки не устроили"],
        "supply": ["Поставка погрузчиков", "Поставка стеллажей", "Поставка компрессоров",
                   "Поставка станков ЧПУ", "Поставка генераторов", "Оснащение склада",
                   "Поставка насосного оборудования", "Поставка сварочного оборудования"],
        "service_titles": ["Сервисное обслуживание погрузчиков", "Обслуживание котельной",
                           "Техобслуживание компрессоров", "Сервис складской техники",
                           "Годовой сервисный договор"],
        "sources": ["Сайт", "Выставка", "Рекомендация", "Холодный звонок",
                    "Повторное обращение", "Тендер"],
        "comments": ["Ушли к поставщику с отсрочкой платежа", "Бюджет перенесли на следующий год",
                     "Не дозвонились после КП", "Конкурент дал скидку 12 %", ""],
    },
    "en": {
        "process": ("Equipment supply", [("Qualification", 10), ("Needs analysis", 25),
                    ("Proposal", 50), ("Negotiation", 70), ("Contract", 90)]),
        "service": ("Service contract", [("First contact", 20), ("Site survey", 40),
                    ("Offer", 60), ("Approval", 80)]),
        "roles": ["Decision maker", "Influencer", "User"],
        "reasons": ["Too expensive", "Chose a competitor", "No budget", "Not responding",
                    "Timing did not suit"],
        "supply": ["Forklift supply", "Racking supply", "Compressor supply", "CNC machines",
                   "Generator supply", "Warehouse fit-out", "Pump equipment",
                   "Welding equipment"],
        "service_titles": ["Forklift servicing", "Boiler room maintenance",
                           "Compressor maintenance", "Warehouse equipment service",
                           "Annual service contract"],
        "sources": ["Website", "Exhibition", "Referral", "Cold call", "Returning client",
                    "Tender"],
        "comments": ["Went to a supplier with deferred payment", "Budget moved to next year",
                     "No answer after the proposal", "A competitor gave 12 % off", ""],
    },
}  # fmt: skip


@dataclass
class Kind:
    id: int
    is_process: bool
    stages: list[tuple[int, int]]  # (stage id, position) in order
    days: tuple[int, ...]


def bulk(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model.__table__), rows[start : start + BATCH])


def named_ids(model, names: list[str]) -> list[int]:
    """Ids of the rows named `names` (in that order), created when missing."""
    query = select(model.name, model.id).where(model.name.in_(names))
    found = dict(db.session.execute(query).all())
    bulk(model, [{"name": n} for n in names if n not in found])
    found = dict(db.session.execute(query).all())
    return [found[n] for n in names]


def demo_kind(name: str, stages: list[tuple[str, int]], is_process: bool, days) -> Kind:
    kind = db.session.execute(select(DealKind).where(DealKind.name == name)).scalar_one_or_none()
    if kind is None:
        kind = DealKind(name=name, is_process=is_process)
        kind.stages = [
            DealStage(position=n, name=s, probability=Decimal(p))
            for n, (s, p) in enumerate(stages, start=1)
        ]
        db.session.add(kind)
        db.session.flush()
    ordered = [(s.id, s.position) for s in kind.stages]
    # A kind an admin edited since keeps its stages; the typical stays stretch to their number.
    days = tuple(days[min(n, len(days) - 1)] for n in range(len(ordered)))
    return Kind(kind.id, kind.is_process, ordered, days)
