"""A contacts import writes new persons in bulk and what it stores is what the per-row path
stored: the persons, their main e-mail/phone, the partner's search columns; a changed person
keeps its old e-mail (no longer main) and counts a version; an unchanged file writes nothing;
rejected rows are reported by row, column and code and the valid ones are stored. Expected
values are written out by hand."""

from __future__ import annotations

import csv

from sqlalchemy import select

from crm.exchange.importer import run_import
from crm.extensions import db
from crm.partners.models import ContactDetail, ContactPerson, Partner
from crm.partners.services import resync_partners_search, sync_search
from tests.exchange.helpers import TODAY, write_file, writes

HEADER = ["partner_code", "name", "position", "email", "phone"]
FIRST = [
    HEADER,
    ["A-1", "Семён Иванов", "главный бухгалтер", "semen@alfa.ru", "+7 495 123-45-67"],
    ["A-1", "Анна Смирнова", "", "", "+7 912 000-11-22"],
    ["B-2", "Иван Петров", "директор", "ivan@b.ru", "+7 495 111-22-33"],  # stored, the same
    ["X-9", "Призрак", "", "", ""],  # no such partner
    ["B-2", "Ольга", "", "not-an-email", ""],
    ["A-1", "семен  иванов", "", "", ""],  # row 2's person again (folded name)
]


def _partners(make_partner):
    alfa = make_partner(name="ООО «Альфа»", code="A-1", emails=["info@alfa.ru"])
    make_partner(
        name="ИП Борисов",
        code="B-2",
        persons=[
            {
                "name": "Иван Петров",
                "position": "директор",
                "email": "ivan@b.ru",
                "phone": "+7 495 111-22-33",
            }
        ],
    )
    merged = make_partner(name="Альфа (старая карточка)", code="C-3")
    merged.merged_into_id = alfa.id
    db.session.commit()
    return alfa


def _import(path, **kw):
    return run_import(path, "contacts", today=TODAY, valid_only=True, **kw)


def _persons(code: str) -> list[tuple]:
    """(name, name_norm, position, version, [(kind, value, value_norm, is_main)]) of a
    partner's persons in name order, details as the card lists them."""
    pid = db.session.execute(select(Partner.id).where(Partner.code == code)).scalar_one()
    out = []
    for person in db.session.execute(
        select(ContactPerson)
        .where(ContactPerson.partner_id == pid)
        .order_by(ContactPerson.name_norm)
    ).scalars():
        details = db.session.execute(
            select(ContactDetail.kind, ContactDetail.value, ContactDetail.value_norm,
                   ContactDetail.is_main)
            .where(ContactDetail.contact_person_id == person.id)
            .order_by(ContactDetail.kind, ContactDetail.is_main.desc(), ContactDetail.id)
        ).all()  # fmt: skip
        out.append(
            (person.name, person.name_norm, person.position, person.version, list(map(tuple, details)))
        )  # fmt: skip
    return out


def _search_text(code: str) -> str:
    return db.session.execute(select(Partner.search_text).where(Partner.code == code)).scalar_one()


def test_a_first_import_stores_the_persons_and_reports_the_rejected_rows(
    app, make_partner, tmp_path
):
    _partners(make_partner)
    rejects = tmp_path / "rejects.csv"
    report = _import(write_file(tmp_path, FIRST), rejects_path=rejects)

    assert (report.rows, report.new, report.updated, report.unchanged, report.rejected) == (
        6, 2, 0, 1, 3
    )  # fmt: skip
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (5, "partner_code", "unknown"),
        (6, "email", "invalid"),
        (7, "partner_code", "duplicate_key"),
    ]
    with open(rejects, encoding="utf-8-sig", newline="") as fh:
        assert [r[:3] for r in csv.reader(fh)][1:] == [
            ["5", "X-9", "Призрак"],
            ["6", "B-2", "Ольга"],
            ["7", "A-1", "семен  иванов"],
        ]
    assert _persons("A-1") == [
        ("Анна Смирнова", "анна смирнова", "", 1,
         [("phone", "+7 912 000-11-22", "+79120001122", True)]),
        ("Семён Иванов", "семен иванов", "главный бухгалтер", 1,
         [("email", "semen@alfa.ru", "semen@alfa.ru", True),
          ("phone", "+7 495 123-45-67", "+74951234567", True)]),
    ]  # fmt: skip
    assert _persons("B-2") == [
        ("Иван Петров", "иван петров", "директор", 1,
         [("email", "ivan@b.ru", "ivan@b.ru", True),
          ("phone", "+7 495 111-22-33", "+74951112233", True)]),
    ]  # fmt: skip
    # The partner's own details first, then each person's in name order.
    assert _search_text("A-1") == (
        "ооо «альфа» | a-1 | анна смирнова | семен иванов | info@alfa.ru | 79120001122"
        " | semen@alfa.ru | 74951234567"
    )


