"""Import and export of deal-stages.csv and deals.csv: every format the exchange reads, upsert
(a second import changes nothing), export → import round trip, the derived columns (furthest
stage reached, stage history, when the stage was entered), versions, and every kind of bad row
refused with its row and column while nothing is written."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.core.models import AuditEntry
from crm.core.timeutil import utcnow
from crm.deals.models import (
    WON_POSITION,
    Deal,
    DealKind,
    DealStage,
    DealStageEntry,
    LossReason,
)
from crm.exchange.cli import write_file as export_file
from crm.exchange.exporter import export_rows
from crm.exchange.importer import run_import
from crm.extensions import db
from crm.partners.models import Partner
from tests.exchange.helpers import FORMATS, count, write_file, writes

STAGES_HEADER = ["kind", "position", "stage", "probability", "process"]
DEALS_HEADER = [
    "deal_no",
    "partner_code",
    "kind",
    "stage",
    "status",
    "amount",
    "created_on",
    "expected_close",
    "closed_on",
    "manager",
    "loss_reason",
    "source",
]
STAGE_ROWS = [
    ["Поставка", "1", "Лид", "10", "yes"],
    ["Поставка", "2", "КП", "40", "yes"],
    ["Поставка", "3", "Договор", "80,5", "yes"],
    ["Сервис", "1", "Заявка", "", "no"],
    ["Сервис", "2", "Выезд", "50", "no"],
]


@pytest.fixture
def setup(app, make_partner, make_user):
    """Partners P-001, P-002 and the manager anna@example.test."""
    make_partner(name="Ромашка", code="P-001")
    make_partner(name="Лютик", code="P-002")
    return make_user("manager", email="anna@example.test")


def _import(tmp_path, kind, rows, *, header=None, name=None, **kw):
    header = header or (STAGES_HEADER if kind == "deal-stages" else DEALS_HEADER)
    fmt = kw.pop("fmt", "csv")
    path = write_file(
        tmp_path,
        [header, *rows],
        fmt=fmt,
        sep=kw.pop("sep", ","),
        bom=kw.pop("bom", False),
        name=name or f"{kind}.{fmt}",
    )
    return run_import(path, kind, **kw)


def _stages() -> list[tuple]:
    db.session.expire_all()
    return [
        tuple(r)
        for r in db.session.execute(
            select(DealKind.name, DealKind.is_process, DealStage.position, DealStage.name)
            .add_columns(DealStage.probability)
            .join(DealStage, DealStage.kind_id == DealKind.id)
            .order_by(DealKind.name, DealStage.position)
        )
    ]


def _deals() -> dict[str, Deal]:
    db.session.expire_all()
    return {d.deal_no: d for d in db.session.execute(select(Deal)).scalars()}


def _history(deal: Deal) -> list[tuple]:
    rows = db.session.execute(
        select(DealStage.name, DealStageEntry.entered_at, DealStageEntry.left_at)
        .outerjoin(DealStage, DealStage.id == DealStageEntry.stage_id)
        .where(DealStageEntry.deal_id == deal.id)
        .order_by(DealStageEntry.id)
    )
    return [tuple(r) for r in rows]


# --- deal-stages.csv ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_stage_file_creates_the_kinds_and_their_processes(app, tmp_path, fmt):
    report = _import(tmp_path, "deal-stages", STAGE_ROWS, **FORMATS[fmt])

    assert report.done and report.ok, report.error_lines
    assert (report.rows, report.new) == (5, 5)
    assert _stages() == [
        ("Поставка", True, 1, "Лид", Decimal("10")),
        ("Поставка", True, 2, "КП", Decimal("40")),
        ("Поставка", True, 3, "Договор", Decimal("80.5")),
        ("Сервис", False, 1, "Заявка", Decimal("0")),
        ("Сервис", False, 2, "Выезд", Decimal("50")),
    ]


def test_stage_file_imported_twice_changes_nothing(app, tmp_path):
    assert _import(tmp_path, "deal-stages", STAGE_ROWS).done
    before = _stages()

    with writes() as seen:
        report = _import(tmp_path, "deal-stages", STAGE_ROWS)

    assert (report.new, report.updated, report.unchanged) == (0, 0, 5)
    assert [s for s in seen if "deal_stage" in s or "deal_kind" in s] == []
    assert _stages() == before


def test_stage_file_updates_stages_by_name_and_makes_room_for_an_inserted_one(app, tmp_path, setup):
    assert _import(tmp_path, "deal-stages", STAGE_ROWS).done
    # A stage inserted after the first: the stored ones get their new places from the file,
    # except "Договор", which the file leaves out: its place 3 goes to "КП", so it moves last.
    rows = [
        ["Поставка", "1", "Лид", "15", "yes"],
        ["Поставка", "2", "Встреча", "", "yes"],
        ["Поставка", "3", "КП", "", "yes"],
    ]
    report = _import(tmp_path, "deal-stages", rows, name="second.csv")

    assert report.done and (report.new, report.updated, report.unchanged) == (1, 2, 0)
    assert [r for r in _stages() if r[0] == "Поставка"] == [
        ("Поставка", True, 1, "Лид", Decimal("15")),
        ("Поставка", True, 2, "Встреча", Decimal("0")),
        ("Поставка", True, 3, "КП", Decimal("40")),
        ("Поставка", True, 4, "Договор", Decimal("80.5")),
    ]


def test_moved_stages_recount_the_furthest_position_of_open_deals(app, tmp_path, setup, make_deal):
    assert _import(tmp_path, "deal-stages", STAGE_ROWS).done
    kind = db.session.execute(select(DealKind).where(DealKind.name == "Поставка")).scalar_one()
    p = db.session.execute(select(Partner).where(Partner.code == "P-001")).scalar_one()
    deal = make_deal(p, kind, stage="КП")
    assert deal.reached_position == 2

    rows = [["Поставка", "1", "Лид", "", "yes"], ["Поставка", "2", "Встреча", "", "yes"]]
    rows.append(["Поставка", "3", "КП", "", "yes"])
    assert _import(tmp_path, "deal-stages", rows, name="second.csv").done

    assert _deals()[deal.deal_no].reached_position == 3


@pytest.mark.parametrize(
    ("rows", "errors"),
    [
        (
            [["A", "1", "One", "", "yes"], ["A", "1", "Two", "", "yes"]],
            ["row 3, column position: position 1 of kind 'A' is stage 'One' on row 2 already"],
        ),
        (
            [["A", "1", "One", "", "yes"], ["A", "2", "Two", "", "no"]],
            [
                "row 3, column process: differs from row 2 of kind 'A': a kind's stages are "
                "either all in a process or none"
            ],
        ),
        (
            [["A", "1", "One", "", ""], ["A", "2", "Two", "", "no"]],
            [
                "row 3, column process: differs from row 2 of kind 'A': a kind's stages are "
                "either all in a process or none"
            ],
        ),
        (
            [["A", "1", "One", "101", "yes"]],
            ["row 2, column probability: must be between 0 and 100"],
        ),
        ([["A", "0", "One", "", "yes"]], ["row 2, column position: must be 1 or more"]),
        ([["A", "1", "One", "", "maybe"]], ["row 2, column process: 'maybe': use yes or no"]),
        ([["A", "", "One", "", "yes"]], ["row 2, column position: is required"]),
    ],
)
def test_bad_stage_rows_are_refused_with_row_and_column_and_nothing_is_written(
    app, tmp_path, rows, errors
):
    report = _import(tmp_path, "deal-stages", rows)

    assert not report.done
    assert report.error_lines == errors
    assert count(DealKind) == 0 and count(DealStage) == 0


def test_positions_are_unique_within_a_kind_not_across_kinds(app, tmp_path):
    rows = [["A", "1", "One", "", "yes"], ["B", "1", "One", "", "yes"]]

    assert _import(tmp_path, "deal-stages", rows).done
    assert count(DealStage) == 2


# --- deals.csv ------------------------------------------------------------------------------

GOOD_DEALS = [
    # open, Russian formats: DD.MM.YYYY, "1 234,50"
    ["D-1", "P-001", "Поставка", "КП", "open", "1 234,50", "01.03.2026", "30.06.2026", "", "ANNA@example.test", "", "Выставка"],
    # won without a stage: every stage passed
    ["D-2", "P-002", "Поставка", "", "won", "5000", "2026-01-10", "", "2026-02-20", "", "", ""],
    # lost at a stage with a new reason
    ["D-3", "P-001", "Сервис", "Выезд", "lost", "700.00", "2026-02-01", "", "2026-02-15", "", "Дорого", ""],
]  # fmt: skip


@pytest.fixture
def kinds(app, tmp_path_factory, setup):
    assert _import(tmp_path_factory.mktemp("stages"), "deal-stages", STAGE_ROWS).done
    return {
        (k, s): sid
        for k, s, sid in db.session.execute(
            select(DealKind.name, DealStage.name, DealStage.id).join(DealKind)
        )
    }


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_deals_file_imports_with_the_derived_columns_in_every_format(
    app, tmp_path, kinds, setup, fmt
):
    before = utcnow()
    report = _import(tmp_path, "deals", GOOD_DEALS, **FORMATS[fmt])

    assert report.done and report.ok, report.error_lines
    assert (report.rows, report.new) == (3, 3)
    deals = _deals()
    d1, d2, d3 = deals["D-1"], deals["D-2"], deals["D-3"]
    assert (d1.partner.code, d1.kind.name, d1.stage.name, d1.status) == (
        "P-001",
        "Поставка",
        "КП",
        "open",
    )
    assert d1.amount == Decimal("1234.50")
    assert (d1.created_on, d1.expected_close, d1.closed_on) == (
        date(2026, 3, 1),
        date(2026, 6, 30),
        None,
    )
    assert d1.manager_id == setup.id and d1.source == "Выставка" and d1.version == 1
    assert d1.reached_position == 2
    assert d1.stage_entered_at == datetime(2026, 3, 1)
    assert _history(d1) == [("КП", datetime(2026, 3, 1), None)]

    assert (d2.stage_id, d2.status, d2.amount, d2.closed_on) == (
        None,
        "won",
        Decimal(5000),
        date(2026, 2, 20),
    )
    assert d2.reached_position == WON_POSITION
    assert _history(d2) == [(None, datetime(2026, 1, 10), datetime(2026, 2, 20))]

    assert (d3.stage.name, d3.status, d3.loss_reason.name) == ("Выезд", "lost", "Дорого")
    assert d3.reached_position == 2
    assert _history(d3) == [("Выезд", datetime(2026, 2, 1), datetime(2026, 2, 15))]

    audits = db.session.execute(
        select(AuditEntry.object_id, AuditEntry.action, AuditEntry.object_version).where(
            AuditEntry.object_type == "deal"
        )
    ).all()
    assert sorted(audits) == sorted([(d.id, "create", 1) for d in (d1, d2, d3)])
    assert before <= utcnow()


def test_deals_file_imported_twice_changes_nothing(app, tmp_path, kinds):
    assert _import(tmp_path, "deals", GOOD_DEALS).done
    versions = {no: d.version for no, d in _deals().items()}

    with writes() as seen:
        report = _import(tmp_path, "deals", GOOD_DEALS)

    assert (report.new, report.updated, report.unchanged) == (0, 0, 3)
    assert seen == []
    assert {no: d.version for no, d in _deals().items()} == versions
    assert count(DealStageEntry) == 3 and count(LossReason) == 1


def test_a_changed_stage_adds_a_history_row_and_moves_the_version(app, tmp_path, kinds):
    assert _import(tmp_path, "deals", GOOD_DEALS).done
    changed = [list(r) for r in GOOD_DEALS]
    changed[0][3] = "Договор"  # D-1 moves on
    changed[0][5] = "2000"
    changed[2][3] = "Заявка"  # D-3 (non-process) was lost at an earlier stage: it reached 2

    before = utcnow()
    report = _import(tmp_path, "deals", changed, name="second.csv")
    after = utcnow()

    assert (report.new, report.updated, report.unchanged) == (0, 2, 1)
    deals = _deals()
    d1, d3 = deals["D-1"], deals["D-3"]
    assert (d1.stage.name, d1.amount, d1.version, d1.reached_position) == (
        "Договор",
        Decimal(2000),
        2,
        3,
    )
    assert before <= d1.stage_entered_at <= after
    [(s1, e1, l1), (s2, e2, l2)] = _history(d1)
    assert (s1, e1, s2, l2) == ("КП", datetime(2026, 3, 1), "Договор", None)
    assert l1 == e2 == d1.stage_entered_at
    assert (d3.stage.name, d3.reached_position, d3.version) == ("Заявка", 2, 2)
    assert deals["D-2"].version == 1
    updates = db.session.execute(
        select(AuditEntry.object_id, AuditEntry.object_version, AuditEntry.changes).where(
            AuditEntry.action == "update", AuditEntry.object_type == "deal"
        )
    ).all()
    by_deal = {oid: (v, c) for oid, v, c in updates}
    assert by_deal[d1.id][0] == 2
    assert by_deal[d1.id][1]["amount"] == ["1234.50", "2000.00"]


def test_export_re_imports_without_change(app, tmp_path, kinds):
    assert _import(tmp_path, "deals", GOOD_DEALS).done

    for kind in ("deal-stages", "deals"):
        header, rows = export_rows(kind)
        rows = list(rows)
        assert header == (STAGES_HEADER if kind == "deal-stages" else DEALS_HEADER)
        for fmt in ("csv", "xlsx"):
            path = tmp_path / f"export-{kind}.{fmt}"
            assert export_file(path, fmt, header, rows) == len(rows)
            report = run_import(path, kind, dry_run=True)
            assert report.ok, report.error_lines
            assert (report.new, report.updated, report.unchanged) == (0, 0, len(rows)), kind

    header, rows = export_rows("deals")
    assert [list(r) for r in rows][0] == [
        "D-1",
        "P-001",
        "Поставка",
        "КП",
        "open",
        Decimal("1234.5"),
        "2026-03-01",
        "2026-06-30",
        "",
        "anna@example.test",
        "",
        "Выставка",
    ]
    assert list(export_rows("deal-stages")[1])[2] == (
        "Поставка",
        3,
        "Договор",
        Decimal("80.5"),
        "yes",
    )


def _row(**changes) -> list[str]:
    base = dict(zip(DEALS_HEADER, GOOD_DEALS[0], strict=True))
    base.update(changes)
    return [base[c] for c in DEALS_HEADER]


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (_row(partner_code="NOPE"), "row 2, column partner_code: unknown partner 'NOPE'"),
        (_row(kind="Аренда"), "row 2, column kind: unknown deal kind 'Аренда'"),
        (_row(stage="Выезд"), "row 2, column stage: 'Выезд' is not a stage of deal kind 'Поставка'"),
        (_row(stage=""), "row 2, column stage: is required for an open or lost deal"),
        (_row(status="lost", stage="", closed_on="2026-04-01"), "row 2, column stage: is required for an open or lost deal"),
        (_row(expected_close=""), "row 2, column expected_close: is required for an open deal"),
        (_row(status="won"), "row 2, column closed_on: is required for a won or lost deal"),
        (_row(status="lost"), "row 2, column closed_on: is required for a won or lost deal"),
        (
            _row(status="won", closed_on="28.02.2026"),
            "row 2, column closed_on: is before created_on (2026-03-01): a deal cannot close "
            "before it was opened",
        ),
        (_row(status="closed"), "row 2, column status: 'closed' is not a status: use open, won or lost"),
        (_row(amount="много"), "row 2, column amount: 'много' is not a number"),
        (_row(amount="-5"), "row 2, column amount: cannot be negative"),
        (_row(created_on="31.02.2026"), "row 2, column created_on: '31.02.2026' is not a real date"),
        (_row(expected_close="завтра"), "row 2, column expected_close: 'завтра' is not a date (use YYYY-MM-DD or DD.MM.YYYY)"),
        (_row(manager="boris@example.test"), "row 2, column manager: no user has the e-mail 'boris@example.test'"),
        (_row(loss_reason="Дорого"), "row 2, column loss_reason: only a lost deal has a loss reason"),
        (_row(closed_on="2026-04-01"), "row 2, column closed_on: must be empty for an open deal"),
    ],
)  # fmt: skip
def test_bad_deal_rows_are_refused_with_row_and_column_and_nothing_is_written(
    app, tmp_path, kinds, row, error
):
    report = _import(tmp_path, "deals", [row])

    assert not report.done
    assert report.error_lines == [error]
    assert count(Deal) == 0 and count(DealStageEntry) == 0 and count(LossReason) == 0


def test_a_deal_number_twice_in_a_file_is_refused_on_its_second_row(app, tmp_path, kinds):
    report = _import(tmp_path, "deals", [GOOD_DEALS[0], GOOD_DEALS[1], _row(amount="1")])

    assert not report.done
    assert report.error_lines == [
        "row 4, column deal_no: the same key (deal_no) is on an earlier row of the file"
    ]
    assert count(Deal) == 0


def test_import_valid_rows_only_writes_the_good_rows(app, tmp_path, kinds):
    rows = [GOOD_DEALS[0], _row(deal_no="D-9", kind="Аренда"), GOOD_DEALS[2]]

    report = _import(tmp_path, "deals", rows, valid_only=True)

    assert report.done and report.rejected == 1
    assert sorted(_deals()) == ["D-1", "D-3"]


def test_a_won_deal_without_a_stage_keeps_the_stored_stage(app, tmp_path, kinds):
    won = _row(status="won", stage="Договор", expected_close="", closed_on="2026-04-01")
    assert _import(tmp_path, "deals", [won]).done
    again = _row(status="won", stage="", expected_close="", closed_on="2026-04-01")

    report = _import(tmp_path, "deals", [again], name="again.csv")

    assert report.unchanged == 1
    assert _deals()["D-1"].stage.name == "Договор"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_templates_example_rows_import_as_they_are(
    app, client, login_as, make_partner, tmp_path, fmt
):
    login_as("admin")
    make_partner(name="ООО «Ромашка»", code="P-0001")  # the partners template's example
    for kind in ("deal-stages", "deals"):
        answer = client.get(f"/exchange/template/{kind}.{fmt}")
        assert answer.status_code == 200
        path = tmp_path / f"{kind}.{fmt}"
        path.write_bytes(answer.data)

        report = run_import(path, kind)

        assert report.done and (report.rows, report.new, report.warnings) == (1, 1, []), kind
    deal = _deals()["СД-000001"]
    assert (deal.kind.name, deal.stage.name, deal.status, deal.amount) == (
        "Поставка оборудования",
        "Первичный контакт",
        "open",
        Decimal("150000.00"),
    )


def test_stage_file_can_swap_two_stages_and_change_the_process(app, tmp_path):
    assert _import(tmp_path, "deal-stages", STAGE_ROWS).done
    rows = [["Сервис", "1", "Выезд", "", "yes"], ["Сервис", "2", "Заявка", "", "yes"]]

    report = _import(tmp_path, "deal-stages", rows, name="swap.csv")

    assert report.done and report.updated == 2
    assert [r for r in _stages() if r[0] == "Сервис"] == [
        ("Сервис", True, 1, "Выезд", Decimal("50")),
        ("Сервис", True, 2, "Заявка", Decimal("0")),
    ]
