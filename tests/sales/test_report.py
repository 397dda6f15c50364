"""The Receivables report (/sales/receivables): page, HTMX fragment, sorting, manager filter,
who sees what, bad input, CSV/XLSX, and `crm report receivables` — on one small ledger whose
numbers are worked out by hand."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

HX = {"HX-Request": "true"}
AS_OF = "2025-03-31"
HEADER = ["Code", "Partner", "Manager", "Debt", "Overdue", "Oldest overdue due date"]


@pytest.fixture
def ledger(make_user, make_partner, make_document, make_payment):
    """As of 31.03.2025:
    R-01 Альфа (Мария): D-1 1000 due 31.01, unpaid → debt 1000, overdue 1000, oldest 31.01.
    R-02 "Beta, Ltd" (Мария): D-2 500 due 30.04 → debt 500, overdue 0.
    R-03 Gamma (Иван): D-3 200 due 28.02, paid 300 without doc_no → debt −100 (credit).
    R-04 Delta (nobody): D-4 100 paid by doc_no → debt 0: not listed.
    R-05 Epsilon (nobody): D-5 50 dated 01.04, after the date → not listed.
    Totals: debt 1000 + 500 − 100 = 1400, overdue 1000."""
    maria = make_user("manager", name="Мария Петрова")
    ivan = make_user("manager", name="Иван Сидоров")
    r1 = make_partner(name="Альфа", code="R-01", responsible=maria)
    r2 = make_partner(name="Beta, Ltd", code="R-02", responsible=maria)
    r3 = make_partner(name="Gamma", code="R-03", responsible=ivan)
    r4 = make_partner(name="Delta", code="R-04")
    r5 = make_partner(name="Epsilon", code="R-05")
    make_document(r1, [1000], doc_no="D-1", date=date(2025, 1, 10), due_date=date(2025, 1, 31))
    make_document(r2, [500], doc_no="D-2", date=date(2025, 3, 30), due_date=date(2025, 4, 30))
    make_document(r3, [200], doc_no="D-3", date=date(2025, 2, 1), due_date=date(2025, 2, 28))
    make_payment(r3, 300, date(2025, 2, 20))
    make_document(r4, [100], doc_no="D-4", date=date(2025, 2, 1), due_date=date(2025, 2, 28))
    make_payment(r4, 100, date(2025, 2, 20), doc_no="D-4")
    make_document(r5, [50], doc_no="D-5", date=date(2025, 4, 1))
    return {"maria": maria, "ivan": ivan}


def text(response) -> str:
    return response.get_data(as_text=True)


def codes(response) -> list[str]:
    """Partner codes of the report's rows, in order."""
    body = text(response)
    assert 'id="receivables-table"' in body, body[:2000]
    return re.findall(r'<td data-label="Code">(.*?)</td>', body)


def totals_row(response) -> str:
    body = text(response)
    start = body.index('id="receivables-totals"')
    return html.unescape(re.sub(r"<[^>]+>|\s+", " ", body[start : body.index("</tr>", start)]))


def test_the_page_lists_partners_with_debt_or_credit_and_totals(client, login_as, ledger):
    login_as("admin")
    response = client.get(f"/sales/receivables?as_of={AS_OF}")
    assert response.status_code == 200
    body = text(response)
    assert "<html" in body
    assert codes(response) == ["R-01", "R-02", "R-03"]  # largest debt first; owe 0
    row = body[body.index("R-01") : body.index("</tr>", body.index("R-01"))]
    assert "Альфа" in row and "Мария Петрова" in row
    assert ">₽1,000.00<" in row and ">31 Jan 2025<" in row
    assert ">-₽100.00<" in body  # R-03's credit
    assert "₽1,400.00" in totals_row(response) and "₽1,000.00" in totals_row(response)
    # The page is in the navigation.
    assert 'href="/sales/receivables"' in body


def test_the_htmx_request_gets_the_results_fragment_only(client, login_as, ledger):
    login_as("admin")
    response = client.get(f"/sales/receivables?as_of={AS_OF}&sort=overdue", headers=HX)
    assert response.status_code == 200
    assert "<html" not in text(response)
    assert "HX-Request" in response.headers.get("Vary", "")
    # Overdue ascending, ties by code: R-02 0, R-03 0, then R-01 1000.
    assert codes(response) == ["R-02", "R-03", "R-01"]
    # The address bar gets the filter's clean URL (no empty form fields).
    assert response.headers["HX-Push-Url"] == f"/sales/receivables?as_of={AS_OF}&sort=overdue"
    # Column headers re-sort through HTMX and push the URL, keeping the date.
    assert 'hx-push-url="true"' in text(response)
    assert "sort=-overdue" in text(response) and f"as_of={AS_OF}" in text(response)


