"""The import/export kinds of the sales ledger: products.csv (key sku), sales.csv (one row per
line of a shipped document; key doc_no, line_no; a stored document's status changed by a row
is reported to the client notifications), payments.csv (key date, partner_code, amount,
doc_no, occurrence) and stock.csv (key sku, warehouse). Registered in crm/sales/__init__.py."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased

from crm.auth.models import User
from crm.core.params import MAX_MONEY
from crm.exchange import values
from crm.exchange.exporter import stream
from crm.exchange.kind import (
    INVALID,
    Col,
    Context,
    Kind,
    Lookup,
    RowError,
    check_email,
    chunks,
    money,
    plain,
    quantity,
    unknown,
    upsert,
)
from crm.exchange.lookups import USERS, by_name
from crm.extensions import db
from crm.partners.exchange import PARTNER_CODE, PARTNER_CODES, unknown_partner
from crm.partners.models import Partner
from crm.sales.models import (
    ORDER_STATUSES,
    Department,
    Organization,
    Payment,
    Product,
    ProductGroup,
    SalesDocument,
    SalesLine,
    StockBalance,
    Warehouse,
)
from crm.sales.services import settle_documents, store_documents


def product_ids(skus: set[str] | None) -> dict[str, int]:
    """Product ids by SKU (all, or these SKUs)."""
    stmt = select(Product.sku, Product.id)
    if skus is not None:
        stmt = stmt.where(Product.sku.in_(skus))
    return dict(db.session.execute(stmt).all())


PRODUCT_SKUS = Lookup("products", product_ids, field="sku")
GROUPS, WAREHOUSES = by_name(ProductGroup), by_name(Warehouse)
ORGANIZATIONS, DEPARTMENTS = by_name(Organization), by_name(Department)


def unknown_product(row_no: int, rec: dict, ctx: Context) -> list[RowError]:
    return unknown(row_no, rec, ctx, "sku", "products", "product")


def order_status(value) -> str:
    """A document's status: shipped, ordered, paid or cancelled (any case)."""
    text = values.text(value).casefold()
    if text not in ORDER_STATUSES:
        raise values.BadValue(
            _(
                "%(value)s is not a status: use shipped, ordered, paid or cancelled",
                value=repr(values.text(value)[:40]),
            )
        )
    return text


class ProductsKind(Kind):
    name = "products"
    title = _l("Products")
    columns = (
        Col(
            "sku",
            True,
            max_len=64,
            description=_l("The product's code (SKU): unique, up to 64 characters."),
            example="A-100",
        ),
        Col(
            "name",
            True,
            max_len=255,
            description=_l("The product's name."),
            example="Бумага офисная А4",
        ),
        Col(
            "group",
            max_len=200,
            description=_l("Product group (created on first use)."),
            example="Канцтовары",
        ),
        Col("unit", max_len=32, default="", description=_l("Unit of measure."), example="пач"),
        Col(
            "base_price",
            parse=money,
            description=_l("Base price in the base currency."),
            example="350.00",
        ),
    )
    key = ("sku",)
    order = 30
    lookups = (GROUPS,)

    def comparable(self, rec, ctx):
        return (rec["name"], rec["group"], rec["unit"] or "", plain(rec["base_price"]))

    def existing(self, recs, ctx):
        found = {}
        for skus in chunks([r["sku"] for r in recs]):
            rows = db.session.execute(
                select(
                    Product.sku, Product.name, ProductGroup.name, Product.unit, Product.base_price
                )
                .outerjoin(ProductGroup, ProductGroup.id == Product.group_id)
                .where(Product.sku.in_(skus))
            ).all()
            found.update({(r[0],): tuple(plain(v) for v in r[1:]) for r in rows})
        return found

    def write(self, recs, ctx, actor):
        rows = [
            {
                "sku": r["sku"],
                "name": r["name"],
                "unit": r["unit"] or "",
                "base_price": r["base_price"],
                "group_id": ctx.id_for("product_group", r["group"]),
            }
            for r in recs
        ]
        upsert(
            Product,
            rows,
            ["sku"],
            ["name", "unit", "base_price", "group_id"],
            only_new=ctx.create_only,
        )

    def export(self):
        return stream(
            select(Product.sku, Product.name, ProductGroup.name, Product.unit, Product.base_price)
            .outerjoin(ProductGroup, ProductGroup.id == Product.group_id)
            .order_by(Product.sku)
        )


# Columns that describe the document, not the line: every row of a document must agree.
HEADER = (
    "date",
    "partner_code",
    "organization",
    "department",
    "warehouse",
    "manager",
    "due_date",
    "status",
)


_org, _dep, _wh = aliased(Organization), aliased(Department), aliased(Warehouse)
# The names a sales row gives for its document's organization, department, warehouse, manager.
_NAMES = (_org.name, _dep.name, _wh.name, User.email)


