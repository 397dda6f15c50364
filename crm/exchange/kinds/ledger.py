"""products.csv (key sku), payments.csv (key date, partner_code, amount, doc_no, occurrence)
and stock.csv (key sku, warehouse): the kinds whose rows map to one table each."""

from __future__ import annotations

from sqlalchemy import select

from crm.exchange import values
from crm.exchange.kinds.base import (
    Col,
    Kind,
    RowError,
    chunks,
    money,
    name_id,
    plain,
    quantity,
    upsert,
)
from crm.extensions import db
from crm.sales.models import Payment, Product, ProductGroup, StockBalance, Warehouse


class ProductsKind(Kind):
    name = "products"
    columns = (
        Col("sku", True, max_len=64),
        Col("name", True, max_len=255),
        Col("group", max_len=200),
        Col("unit", max_len=32, default=""),
        Col("base_price", parse=money),
    )
    key = ("sku",)
    lookups = ("names", "products")

    def comparable(self, rec, ctx):
        return (rec["name"], rec["group"], rec["unit"] or "", plain(rec["base_price"]))

    def existing(self, recs, ctx):
        found = {}
        for skus in chunks([r["sku"] for r in recs]):
            rows = db.session.execute(
                select(
                    Product.sku, Product.name, ProductGroup.name, Product.unit, Product.base_price
                )  # fmt: skip
                .outerjoin(ProductGroup, ProductGroup.id == Product.group_id)
                .where(Product.sku.in_(skus))
            ).all()
            found.update({(r[0],): tuple(plain(v) for v in r[1:]) for r in rows})
        return found

    def write(self, recs, ctx, actor):
        rows = [
            {"sku": r["sku"], "name": r["name"], "unit": r["unit"] or "",
             "base_price": r["base_price"], "group_id": name_id(ctx, ProductGroup, r["group"])}
            for r in recs
        ]  # fmt: skip
        upsert(
            Product,
            rows,
            ["sku"],
            ["name", "unit", "base_price", "group_id"],
            only_new=ctx.create_only,
        )


class PaymentsKind(Kind):
    name = "payments"
    columns = (
        Col("date", True, values.day),
        Col("partner_code", True, max_len=64),
        Col("amount", True, money),
        Col("doc_no", max_len=64, default=""),
    )
    key = ("date", "partner_code", "amount", "doc_no", "occurrence")
    lookups = ("partners",)

    def check(self, row_no, rec, ctx):
        errors = []
        if rec.get("partner_code") and rec["partner_code"] not in ctx.partners:
            errors.append(
                RowError(row_no, "partner_code", f"unknown partner {rec['partner_code']!r}")
            )
        if rec.get("amount") is not None and rec["amount"] == 0:
            errors.append(RowError(row_no, "amount", "a payment of 0 is not a payment"))
        # Two equal payments on one day are two payments: number them in file order.
        if None not in (rec.get("date"), rec.get("partner_code"), rec.get("amount")):
            same = (rec["date"], rec["partner_code"], plain(rec["amount"]), rec["doc_no"] or "")
            counts = ctx.seen.setdefault("occurrence", {})
            counts[same] = counts.get(same, 0) + 1
            rec["occurrence"] = counts[same]
        return errors

    def key_of(self, rec):
        return (rec["date"], rec["partner_code"], plain(rec["amount"]), rec["doc_no"] or "",
                rec["occurrence"])  # fmt: skip

    def comparable(self, rec, ctx):
        return ()  # every column is part of the key

    def existing(self, recs, ctx):
        ids = {ctx.partners[r["partner_code"]]: r["partner_code"] for r in recs}
        found = {}
        for batch in chunks(list(ids)):
            rows = db.session.execute(
                select(
                    Payment.date,
                    Payment.partner_id,
                    Payment.amount,
                    Payment.doc_no,
                    Payment.occurrence,
                ).where(  # fmt: skip
                    Payment.partner_id.in_(batch), Payment.date.in_({r["date"] for r in recs})
                )  # fmt: skip
            ).all()
            for d, pid, amount, doc_no, occ in rows:
                found[(d, ids[pid], plain(amount), doc_no, occ)] = ()
        return found

    def write(self, recs, ctx, actor):
        rows = [
            {"date": r["date"], "partner_id": ctx.partners[r["partner_code"]],
             "amount": r["amount"], "doc_no": r["doc_no"] or "", "occurrence": r["occurrence"]}
            for r in recs
        ]  # fmt: skip
        upsert(
            Payment,
            rows,
            ["date", "partner_id", "amount", "doc_no", "occurrence"],
            only_new=ctx.create_only,
        )


class StockKind(Kind):
    name = "stock"
    columns = (
        Col("sku", True, max_len=64),
        Col("warehouse", True, max_len=200),
        Col("quantity", True, quantity),
        Col("value", True, money),
    )
    key = ("sku", "warehouse")
    lookups = ("products", "names")

    def check(self, row_no, rec, ctx):
        if rec.get("sku") and rec["sku"] not in ctx.products:
            return [RowError(row_no, "sku", f"unknown product {rec['sku']!r}")]
        return []

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
            {"product_id": ctx.products[r["sku"]],
             "warehouse_id": name_id(ctx, Warehouse, r["warehouse"]),
             "quantity": r["quantity"], "value": r["value"]}
            for r in recs
        ]  # fmt: skip
        upsert(
            StockBalance,
            rows,
            ["product_id", "warehouse_id"],
            ["quantity", "value"],
            only_new=ctx.create_only,
        )