def test_sorting_by_debt_and_overdue(client, login_as, ledger):
    login_as("admin")

    def order(sort):
        return codes(client.get(f"/sales/receivables?as_of={AS_OF}&sort={sort}", headers=HX))

    assert order("-debt") == ["R-01", "R-02", "R-03"]  # 1000, 500, −100
    assert order("debt") == ["R-03", "R-02", "R-01"]
    assert order("-overdue") == ["R-01", "R-02", "R-03"]  # 1000, then 0 and 0 by code
    assert order("code") == ["R-01", "R-02", "R-03"]


def test_the_manager_filter_keeps_that_managers_partners(client, login_as, ledger):
    login_as("admin")
    maria, ivan = ledger["maria"], ledger["ivan"]
    response = client.get(f"/sales/receivables?as_of={AS_OF}&manager={maria.id}", headers=HX)
    assert codes(response) == ["R-01", "R-02"]
    assert "1,500.00" in totals_row(response)  # 1000 + 500
    response = client.get(f"/sales/receivables?as_of={AS_OF}&manager={ivan.id}", headers=HX)
    assert codes(response) == ["R-03"]
    response = client.get(f"/sales/receivables?as_of={AS_OF}&manager=none", headers=HX)
    assert "No partner owes anything" in text(response)


def test_a_manager_sees_only_own_partners(client, login_as, ledger):
    login_as(ledger["maria"])
    response = client.get(f"/sales/receivables?as_of={AS_OF}")
    assert codes(response) == ["R-01", "R-02"]
    assert "1,500.00" in totals_row(response)
    assert "Gamma" not in text(response)
    # Asking for another manager's partners shows nothing rather than them.
    response = client.get(f"/sales/receivables?as_of={AS_OF}&manager={ledger['ivan'].id}")
    assert "Gamma" not in text(response)
    assert "No partner owes anything" in text(response)
    rows = csv_rows(client.get(f"/sales/receivables?as_of={AS_OF}&format=csv"))
    assert [r[0] for r in rows[1:]] == ["R-01", "R-02"]


def test_the_as_of_date_changes_the_numbers(client, login_as, ledger):
    login_as("admin")
    # As of 31.01: only D-1 exists and is due that very day, so it is not overdue yet.
    response = client.get("/sales/receivables?as_of=2025-01-31", headers=HX)
    assert codes(response) == ["R-01"]
    assert totals_row(response).split()[-2:] == ["₽1,000.00", "₽0.00"]
    # DD.MM.YYYY is read as well.
    assert codes(client.get("/sales/receivables?as_of=31.01.2025", headers=HX)) == ["R-01"]


@pytest.mark.parametrize("bad", ["2025-13-45", "yesterday", "31/01/2025", "\x00"])
def test_a_bad_date_gives_a_message_not_an_error(client, login_as, ledger, bad):
    login_as("admin")
    response = client.get("/sales/receivables", query_string={"as_of": bad})
    assert response.status_code == 200
    assert "is not a date (use YYYY-MM-DD): showing today." in html.unescape(text(response))
    response = client.get("/sales/receivables", query_string={"as_of": bad, "format": "csv"})
    assert response.status_code == 400
    assert "is not a date" in html.unescape(text(response))


def test_unknown_manager_sort_and_page_are_ignored_with_a_message(client, login_as, ledger):
    login_as("admin")
    response = client.get(f"/sales/receivables?as_of={AS_OF}&manager=x&sort=evil&page=-3")
    assert response.status_code == 200
    assert "Unknown manager ignored." in text(response)
    assert "Unknown sort order ignored." in text(response)
    assert codes(response) == ["R-01", "R-02", "R-03"]


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = text(response)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_export_holds_every_row_in_the_pages_order(client, login_as, ledger):
    login_as("admin")
    response = client.get(f"/sales/receivables?as_of={AS_OF}&format=csv")
    assert f'filename="receivables-{AS_OF}.csv"' in response.headers["Content-Disposition"]
    assert csv_rows(response) == [
        HEADER,
        ["R-01", "Альфа", "Мария Петрова", "1000.00", "1000.00", "2025-01-31"],
        ["R-02", "Beta, Ltd", "Мария Петрова", "500.00", "0.00", ""],
        ["R-03", "Gamma", "Иван Сидоров", "-100.00", "0.00", ""],
    ]


def test_xlsx_export_has_numbers_and_dates(client, login_as, ledger):
    login_as("admin")
    response = client.get(f"/sales/receivables?as_of={AS_OF}&format=xlsx&sort=code")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == ["R-01", "R-02", "R-03"]
    assert Decimal(str(rows[1][3])) == Decimal("1000") and Decimal(str(rows[3][3])) == -100
    assert rows[1][5].date() == date(2025, 1, 31)
    assert rows[2][5] is None