def _lines(*columns):
    """A select of `columns` over the sales lines joined to their documents and the names."""
    return (
        select(*columns)
        .select_from(SalesDocument)
        .join(SalesLine, SalesLine.document_id == SalesDocument.id)
        .outerjoin(_org, _org.id == SalesDocument.organization_id)
        .outerjoin(_dep, _dep.id == SalesDocument.department_id)
        .outerjoin(_wh, _wh.id == SalesDocument.warehouse_id)
        .outerjoin(User, User.id == SalesDocument.manager_id)
    )


class SalesKind(Kind):
    name = "sales"
    title = _l("Sales")
    columns = (
        Col("doc_no", True, max_len=64, description=_l("Document number."), example="РН-000123"),
        Col(
            "line_no",
            parse=values.whole,
            description=_l(
                "Line number within the document (default: the row's place among the document's rows in the file)."
            ),
            example="1",
        ),
        Col(
            "date",
            True,
            values.day,
            description=_l("Document date, YYYY-MM-DD or DD.MM.YYYY."),
            example="2026-12-01",
        ),
        PARTNER_CODE,
        Col(
            "sku",
            True,
            max_len=64,
            description=_l("The SKU of a product that exists in the CRM."),
            example="A-100",
        ),
        Col(
            "quantity",
            True,
            quantity,
            description=_l("Quantity in the product's unit; negative for a return."),
            example="10",
        ),
        Col(
            "amount",
            True,
            money,
            description=_l(
                "Line revenue after discounts, in the base currency; negative for a return."
            ),
            example="3500.00",
        ),
        Col(
            "cost",
            parse=money,
            description=_l("Line cost; gross profit = amount − cost."),
            example="2800.00",
        ),
        Col(
            "organization",
            max_len=200,
            description=_l("Organization (created on first use)."),
            example="ООО «Торговый дом»",
        ),
        Col(
            "department",
            max_len=200,
            description=_l("Department (created on first use)."),
            example="Отдел продаж",
        ),
        Col(
            "warehouse",
            max_len=200,
            description=_l("Warehouse (created on first use)."),
            example="Основной склад",
        ),
        Col("manager", max_len=254, description=_l("E-mail of the responsible user.")),
        Col(
            "due_date",
            parse=values.day,
            description=_l("Payment due date of the document (default: the document date)."),
            example="2026-12-31",
        ),
        Col(
            "status",
            parse=order_status,
            description=_l(
                "The document's status: shipped, ordered, paid or cancelled (a new document "
                "without one: shipped; a stored one keeps its status). A change is notified "
                "to the client when the order status notification is on."
            ),
            example="shipped",
        ),
    )
    key = ("doc_no", "line_no")
    order = 40
    # check() numbers lines and defaults due dates in the record itself; write reads no ctx.seen.
    writes_checked_records = True
    lookups = (PARTNER_CODES, PRODUCT_SKUS, USERS, ORGANIZATIONS, DEPARTMENTS, WAREHOUSES)

    def check(self, row_no: int, rec: dict, ctx: Context) -> list[RowError]:
        errors = []
        doc = rec.get("doc_no")
        # What the file said so far about each document: [lines, Σ amounts, first row's number
        # and header]. One list per document (~200,000 in a million lines), not three dicts.
        docs = ctx.seen.setdefault("documents", {})
        seen = None
        if doc is not None:
            seen = docs.get(doc)
            if seen is None:
                seen = docs[doc] = [0, 0, None]
            # Default line number: the row's position within its document in the file.
            seen[0] += 1
            if rec.get("line_no") is None:
                rec["line_no"] = seen[0]
            elif rec["line_no"] <= 0:
                errors.append(RowError(row_no, "line_no", INVALID, _("must be 1 or more")))
            if rec.get("amount") is not None:
                # Each amount fits its column; their sum is the document's total, in one too.
                seen[1] += rec["amount"]
                if abs(seen[1]) > MAX_MONEY:
                    errors.append(
                        RowError(
                            row_no,
                            "amount",
                            INVALID,
                            _(
                                "makes the document's total larger than the limit ±%(limit)s",
                                limit=MAX_MONEY,
                            ),
                        )
                    )
        errors += unknown_partner(row_no, rec, ctx)
        errors += unknown_product(row_no, rec, ctx)
        errors += check_email(row_no, "manager", rec.get("manager"))
        if seen is not None and not errors:
            header = tuple(map(rec.get, HEADER))
            first = seen[2]
            if first is None:
                # Equal values share one object instead of a copy per document.
                shared = ctx.seen.setdefault("shared", {})
                seen[2] = (row_no, tuple(shared.setdefault(v, v) for v in header))
            elif first[1] != header:
                for col, mine, theirs in zip(HEADER, header, first[1], strict=True):
                    if mine != theirs:
                        errors.append(
                            RowError(
                                row_no,
                                col,
                                INVALID,
                                _(
                                    "differs from row %(row)s of document %(doc)s",
                                    row=first[0],
                                    doc=doc,
                                ),
                            )
                        )
        # Defaulted after the comparison: a due date the file does not give cannot disagree.
        if rec.get("due_date") is None:
            rec["due_date"] = rec.get("date")
        return errors

    def comparable(self, rec: dict, ctx: Context) -> tuple:
        return (
            rec["date"],
            ctx["partners"].get(rec["partner_code"]),
            ctx["products"].get(rec["sku"]),
            plain(rec["quantity"]),
            plain(rec["amount"]),
            plain(rec["cost"]),
            rec["due_date"],
            rec["organization"],
            rec["department"],
            rec["warehouse"],
            (rec["manager"] or "").casefold() or None,
            rec["status"],
        )

    def same(self, rec: dict, stored: tuple, ctx: Context) -> bool:
        # A row without a status keeps the stored one: only the other values are compared.
        mine = self.comparable(rec, ctx)
        if rec["status"] is None:
            return mine[:-1] == stored[:-1]
        return mine == stored

    def existing(self, recs: list[dict], ctx: Context) -> dict[tuple, tuple]:
        found = {}
        for doc_nos in chunks(sorted({r["doc_no"] for r in recs})):
            rows = db.session.execute(
                _lines(
                    SalesDocument.doc_no,
                    SalesLine.line_no,
                    SalesDocument.date,
                    SalesDocument.partner_id,
                    SalesLine.product_id,
                    SalesLine.quantity,
                    SalesLine.amount,
                    SalesLine.cost,
                    SalesDocument.due_date,
                    *_NAMES,
                    SalesDocument.status,
                ).where(SalesDocument.doc_no.in_(doc_nos))
            ).all()
            for r in rows:
                found[(r[0], r[1])] = tuple(map(plain, r[2:]))
        return found

    def write(self, recs: list[dict], ctx: Context, actor) -> None:
        headers = {}
        for r in recs:
            if r["doc_no"] in headers:
                continue  # the document's other lines: validation made their columns agree
            headers[r["doc_no"]] = {
                "date": r["date"],
                "partner_id": ctx["partners"][r["partner_code"]],
                "organization_id": ctx.id_for("organization", r["organization"]),
                "department_id": ctx.id_for("department", r["department"]),
                "warehouse_id": ctx.id_for("warehouse", r["warehouse"]),
                "manager_id": ctx.id_for("users", (r["manager"] or "").casefold()),
                "due_date": r["due_date"],
                "status": r["status"],
            }
        lines = [
            {
                "doc_no": r["doc_no"],
                "line_no": r["line_no"],
                "date": r["date"],
                "partner_id": headers[r["doc_no"]]["partner_id"],
                "product_id": ctx["products"][r["sku"]],
                "quantity": r["quantity"],
                "amount": r["amount"],
                "cost": r["cost"],
            }
            for r in recs
        ]
        touched = store_documents(headers, lines, only_new=ctx.create_only)
        ctx.seen.setdefault("touched", set()).update(touched)

    def finish(self, ctx: Context) -> None:
        settle_documents(ctx.seen.get("touched", ()))

    def export(self):
        return stream(
            _lines(
                SalesDocument.doc_no,
                SalesLine.line_no,
                SalesDocument.date,
                Partner.code,
                Product.sku,
                SalesLine.quantity,
                SalesLine.amount,
                SalesLine.cost,
                *_NAMES,
                SalesDocument.due_date,
                SalesDocument.status,
            )
            .join(Partner, Partner.id == SalesDocument.partner_id)
            .join(Product, Product.id == SalesLine.product_id)
            .order_by(SalesDocument.doc_no, SalesLine.line_no)
        )


