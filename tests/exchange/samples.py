"""One small file per kind that exercises the format rules (quoting, Cyrillic, emoji, number
and date forms, padding, an unknown column, a free column order), and what each needs to exist
before it is imported."""

from __future__ import annotations

from tests.exchange.helpers import add_products

# Text with the separators, quotes, a newline, Cyrillic and an emoji: CSV must quote it.
TRICKY = 'ООО "Ромашка"; филиал, Москва\nкорпус 2 🌼'
PERSON = 'Анна "Аня" Смирнова, гл.; бух 🧮\nдоп.'
PRODUCT = 'Молоко 3,2% "Домик"; 1 л 🥛\nпастер.'
ORG = 'ООО "Альфа", Москва; 🏢\nфилиал'
WAREHOUSE = 'Склад "Север", №1; 🏭\nворота 2'
NBSP = "\u00a0"

PARTNERS = [
    [
        "name",
        "code",
        "note",
        " city ",
        "kind",
        "roles",
        "inn",
        "email",
        "phone",
        "manager",
        "created_on",
    ],
    [
        f"  {TRICKY}  ",
        "P-001",
        "ignore me",
        "Москва",
        "company",
        "client;supplier",
        "7701234567",
        "info@romashka.example",
        "+7 495 123-45-67",
        "boss@example.test",
        "01.02.2023",
    ],
    ["Иван Петров 😀", " P-002 ", "", " Казань ", "person", "", "", "", "", "", "2023-03-15"],
    ["Acme", "P-003", "", "", "", "supplier", "", "", "", "", ""],
]

CONTACTS = [
    ["phone", "name", "partner_code", "position", "email", "comment"],
    [
        "+7 912 000-11-22",
        f"  {PERSON}  ",
        "P-001",
        " Главный бухгалтер ",
        "anna@romashka.example",
        "x",
    ],
    ["", "Пётр", "P-001", "", "", ""],
    ["", "Пётр", " P-002 ", "Директор", "", ""],
]

PRODUCTS = [
    ["name", "sku", "unit", "group", "base_price", "comment"],
    [PRODUCT, " SKU-1 ", "шт", "Молочка", "1 234,50", "x"],
    ["Хлеб", "SKU-2", "", "", f"1{NBSP}234.5", ""],
    ["Тара", "SKU-3", "кг", " Молочка ", "-12,5", ""],
    ["Без цены", "SKU-4", "", "", "", ""],
]

SALES_HEADER = [
    "date",
    "doc_no",
    "partner_code",
    "sku",
    "quantity",
    "amount",
    "cost",
    "organization",
    "department",
    "warehouse",
    "manager",
    "due_date",
    "memo",
]
SALES = [
    SALES_HEADER,
    [
        "05.03.2024",
        "D-1",
        "P-001",
        "SKU-1",
        "1 234,5",
        "1 234,50",
        f"1{NBSP}000.25",
        f" {ORG} ",
        "Опт",
        "Склад 1",
        "boss@example.test",
        "2024-04-04",
        "m",
    ],
    [
        "05.03.2024",
        "D-1",
        "P-001",
        "SKU-2",
        "2",
        f"1{NBSP}000.25",
        "",
        ORG,
        "Опт",
        "Склад 1",
        "boss@example.test",
        "04.04.2024",
        "",
    ],
    ["2024-03-10", "D-2", "P-002", "SKU-1", "-1", "-12,5", "-10", "", "", "", "", "", ""],
]

PAYMENTS = [
    ["amount", "partner_code", "date", "doc_no", "bank"],
    ["1 234,50", "P-001", "05.03.2024", "D-1", "Сбер"],
    [f"1{NBSP}000.25", " P-002 ", "2024-03-06", "", ""],
    ["500", "P-002", "2024-03-06", "", ""],
    ["500,00", "P-002", "06.03.2024", " ", ""],  # the same payment again: a second one
]

STOCK = [
    ["value", "warehouse", "sku", "quantity", "comment"],
    ["1 234,50", f"  {WAREHOUSE} ", "SKU-1", "10,5", "x"],
    [f"1{NBSP}000.25", "Склад 1", "SKU-1", "-12,5", ""],
    ["0", "Склад 1", " SKU-2 ", "3", ""],
]

ROWS = {
    "partners": PARTNERS,
    "contacts": CONTACTS,
    "products": PRODUCTS,
    "sales": SALES,
    "payments": PAYMENTS,
    "stock": STOCK,
}
KINDS = list(ROWS)


SALES_LINE_HEADER = ["doc_no", "line_no", "date", "partner_code", "sku", "quantity", "amount"]
# Row 2 is valid; every other row has exactly the fault its comment names.
BAD_SALES = [
    SALES_LINE_HEADER,
    ["D-1", "1", "2024-03-05", "P-001", "SKU-1", "1", "10"],
    ["D-2", "1", "2024-03-05", "NOPE", "SKU-1", "1", "10"],  # unknown partner
    ["D-3", "1", "2024-03-05", "P-001", "NOSKU", "1", "10"],  # unknown sku
    ["D-4", "1", "31.02.2024", "P-001", "SKU-1", "1", "10"],  # no such day
    ["D-5", "1", "yesterday", "P-001", "SKU-1", "1", "10"],  # not a date
    ["D-6", "1", "2024-03-05", "P-001", "SKU-1", "1", "12abc"],  # not a number
    ["D-1", "1", "2024-03-05", "P-001", "SKU-2", "1", "10"],  # the key of row 2 again
    ["D-1", "2", "2024-03-06", "P-002", "SKU-1", "1", "10"],  # disagrees with row 2
    ["D-7", "1", "2024-03-05", "P-001", "SKU-1", "", "10"],  # quantity missing
]
BAD_SALES_ERRORS = [
    "row 3, column partner_code: unknown partner 'NOPE'",
    "row 4, column sku: unknown product 'NOSKU'",
    "row 5, column date: '31.02.2024' is not a real date",
    "row 6, column date: 'yesterday' is not a date (use YYYY-MM-DD or DD.MM.YYYY)",
    "row 7, column amount: '12abc' is not a number",
    "row 8, column doc_no: the same key (doc_no, line_no) is on an earlier row of the file",
    "row 9, column date: differs from row 2 of document D-1",
    "row 9, column partner_code: differs from row 2 of document D-1",
    "row 10, column quantity: is required",
]


def prepare(kind: str, make_partner) -> None:
    """The partners and products the kind's sample file refers to."""
    if kind in ("contacts", "sales", "payments"):
        make_partner(code="P-001", name="Ромашка")
        make_partner(code="P-002", name="Acme")
    if kind in ("sales", "stock"):
        add_products("SKU-1", "SKU-2")
