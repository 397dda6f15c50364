"""Reports "Partner contact information" and "Contact person contact information": the page,
CSV and XLSX, for a small data set worked out by hand."""

from __future__ import annotations

import csv
import functools
import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from crm.extensions import db
from crm.partners import queries
from crm.partners.models import ContactDetail
from tests.partners.helpers import HX, text

PARTNER_HEADER = [
    "Code",
    "Partner",
    "Kind",
    "Roles",
    "Tax id",
    "City",
    "Responsible",
    "E-mails",
    "Phones",
    "Addresses",
    "Messengers",
    "Websites",
    "Preferred channel",
    "Do not contact",
]
PERSON_HEADER = [
    "Partner code",
    "Partner",
    "Contact person",
    "Position",
    "Birthday",
    "E-mails",
    "Phones",
    "Addresses",
    "Messengers",
    "Websites",
]

# A text cell that a spreadsheet would take for a formula (= + - @ first) gets a leading ', in
# CSV and XLSX alike: names, phones and messenger handles (OWASP's rule, crm.core.cells).
BETA = [
    "R-002",
    "'=SUM(1+1)",
    "Company",
    "Supplier",
    "",
    "Казань",
    "",
    "b@beta.ru",
    "",
    "",
    "",
    "",
    "",
    "",
]
ALFA = [
    "R-001",
    "Альфа",
    "Company",
    "Client",
    "7701234567",
    "Москва",
    "Мария Иванова",
    "info@alfa.ru; sales@alfa.ru",
    "'+74951234567",
    "Москва, ул. Ленина, 1 (офис)",
    "'@alfa",
    "",
    "E-mail",
    "phone calls, post",
]
GAMMA = ["R-003", "Гамма", "Person", "Client, Other", "", "Москва", "", "", "", "", "", "", "", ""]
BORIS = ["R-001", "Альфа", "Борис", "", "", "boris@alfa.ru", "", "", "", ""]
IVAN = ["R-003", "Гамма", "Иван", "CEO", "1980-01-02", "ivan@gamma.ru", "'+79161234567", "", "", ""]
BETA_VERA = ["R-002", "'=SUM(1+1)", "Вера", "", "", "", "", "", "", ""]
# In XLSX a birthday is a date cell (openpyxl reads it back as a datetime at midnight).
IVAN_XLSX = [*IVAN[:4], datetime(1980, 1, 2), *IVAN[5:]]


@pytest.fixture
def data(login_as, make_user, make_partner):
    login_as("admin")
    maria = make_user("manager", name="Мария Иванова")
    alfa = make_partner(
        name="Альфа",
        code="R-001",
        inn="7701234567",
        city="Москва",
        responsible=maria,
        emails=["info@alfa.ru", "sales@alfa.ru"],
        phones=["+74951234567"],
        preferred_channel="email",
        do_not_call=True,
        do_not_mail=True,
        persons=[{"name": "Борис", "email": "boris@alfa.ru"}],
    )
    alfa.contact_details.append(
        ContactDetail(
            kind="address",
            value="Москва, ул. Ленина, 1",
            value_norm="москва, ул. ленина, 1",
            label="офис",
        )
    )
    alfa.contact_details.append(ContactDetail(kind="messenger", value="@alfa", value_norm="@alfa"))
    make_partner(
        name="=SUM(1+1)",
        code="R-002",
        city="Казань",
        is_client=False,
        is_supplier=True,
        emails=["b@beta.ru"],
        persons=[{"name": "Вера"}],
    )
    make_partner(
        name="Гамма",
        code="R-003",
        kind="person",
        city="Москва",
        is_other=True,
        persons=[
            {
                "name": "Иван",
                "position": "CEO",
                "birthday": date(1980, 1, 2),
                "email": "ivan@gamma.ru",
                "phone": "+79161234567",
            }
        ],
    )
    db.session.commit()


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def xlsx_sheet(response):
    assert response.status_code == 200
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return load_workbook(io.BytesIO(response.get_data())).active


def xlsx_rows(sheet) -> list[list[str]]:
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]


def test_partner_report_csv_holds_every_contact_detail(client, data):
    response = client.get("/partners/reports/contacts?format=csv")

    assert csv_rows(response) == [PARTNER_HEADER, BETA, ALFA, GAMMA]
    assert response.headers["Content-Disposition"] == 'attachment; filename="partner-contacts.csv"'