class PaymentsKind(Kind):
    name = "payments"
    title = _l("Payments")
    columns = (
        Col(
            "date",
            True,
            values.day,
            description=_l("Payment date, YYYY-MM-DD or DD.MM.YYYY."),
            example="2026-12-10",
        ),
        PARTNER_CODE,
        Col(
            "amount",
            True,
            money,
            description=_l("Amount paid, in the base currency."),
            example="3500.00",
        ),
        Col(
            "doc_no",
            max_len=64,
            default="",
            description=_l(
                "The number of the document paid; empty: the partner's oldest open documents are paid first."
            ),
            example="РН-000123",
        ),
    )
    key = ("date", "partner_code", "amount", "doc_no", "occurrence")
    order = 50
    lookups = (PARTNER_CODES,)

    def check(self, row_no, rec, ctx):
        errors = unknown_partner(row_no, rec, ctx)
        if rec.get("amount") is not None and rec["amount"] == 0:
            errors.append(RowError(row_no, "amount", INVALID, _("a payment of 0 is not a payment")))
        # Two equal payments on one day are two payments: number them in file order.
        if None not in (rec.get("date"), rec.get("partner_code"), rec.get("amount")):
            same = (rec["date"], rec["partner_code"], plain(rec["amount"]), rec["doc_no"] or "")
            counts = ctx.seen.setdefault("occurrence", {})
            counts[same] = counts.get(same, 0) + 1
            rec["occurrence"] = counts[same]
        return errors

    def key_of(self, rec):
        return (
            rec["date"],
            rec["partner_code"],
            plain(rec["amount"]),
            rec["doc_no"] or "",
            rec["occurrence"],
        )

    def comparable(self, rec, ctx):
        return ()  # every column is part of the key

    def existing(self, recs, ctx):
        ids = {ctx["partners"][r["partner_code"]]: r["partner_code"] for r in recs}
        found = {}
        for batch in chunks(list(ids)):
            rows = db.session.execute(
                select(
                    Payment.date,
                    Payment.partner_id,
                    Payment.amount,
                    Payment.doc_no,
                    Payment.occurrence,
                ).where(Payment.partner_id.in_(batch), Payment.date.in_({r["date"] for r in recs}))
            ).all()
            for d, pid, amount, doc_no, occ in rows:
                found[(d, ids[pid], plain(amount), doc_no, occ)] = ()
        return found

    def write(self, recs, ctx, actor):
        rows = [
            {
                "date": r["date"],
                "partner_id": ctx["partners"][r["partner_code"]],
                "amount": r["amount"],
                "doc_no": r["doc_no"] or "",
                "occurrence": r["occurrence"],
            }
            for r in recs
        ]
        upsert(
            Payment,
            rows,
            ["date", "partner_id", "amount", "doc_no", "occurrence"],
            only_new=ctx.create_only,
        )

    def export(self):
        # Occurrence is not a column: equal payments are written in their occurrence order, so
        # a re-import numbers them the same way.
        return (
            row[:4]
            for row in stream(
                select(
                    Payment.date, Partner.code, Payment.amount, Payment.doc_no, Payment.occurrence
                )
                .join(Partner, Partner.id == Payment.partner_id)
                .order_by(
                    Payment.date, Partner.code, Payment.amount, Payment.doc_no, Payment.occurrence
                )
            )
        )


