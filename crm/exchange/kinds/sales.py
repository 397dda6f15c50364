"""sales.csv: one row per line of a shipped sales document; key (doc_no, line_no)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import aliased

from crm.auth.models import User
from crm.core.params import MAX_MONEY
from crm.exchange import values
from crm.exchange.kinds.base import (
    Col,
    Context,
    Kind,
    RowError,
    check_email,
    chunks,
    money,
    name_id,
    plain,
    quantity,
    upsert,
    user_id,
)
from crm.extensions import db
from crm.sales.models import (
    Department,
    Organization,
    SalesDocument,
    SalesLine,
    Warehouse,
)

# Columns that describe the document, not the line: every row of a document must agree.
HEADER = ("date", "partner_code", "organization", "department", "warehouse", "manager", "due_date")


class SalesKind(Kind):
    name = "sales"
    columns = (
        Col("doc_no", True, max_len=64),
        Col("line_no", parse=values.whole),
        Col("date", True, values.day),
        Col("partner_code", True, max_len=64),
        Col("sku", True, max_len=64),
        Col("quantity", True, quantity),
        Col("amount", True, money),
        Col("cost", parse=money),
        Col("organization", max_len=200),
        Col("department", max_len=200),
        Col("warehouse", max_len=200),
        Col("manager", max_len=254),
        Col("due_date", parse=values.day),
    )
    key = ("doc_no", "line_no")
    lookups = ("partners", "products", "users", "names")

    def check(self, row_no: int, rec: dict, ctx: Context) -> list[RowError]:
        errors = []
        doc = rec.get("doc_no")
        counters = ctx.seen.setdefault("line_no", {})
        if doc is not None:
            # Default line number: the row's position within its document in the file.
            counters[doc] = counters.get(doc, 0) + 1
            if rec.get("line_no") is None:
                rec["line_no"] = counters[doc]
            elif rec["line_no"] <= 0:
                errors.append(RowError(row_no, "line_no", "must be 1 or more"))
        if doc is not None and rec.get("amount") is not None:
            # Each amount fits its column; their sum is the document's total, in one too.
            totals = ctx.seen.setdefault("totals", {})
            totals[doc] = totals.get(doc, 0) + rec["amount"]
            if abs(totals[doc]) > MAX_MONEY:
                errors.append(
                    RowError(
                        row_no,
                        "amount",
                        f"makes the document's total larger than the limit ±{MAX_MONEY}",
                    )
                )
        if rec.get("partner_code") and rec["partner_code"] not in ctx.partners:
            errors.append(
                RowError(row_no, "partner_code", f"unknown partner {rec['partner_code']!r}")
            )
        if rec.get("sku") and rec["sku"] not in ctx.products:
            errors.append(RowError(row_no, "sku", f"unknown product {rec['sku']!r}"))
        errors += check_email(row_no, "manager", rec.get("manager"))
        if doc is not None and not errors:
            header = tuple(map(rec.get, HEADER))
            headers = ctx.seen.setdefault("headers", {})
            first = headers.get(doc)
            if first is None:
                # Kept for every document (~200,000 in a million lines): equal values share one
                # object instead of a copy per document.
                shared = ctx.seen.setdefault("shared", {})
                headers[doc] = (row_no, tuple(shared.setdefault(v, v) for v in header))
            elif first[1] != header:
                for col, mine, theirs in zip(HEADER, header, first[1], strict=True):
                    if mine != theirs:
                        errors.append(RowError(row_no, col,
                                               f"differs from row {first[0]} of document {doc}"))  # fmt: skip
        # Defaulted after the comparison: a due date the file does not give cannot disagree.
        if rec.get("due_date") is None:
            rec["due_date"] = rec.get("date")
        return errors

    def comparable(self, rec: dict, ctx: Context) -> tuple:
        return (
            rec["date"], ctx.partners.get(rec["partner_code"]), ctx.products.get(rec["sku"]),
            plain(rec["quantity"]), plain(rec["amount"]), plain(rec["cost"]), rec["due_date"],
            rec["organization"], rec["department"], rec["warehouse"],
            (rec["manager"] or "").casefold() or None,
        )  # fmt: skip

    def existing(self, recs: list[dict], ctx: Context) -> dict[tuple, tuple]:
        org, dep, wh = aliased(Organization), aliased(Department), aliased(Warehouse)
        found = {}
        for doc_nos in chunks(sorted({r["doc_no"] for r in recs})):
            rows = db.session.execute(
                select(
                    SalesDocument.doc_no,
                    SalesLine.line_no,
                    SalesDocument.date,
                    SalesDocument.partner_id,
                    SalesLine.product_id,
                    SalesLine.quantity,
                    SalesLine.amount,
                    SalesLine.cost,
                    SalesDocument.due_date,
                    org.name,
                    dep.name,
                    wh.name,
                    User.email,
                )  # fmt: skip
                .join(SalesLine, SalesLine.document_id == SalesDocument.id)
                .outerjoin(org, org.id == SalesDocument.organization_id)
                .outerjoin(dep, dep.id == SalesDocument.department_id)
                .outerjoin(wh, wh.id == SalesDocument.warehouse_id)
                .outerjoin(User, User.id == SalesDocument.manager_id)
                .where(SalesDocument.doc_no.in_(doc_nos))
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
                "doc_no": r["doc_no"],
                "date": r["date"],
                "partner_id": ctx.partners[r["partner_code"]],
                "organization_id": name_id(ctx, Organization, r["organization"]),
                "department_id": name_id(ctx, Department, r["department"]),
                "warehouse_id": name_id(ctx, Warehouse, r["warehouse"]),
                "manager_id": user_id(ctx, r["manager"]),
                "due_date": r["due_date"],
            }  # fmt: skip
        upsert(
            SalesDocument,
            list(headers.values()),
            ["doc_no"],
            [
                "date",
                "partner_id",
                "organization_id",
                "department_id",
                "warehouse_id",
                "manager_id",
                "due_date",
            ],
            only_new=ctx.create_only,
        )
        ids = {}
        for doc_nos in chunks(list(headers)):
            ids.update(db.session.execute(
                select(SalesDocument.doc_no, SalesDocument.id)
                .where(SalesDocument.doc_no.in_(doc_nos))
            ).all())  # fmt: skip
        lines = [
            {"document_id": ids[r["doc_no"]], "line_no": r["line_no"], "date": r["date"],
             "partner_id": ctx.partners[r["partner_code"]], "product_id": ctx.products[r["sku"]],
             "quantity": r["quantity"], "amount": r["amount"], "cost": r["cost"]}
            for r in recs
        ]  # fmt: skip
        upsert(SalesLine, lines, ["document_id", "line_no"],
               ["date", "partner_id", "product_id", "quantity", "amount", "cost"])  # fmt: skip
        ctx.seen.setdefault("touched", set()).update(ids.values())

    def finish(self, ctx: Context) -> None:
        from crm.sales.services import recompute_document_totals

        touched = sorted(ctx.seen.get("touched", ()))
        doc = SalesDocument.__table__
        doc_date = select(doc.c.date).where(doc.c.id == SalesLine.document_id).scalar_subquery()
        doc_partner = (
            select(doc.c.partner_id).where(doc.c.id == SalesLine.document_id).scalar_subquery()
        )
        for batch in chunks(touched):
            # Lines of a document whose date or partner changed, that were not in the file,
            # follow their document (analytics read date and partner from the lines).
            db.session.execute(
                update(SalesLine)
                .where(SalesLine.document_id.in_(batch))
                .where((SalesLine.date != doc_date) | (SalesLine.partner_id != doc_partner))
                .values(date=doc_date, partner_id=doc_partner)
            )
        recompute_document_totals(touched)