def test_reimporting_the_same_file_writes_nothing(app, make_partner, tmp_path):
    _partners(make_partner)
    path = write_file(tmp_path, FIRST)
    _import(path)
    before = (_persons("A-1"), _persons("B-2"), _search_text("A-1"))
    with writes() as seen:
        report = _import(path)
    assert (report.new, report.updated, report.unchanged, report.rejected) == (0, 0, 3, 3)
    assert seen == []
    assert (_persons("A-1"), _persons("B-2"), _search_text("A-1")) == before


def test_changed_and_new_persons_of_a_second_import(app, make_partner, tmp_path):
    _partners(make_partner)
    _import(write_file(tmp_path, FIRST, name="first.csv"))
    second = [
        HEADER,
        ["A-1", "Семён Иванов", "финансовый директор", "s.ivanov@alfa.ru", "+7 495 123-45-67"],
        ["A-1", "Анна Смирнова", "", "", "+7 912 000-11-22"],  # the same
        ["C-3", "Пётр Сидоров", "", "petr@alfa.ru", ""],  # C-3 was merged into A-1
        ["A-1", "Пётр Сидоров", "юрист", "", ""],  # the same person, through A-1
    ]
    report = _import(write_file(tmp_path, second, name="second.csv"))

    assert (report.new, report.updated, report.unchanged, report.rejected) == (2, 1, 1, 0)
    assert _persons("A-1") == [
        ("Анна Смирнова", "анна смирнова", "", 1,
         [("phone", "+7 912 000-11-22", "+79120001122", True)]),
        # created by one row and completed by the next, in one import: still version 1
        ("Пётр Сидоров", "петр сидоров", "юрист", 1,
         [("email", "petr@alfa.ru", "petr@alfa.ru", True)]),
        # the new e-mail is main, the old one stays; a changed person counts a version
        ("Семён Иванов", "семен иванов", "финансовый директор", 2,
         [("email", "s.ivanov@alfa.ru", "s.ivanov@alfa.ru", True),
          ("email", "semen@alfa.ru", "semen@alfa.ru", False),
          ("phone", "+7 495 123-45-67", "+74951234567", True)]),
    ]  # fmt: skip
    assert _persons("C-3") == []
    assert _search_text("A-1") == (
        "ооо «альфа» | a-1 | анна смирнова | петр сидоров | семен иванов | info@alfa.ru"
        " | 79120001122 | petr@alfa.ru | s.ivanov@alfa.ru | semen@alfa.ru | 74951234567"
    )


def test_new_persons_are_written_in_bulk(app, make_partner, tmp_path):
    """Statements a batch, not a row: 2 persons or 60 take the same writes (persons, their
    details, the partners' search columns)."""
    for i in range(3):
        make_partner(name=f"Партнёр {i}", code=f"P-{i}")

    def rows(n):
        return [HEADER] + [
            [f"P-{i % 3}", f"Контакт {i}", "", f"c{i}@p.ru", f"+7 495 000-{i // 100:02d}-{i % 100:02d}"]
            for i in range(n)
        ]  # fmt: skip

    with writes() as small:
        assert _import(write_file(tmp_path, rows(3), name="small.csv")).new == 3
    db.session.execute(db.delete(ContactDetail).where(ContactDetail.contact_person_id.isnot(None)))
    db.session.execute(db.delete(ContactPerson))
    db.session.commit()
    with writes() as big:
        assert _import(write_file(tmp_path, rows(60), name="big.csv")).new == 60
    assert len(big) == len(small) == 3, big


def test_the_bulk_search_sync_agrees_with_the_partner_card(app, make_partner):
    """resync_partners_search (plain statements) stores what sync_search (the card's, on ORM
    objects) stores for the partner as loaded from the database: persons in name order, each
    one's details main first."""
    p = make_partner(
        name="ООО «Гамма»",
        code="G-1",
        inn="7707083893",
        city="Казань",
        emails=["office@gamma.ru", "info@gamma.ru"],
        phones=["+7 843 200-00-01"],
        persons=[
            {"name": "Яна Белова", "email": "yana@gamma.ru"},
            {"name": "Артём Ким", "phone": "+7 843 200-00-02", "email": "kim@gamma.ru"},
        ],
    )
    columns = ("name_norm", "name_key", "name_prefix", "city_norm", "search_text")
    db.session.expire_all()
    sync_search(p)
    by_card = tuple(getattr(p, c) for c in columns)
    db.session.rollback()
    db.session.execute(db.update(Partner).values(**dict.fromkeys(columns, "")))
    resync_partners_search([p.id])
    db.session.commit()
    db.session.expire_all()

    assert tuple(getattr(p, c) for c in columns) == by_card
    assert p.search_text == (
        "ооо «гамма» | g-1 | 7707083893 | артем ким | яна белова | office@gamma.ru"
        " | info@gamma.ru | 78432000001 | kim@gamma.ru | 78432000002 | yana@gamma.ru"
    )