def test_partner_report_csv_honours_the_filter(client, data):
    # A streamed download is read before the next request (the test client shares contexts).
    by_city = csv_rows(client.get("/partners/reports/contacts?format=csv&city=москва&sort=-name"))
    by_search = csv_rows(
        client.get(
            "/partners/reports/contacts", query_string={"format": "csv", "q": "sales@alfa.ru"}
        )
    )

    assert by_city == [PARTNER_HEADER, GAMMA, ALFA]
    assert by_search == [PARTNER_HEADER, ALFA]


def test_partner_report_xlsx_has_the_same_rows_and_keeps_formulas_as_text(client, data):
    sheet = xlsx_sheet(client.get("/partners/reports/contacts?format=xlsx"))

    assert xlsx_rows(sheet) == [PARTNER_HEADER, BETA, ALFA, GAMMA]
    cell = sheet["B2"]
    assert (cell.value, cell.data_type) == ("'=SUM(1+1)", "s")


def test_person_report_csv_and_xlsx_list_each_contact_person(client, data):
    everyone = csv_rows(client.get("/partners/reports/persons?format=csv"))
    in_moscow = csv_rows(client.get("/partners/reports/persons?format=csv&city=Москва"))
    sheet = xlsx_sheet(client.get("/partners/reports/persons?format=xlsx&city=Москва"))

    assert everyone == [PERSON_HEADER, BETA_VERA, BORIS, IVAN]
    assert in_moscow == [PERSON_HEADER, BORIS, IVAN]
    assert xlsx_rows(sheet) == [PERSON_HEADER, BORIS, IVAN_XLSX]


def test_exports_read_partners_in_batches_without_losing_or_repeating_rows(
    client, data, monkeypatch
):
    monkeypatch.setattr(queries, "iter_partners", functools.partial(queries.iter_partners, batch=2))

    assert csv_rows(client.get("/partners/reports/contacts?format=csv")) == [
        PARTNER_HEADER,
        BETA,
        ALFA,
        GAMMA,
    ]
    assert xlsx_rows(xlsx_sheet(client.get("/partners/reports/persons?format=xlsx"))) == [
        PERSON_HEADER,
        BETA_VERA,
        BORIS,
        IVAN_XLSX,
    ]


def test_partner_report_page_shows_the_filtered_rows_with_all_details(client, data):
    response = client.get("/partners/reports/contacts?city=Москва")

    page = text(response)
    assert response.status_code == 200
    assert '<h1 class="h4 me-auto mb-0">Partner contact information</h1>' in page
    assert "2 partners; the downloads hold every row of the filter." in page
    for label, value in [
        ("E-mails", "info@alfa.ru; sales@alfa.ru"),
        ("Addresses", "Москва, ул. Ленина, 1 (офис)"),
        ("Responsible", "Мария Иванова"),
        ("Do not contact", "phone calls, post"),
        ("Partner", "Гамма"),
        ("Kind", "Person"),
    ]:
        assert f'<td data-label="{label}">{value}</td>' in page
    assert "=SUM" not in page
    assert 'href="/partners/reports/contacts?format=csv&amp;city=%D0%9C' in page


def test_person_report_page_and_fragment(client, data):
    page = text(client.get("/partners/reports/persons?city=Москва"))
    fragment = client.get("/partners/reports/persons?q=гамма", headers=HX)

    assert "Contact person contact information" in page
    assert '<td data-label="Contact person">Борис</td>' in page
    assert '<td data-label="Birthday">2 Jan 1980</td>' in page
    assert "Вера" not in page
    assert "<html" not in text(fragment)
    assert '<td data-label="Contact person">Иван</td>' in text(fragment)
    assert "Борис" not in text(fragment)
    assert "HX-Request" in fragment.headers["Vary"]


def test_report_with_bad_filter_warns_and_still_downloads(client, data):
    page = client.get("/partners/reports/contacts?tag=x&sort=zzz")
    download = csv_rows(client.get("/partners/reports/contacts?format=csv&tag=x&page=%C2%B2"))

    assert page.status_code == 200
    assert "Unknown tag ignored." in text(page)
    assert download == [PARTNER_HEADER, BETA, ALFA, GAMMA]


def test_manager_report_holds_only_own_partners(client, login_as, make_partner, data):
    me = login_as("manager")
    make_partner(name="Мой", code="M-1", responsible=me, phones=["+7 (916) 111-22-33"])

    rows = csv_rows(client.get("/partners/reports/contacts?format=csv"))

    assert [r[:2] for r in rows[1:]] == [["M-1", "Мой"]]
    assert rows[1][8] == "'+7 (916) 111-22-33"