class StockKind(Kind):
    name = "stock"
    title = _l("Stock")
    columns = (
        Col(
            "sku",
            True,
            max_len=64,
            description=_l("The SKU of a product that exists in the CRM."),
            example="A-100",
        ),
        Col(
            "warehouse",
            True,
            max_len=200,
            description=_l("Warehouse (created on first use)."),
            example="Основной склад",
        ),
        Col("quantity", True, quantity, description=_l("Quantity in stock now."), example="120"),
        Col(
            "value",
            True,
            money,
            description=_l("Value of the stock in the base currency."),
            example="42000.00",
        ),
    )
    key = ("sku", "warehouse")
    order = 60
    lookups = (PRODUCT_SKUS, WAREHOUSES)

    def check(self, row_no, rec, ctx):
        return unknown_product(row_no, rec, ctx)

    def comparable(self, rec, ctx):
        return (plain(rec["quantity"]), plain(rec["value"]))

    def existing(self, recs, ctx):
        found = {}
        for batch in chunks(list({r["sku"] for r in recs})):
            rows = db.session.execute(
                select(Product.sku, Warehouse.name, StockBalance.quantity, StockBalance.value)
                .join(Product, Product.id == StockBalance.product_id)
                .join(Warehouse, Warehouse.id == StockBalance.warehouse_id)
                .where(Product.sku.in_(batch))
            ).all()
            found.update({(s, w): (plain(q), plain(v)) for s, w, q, v in rows})
        return found

    def write(self, recs, ctx, actor):
        rows = [
            {
                "product_id": ctx["products"][r["sku"]],
                "warehouse_id": ctx.id_for("warehouse", r["warehouse"]),
                "quantity": r["quantity"],
                "value": r["value"],
            }
            for r in recs
        ]
        upsert(
            StockBalance,
            rows,
            ["product_id", "warehouse_id"],
            ["quantity", "value"],
            only_new=ctx.create_only,
        )

    def export(self):
        return stream(
            select(Product.sku, Warehouse.name, StockBalance.quantity, StockBalance.value)
            .join(Product, Product.id == StockBalance.product_id)
            .join(Warehouse, Warehouse.id == StockBalance.warehouse_id)
            .order_by(Product.sku, Warehouse.name)
        )


PRODUCTS, SALES, PAYMENTS, STOCK = ProductsKind(), SalesKind(), PaymentsKind(), StockKind()