def test_cli_prints_every_partner_with_debt_by_code(runner, ledger):
    result = runner.invoke(
        args=["crm", "report", "receivables", "--as-of", AS_OF, "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "partner_code,partner_name,debt,overdue\n"
        "R-01,Альфа,1000.00,1000.00\n"
        'R-02,"Beta, Ltd",500.00,0.00\n'
        "R-03,Gamma,-100.00,0.00\n"
    )


def test_cli_refuses_a_bad_date(runner, ledger):
    result = runner.invoke(args=["crm", "report", "receivables", "--as-of", "2025-02-30"])
    assert result.exit_code == 2
    assert "is not a date" in result.output


@pytest.fixture
def formula_debtor(make_partner, make_document):
    """F-1 named like a formula, owing 70.50 (and a credit of 5.00 for F-2, named "-cmd")."""
    f1 = make_partner(name='=HYPERLINK("http://x")', code="F-1")
    f2 = make_partner(name="-cmd", code="F-2")
    make_document(f1, ["70.50"], doc_no="F-D1", date=date(2025, 3, 1), due_date=date(2025, 4, 30))
    make_document(f2, ["-5.00"], doc_no="F-D2", date=date(2025, 3, 1), due_date=date(2025, 4, 30))


def test_every_receivables_download_escapes_formula_names_and_keeps_numbers(
    client, login_as, runner, formula_debtor
):
    login_as("admin")
    as_csv = csv_rows(client.get(f"/sales/receivables?as_of={AS_OF}&format=csv&sort=code"))
    response = client.get(f"/sales/receivables?as_of={AS_OF}&format=xlsx&sort=code")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    as_xlsx = [list(r) for r in sheet.iter_rows(values_only=True)]
    cli = runner.invoke(args=["crm", "report", "receivables", "--as-of", AS_OF])

    assert [r[:5] for r in as_csv[1:]] == [
        ["F-1", '\'=HYPERLINK("http://x")', "", "70.50", "0.00"],
        ["F-2", "'-cmd", "", "-5.00", "0.00"],
    ]
    assert [r[:2] for r in as_xlsx[1:]] == [["F-1", '\'=HYPERLINK("http://x")'], ["F-2", "'-cmd"]]
    assert [(sheet.cell(row, 4).data_type, sheet.cell(row, 4).value) for row in (2, 3)] == [
        ("n", 70.5),
        ("n", -5),
    ]
    assert cli.output == (
        "partner_code,partner_name,debt,overdue\n"
        'F-1,"\'=HYPERLINK(""http://x"")",70.50,0.00\n'
        "F-2,'-cmd,-5.00,0.00\n"
    )


def test_the_report_in_russian_has_russian_words_formats_and_plurals(client, login_as, ledger):
    nb = "\N{NO-BREAK SPACE}"
    login_as("admin", locale="ru")
    body = html.unescape(text(client.get(f"/sales/receivables?as_of={AS_OF}")))
    assert '<h1 class="h4 me-auto mb-0">Дебиторская задолженность</h1>' in body
    # Three partners owe or have credit: "3 партнёра" (2–4 take the second form).
    assert "На 31.03.2025: 3 партнёра с долгом или переплатой" in body
    assert "Итого (3 партнёра)" in body
    row = body[body.index("R-01") : body.index("</tr>", body.index("R-01"))]
    assert f">1{nb}000,00{nb}₽<" in row and ">31.01.2025<" in row
    assert f">-100,00{nb}₽<" in body
    # One partner as of 31.01.2025: the first form.
    one = html.unescape(text(client.get("/sales/receivables?as_of=2025-01-31", headers=HX)))
    assert "Итого (1 партнёр)" in one
    # The downloads are for people: Russian headers, machine values.
    rows = csv_rows(client.get(f"/sales/receivables?as_of={AS_OF}&format=csv"))
    assert rows[0] == [
        "Код",
        "Партнёр",
        "Менеджер",
        "Долг",
        "Просрочено",
        "Самый ранний просроченный срок",
    ]
    assert rows[1][3:] == ["1000.00", "1000.00", "2025-01-31"]


def test_a_bad_date_is_explained_in_russian(client, login_as, ledger):
    login_as("admin", locale="ru")
    body = html.unescape(text(client.get("/sales/receivables?as_of=yesterday", headers=HX)))
    assert "«yesterday» — не дата (нужен формат ГГГГ-ММ-ДД): показано на сегодня." in body
