"""The sales history the accounting system owns: products, sales documents and their lines,
payments and stock balances, plus the organizations, departments and warehouses they name."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.timeutil import utcnow
from crm.extensions import db

Money = Numeric(14, 2)
Quantity = Numeric(14, 3)
ORDER_STATUSES = ("shipped", "ordered", "paid", "cancelled")


class NamedMixin:
    """A small reference list entry created on first use by its name (organization, …)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Organization(NamedMixin, db.Model):
    __tablename__ = "organization"


class Department(NamedMixin, db.Model):
    __tablename__ = "department"


class Warehouse(NamedMixin, db.Model):
    __tablename__ = "warehouse"


class ProductGroup(NamedMixin, db.Model):
    __tablename__ = "product_group"


class Product(db.Model):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("product_group.id"))
    unit: Mapped[str] = mapped_column(String(32), default="")
    base_price: Mapped[Decimal | None] = mapped_column(Money)

    group = relationship(ProductGroup, lazy="joined")


class SalesDocument(db.Model):
    """A shipped sales document (order/invoice); its lines carry products and amounts."""

    __tablename__ = "sales_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_no: Mapped[str] = mapped_column(String(64), unique=True)
    date: Mapped[date]
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    due_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="shipped")
    # Σ line amounts, kept by the service that writes lines: receivables read documents only.
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # The rest of the document's summary, kept with `total` (crm.sales.summaries): analytics
    # of partners group these 5× fewer rows instead of the lines. Gross profit Σ (amount −
    # cost) over the lines whose cost is known (an unknown cost is not a zero cost: such a
    # line is left out of profit), Σ quantity, the number of lines and of lines with amount > 0
    # (purchases).
    profit_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    quantity_total: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    line_count: Mapped[int] = mapped_column(default=0)
    purchase_lines: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list[SalesLine]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="SalesLine.line_no"
    )

    __table_args__ = (
        # Receivables: a partner's documents in settlement order; `total` makes it covering for
        # the overdue totals' pass over every document (crm.sales.receivables).
        Index("ix_sales_document_partner", "partner_id", "due_date", "date", "total"),
        Index("ix_sales_document_date", "date"),
        # Covering the analytics of partners over a window (ABC/XYZ, stages, KPIs): read from
        # the index alone, in date order.
        Index(
            "ix_sales_document_summary",
            "date",
            "partner_id",
            "total",
            "profit_total",
            "quantity_total",
            "line_count",
            "purchase_lines",
        ),
        # A partner's purchases in date order: last and first purchase (stages, new clients).
        Index("ix_sales_document_partner_purchase", "partner_id", "purchase_lines", "date"),
    )


class SalesLine(db.Model):
    """One line of a sales document. Date and partner are copied from the document so that
    analytics group lines without a join."""

    __tablename__ = "sales_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("sales_document.id", ondelete="CASCADE"))
    line_no: Mapped[int]
    date: Mapped[date]
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    amount: Mapped[Decimal] = mapped_column(Money)
    cost: Mapped[Decimal | None] = mapped_column(Money)

    document: Mapped[SalesDocument] = relationship(back_populates="lines")
    product = relationship(Product, lazy="joined")

    __table_args__ = (
        UniqueConstraint("document_id", "line_no", name="uq_sales_line_doc_line"),
        Index("ix_sales_line_partner_date", "partner_id", "date"),
        # Covering "who bought these products (a product group) in a period" (the segment
        # condition crm.sales.conditions "bought"): read from the index alone, product by
        # product, where PostgreSQL otherwise scanned every line of the period.
        Index(
            "ix_sales_line_product_date",
            "product_id",
            "date",
            "partner_id",
            "document_id",
            "amount",
        ),
        Index("ix_sales_line_date", "date"),
    )


class SalesProductMonth(db.Model):
    """A product's sales in a calendar month (`month`: its first day), kept by
    crm.sales.summaries from the lines: analytics of products read these instead of the lines.
    A month whose lines changed is listed in SalesDirtyMonth until it is summed again."""

    __tablename__ = "sales_product_month"

    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(primary_key=True)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    # Σ (amount − cost) over the lines whose cost is known (see SalesDocument.profit_total).
    profit: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    quantity: Mapped[Decimal] = mapped_column(Numeric(16, 3))
    lines: Mapped[int]

    __table_args__ = (
        Index(
            "ix_sales_product_month_month", "month", "product_id", "revenue", "profit", "quantity"
        ),
    )


class SalesPartnerMonth(db.Model):
    """A partner's sales in a calendar month, kept by crm.sales.summaries from the documents'
    summaries as SalesProductMonth is (the same marks): analytics of partners over whole months
    read these. `documents`: documents with lines; `purchase_lines`: lines with amount > 0."""

    __tablename__ = "sales_partner_month"

    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(primary_key=True)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    profit: Mapped[Decimal] = mapped_column(Numeric(16, 2))  # as SalesDocument.profit_total
    quantity: Mapped[Decimal] = mapped_column(Numeric(16, 3))
    documents: Mapped[int]
    purchase_lines: Mapped[int]

    __table_args__ = (
        Index(
            "ix_sales_partner_month_month",
            "month",
            "partner_id",
            "revenue",
            "profit",
            "quantity",
            "documents",
            "purchase_lines",
        ),
    )


class SalesDirtyMonth(db.Model):
    """A month (its first day) whose lines changed since its SalesProductMonth and
    SalesPartnerMonth rows were summed; readers take such a month from the lines (documents),
    `refresh_months` sums it again."""

    __tablename__ = "sales_dirty_month"

    month: Mapped[date] = mapped_column(primary_key=True)


class Payment(db.Model):
    """A payment from a partner; allocation to documents is computed (analytics.md)."""

    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[date]
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    doc_no: Mapped[str] = mapped_column(String(64), default="")
    # The n-th identical (date, partner, amount, doc_no) payment: two equal payments on one day
    # are two payments, and re-importing the file still changes nothing.
    occurrence: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        UniqueConstraint(
            "date", "partner_id", "amount", "doc_no", "occurrence", name="uq_payment_key"
        ),
        # `amount` in both makes them covering for the overdue-debt condition (crm.sales.
        # receivables.partners_overdue_above): a partner's payments summed, and what the
        # payments naming one document paid, read from the index alone.
        Index("ix_payment_partner_date", "partner_id", "date", "amount"),
        Index("ix_payment_doc_no", "doc_no", "partner_id", "date", "amount"),
        # The few refunds (negative payments), for the same condition: which partners take
        # the whole receivables rule, without reading everyone's payments again.
        Index(
            "ix_payment_refunds",
            "partner_id",
            "date",
            "amount",
            sqlite_where=text("amount < 0"),
            postgresql_where=text("amount < 0"),
        ),
    )


class StockBalance(db.Model):
    __tablename__ = "stock_balance"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    value: Mapped[Decimal] = mapped_column(Money)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("product_id", "warehouse_id", name="uq_stock_balance_key"),)
