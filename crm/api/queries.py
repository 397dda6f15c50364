"""Reads of the JSON API: each resource's items with the import's columns, a page of them,
one by its key. A manager reads only his own partners' data (the rows filter of crm/partners/policy.py);
products and stock are everyone's. Owns the resource registry the views and OpenAPI use."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, selectinload

from crm.api.fields import out
from crm.auth.models import User
from crm.core.params import parse_text
from crm.core.policy import visible
from crm.core.text import fold
from crm.deals.models import Deal, DealKind, DealStage, LossReason
from crm.exchange import values
from crm.exchange.kind import Col, Kind, money
from crm.exchange.registry import kind_named
from crm.extensions import db
from crm.partners.models import ContactPerson, Partner
from crm.sales.exchange import HEADER
from crm.sales.models import (
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

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 500
# The columns of a sales row that describe the document, in the kind's order; the others
# (line_no, sku, quantity, amount, cost) are a line's.
DOCUMENT_FIELDS = ("doc_no", *HEADER)


def main_detail(owner, kind: str) -> str | None:
    """The main e-mail or phone of a partner or contact person (what the import sets)."""
    found = [d for d in owner.contact_details if d.kind == kind]
    main = next((d for d in found if d.is_main), found[0] if found else None)
    return main.value if main else None


@dataclass(frozen=True)
class Filter:
    """A `?name=value` equality filter of a list (key fields are filters too)."""

    name: str
    parse: Callable = parse_text


@dataclass
class Resource(ABC):
    """One resource of the API: its items are the rows (or documents) of an import kind."""

    name: str  # URL segment
    kind_name: str
    title: str  # "partner", for messages
    key: tuple[str, ...]  # the fields in the item's URL, in order
    filters: tuple[Filter, ...] = ()
    partner_data: bool = True  # belongs to a partner: a manager sees and writes his own only
    updatable: bool = True
    read_only: tuple[str, ...] = ()  # shown, never written (ids, totals)
    key_converters: dict[str, str] = field(default_factory=dict)  # URL converters, else string

    @property
    def kind(self) -> Kind:
        return kind_named(self.kind_name)

    @property
    def endpoint(self) -> str:
        return self.name.replace("-", "_")

    @property
    def fields(self) -> tuple[Col, ...]:
        """The item's own fields (a sales document's lines are apart)."""
        return self.kind.columns

    def converter(self, name: str) -> str:
        """The last segment takes slashes (a code "A/1"); earlier ones cannot."""
        if name in self.key_converters:
            return self.key_converters[name]
        return "path" if name == self.key[-1] else "string"

    # --- what subclasses define ---------------------------------------------------------

    @abstractmethod
    def stmt(self) -> Select:
        """Defined by each resource."""

    @abstractmethod
    def sql(self, name: str):
        """The SQL expression of a key or filter field."""

    @abstractmethod
    def order(self) -> tuple:
        """Defined by each resource."""

    @abstractmethod
    def items(self, rows) -> list[dict]:
        """Defined by each resource."""

    # --- reads --------------------------------------------------------------------------

    def select(self, user, where=()) -> Select:
        """The resource's rows that `user` may see (all of them for user None)."""
        stmt = self.stmt().where(*where)
        if self.partner_data and user is not None:
            stmt = visible(user, Partner, stmt)
        return stmt

    def where(self, wanted: dict) -> list:
        return [self.sql(name) == value for name, value in wanted.items()]

    def page(self, user, wanted: dict, page: int, per_page: int) -> tuple[list[dict], int]:
        """One page of the items matching `wanted` ({field: value}), and how many match."""
        stmt = self.select(user, self.where(wanted))
        total = db.session.execute(
            select(func.count()).select_from(stmt.order_by(None).subquery())
        ).scalar_one()
        rows = db.session.execute(
            stmt.order_by(*self.order()).limit(per_page).offset((page - 1) * per_page)
        ).all()
        return self.items(rows), total

    def get(self, user, key: dict) -> dict | None:
        """The item with this key, if `user` may see it (user None: whoever wrote it)."""
        rows = db.session.execute(
            self.select(user, self.where(key)).order_by(*self.order()).limit(1)
        ).all()
        return self.items(rows)[0] if rows else None

    def exists(self, key: dict) -> bool:
        return self.get(None, key) is not None

    def record(self, key: dict):
        """The stored object whose version guards an update (crm.core.versioning); None for
        a resource without versions."""
        return None

    @property
    def versioned(self) -> bool:
        return type(self).record is not Resource.record

    def item(self, data: dict) -> dict:
        """An item from stored values by column name, written out as the API shows them."""
        shown = {name: data.get(name) for name in self.read_only}
        shown.update({c.name: out(c, data.get(c.name)) for c in self.fields})
        return shown


class Partners(Resource):
    def stmt(self):
        return (
            select(Partner)
            .where(Partner.merged_into_id.is_(None))
            .options(selectinload(Partner.contact_details))
        )

    def sql(self, name):
        return {"code": Partner.code, "manager": User.email}[name]

    def where(self, wanted):
        clauses = [Partner.code == wanted["code"]] if "code" in wanted else []
        if "manager" in wanted:
            ids = select(User.id).where(User.email == wanted["manager"].casefold())
            clauses.append(Partner.responsible_id.in_(ids))
        return clauses

    def order(self):
        return (Partner.code,)

    def items(self, rows):
        return [
            self.item(
                {
                    "code": p.code,
                    "name": p.name,
                    "kind": p.kind,
                    "roles": ";".join(p.roles),
                    "inn": p.inn,
                    "email": main_detail(p, "email"),
                    "phone": main_detail(p, "phone"),
                    "city": p.city,
                    "manager": p.responsible.email if p.responsible else None,
                    "created_on": p.created_on,
                }
            )
            for (p,) in rows
        ]

    def record(self, key):
        return db.session.execute(
            select(Partner).where(Partner.code == key["code"], Partner.merged_into_id.is_(None))
        ).scalar_one_or_none()

    def exists(self, key):
        # A merged partner's code still names a partner: it cannot be taken by a new one.
        return (
            db.session.execute(select(Partner.id).where(Partner.code == key["code"])).first()
            is not None
        )


class Contacts(Resource):
    def stmt(self):
        return (
            select(ContactPerson, Partner.code)
            .join(Partner, Partner.id == ContactPerson.partner_id)
            .where(Partner.merged_into_id.is_(None))
            .options(selectinload(ContactPerson.contact_details))
        )

    def sql(self, name):
        return {"partner_code": Partner.code, "name": ContactPerson.name}[name]

    def where(self, wanted):
        # The name is matched as the unique key holds it (folded), as the import matches it.
        clauses = [Partner.code == wanted["partner_code"]] if "partner_code" in wanted else []
        if "name" in wanted:
            clauses.append(ContactPerson.name_norm == fold(wanted["name"]))
        return clauses

    def order(self):
        return (Partner.code, ContactPerson.name, ContactPerson.id)

    def record(self, key):
        return db.session.execute(
            select(ContactPerson)
            .join(Partner, Partner.id == ContactPerson.partner_id)
            .where(
                Partner.code == key["partner_code"],
                ContactPerson.name == key["name"],
                Partner.merged_into_id.is_(None),
            )
            .order_by(ContactPerson.id)
            .limit(1)
        ).scalar_one_or_none()

    def items(self, rows):
        return [
            self.item(
                {
                    "partner_code": code,
                    "name": c.name,
                    "position": c.position,
                    "email": main_detail(c, "email"),
                    "phone": main_detail(c, "phone"),
                }
            )
            for c, code in rows
        ]


class _Columns(Resource):
    """A resource read as plain columns: `columns` maps each field to its SQL expression."""

    @abstractmethod
    def columns(self) -> dict:
        """Defined by each resource."""

    def stmt(self):
        return self.joins(select(*(e.label(n) for n, e in self.columns().items())))

    def joins(self, stmt: Select) -> Select:
        return stmt

    def sql(self, name):
        return self.columns()[name]

    def items(self, rows):
        return [self.item(row._asdict()) for row in rows]


class Products(_Columns):
    def columns(self):
        return {
            "sku": Product.sku,
            "name": Product.name,
            "group": ProductGroup.name,
            "unit": Product.unit,
            "base_price": Product.base_price,
        }

    def joins(self, stmt):
        return stmt.outerjoin(ProductGroup, ProductGroup.id == Product.group_id)

    def order(self):
        return (Product.sku,)


class Payments(_Columns):
    def columns(self):
        return {
            "id": Payment.id,
            "date": Payment.date,
            "partner_code": Partner.code,
            "amount": Payment.amount,
            "doc_no": Payment.doc_no,
        }

    def joins(self, stmt):
        return stmt.join(Partner, Partner.id == Payment.partner_id)

    def order(self):
        return (Payment.id,)  # the order they arrived: a client polls for new ones


class Stock(_Columns):
    def columns(self):
        return {
            "sku": Product.sku,
            "warehouse": Warehouse.name,
            "quantity": StockBalance.quantity,
            "value": StockBalance.value,
        }

    def joins(self, stmt):
        return stmt.join(Product, Product.id == StockBalance.product_id).join(
            Warehouse, Warehouse.id == StockBalance.warehouse_id
        )

    def order(self):
        return (Product.sku, Warehouse.name)


_org, _dep, _wh = aliased(Organization), aliased(Department), aliased(Warehouse)


class SalesDocuments(_Columns):
    """Documents with their lines: the fields of a sales row that describe the document, then
    `lines` with the rest."""

    @property
    def fields(self):
        return tuple(c for c in self.kind.columns if c.name in DOCUMENT_FIELDS)

    @property
    def line_fields(self) -> tuple[Col, ...]:
        return tuple(c for c in self.kind.columns if c.name not in DOCUMENT_FIELDS)

    def columns(self):
        return {
            "id": SalesDocument.id,
            "doc_no": SalesDocument.doc_no,
            "date": SalesDocument.date,
            "partner_code": Partner.code,
            "organization": _org.name,
            "department": _dep.name,
            "warehouse": _wh.name,
            "manager": User.email,
            "due_date": SalesDocument.due_date,
            "status": SalesDocument.status,
            "total": SalesDocument.total,
        }

    def joins(self, stmt):
        return (
            stmt.join(Partner, Partner.id == SalesDocument.partner_id)
            .outerjoin(_org, _org.id == SalesDocument.organization_id)
            .outerjoin(_dep, _dep.id == SalesDocument.department_id)
            .outerjoin(_wh, _wh.id == SalesDocument.warehouse_id)
            .outerjoin(User, User.id == SalesDocument.manager_id)
        )

    def order(self):
        return (SalesDocument.doc_no,)

    def items(self, rows):
        docs = [row._asdict() for row in rows]
        lines: dict[int, list[dict]] = {d["id"]: [] for d in docs}
        if lines:
            found = db.session.execute(
                select(
                    SalesLine.document_id,
                    SalesLine.line_no,
                    Product.sku,
                    SalesLine.quantity,
                    SalesLine.amount,
                    SalesLine.cost,
                )
                .join(Product, Product.id == SalesLine.product_id)
                .where(SalesLine.document_id.in_(list(lines)))
                .order_by(SalesLine.document_id, SalesLine.line_no)
            ).all()
            for line in found:
                data = line._asdict()
                lines[data["document_id"]].append(
                    {c.name: out(c, data[c.name]) for c in self.line_fields}
                )
        result = []
        for d in docs:
            shown = {c.name: out(c, d[c.name]) for c in self.fields}
            shown["total"] = out(_MONEY, d["total"])
            shown["lines"] = lines[d["id"]]
            result.append(shown)
        return result


_MONEY = Col("total", parse=money)


class Deals(_Columns):
    """Deals with the columns of deals.csv, plus their title and description (written) and
    id and version (read only). A manager reads the deals he is responsible for or takes
    part in (the rows filter of crm/deals/policy.py); they are written through the deals'
    services (crm/api/deals.py), not the import."""

    # What a new deal may leave out: the CRM numbers it, it is opened today, and it is open.
    create_defaults = ("deal_no", "created_on", "status")
    extra_fields = (
        Col("title", max_len=255),
        Col("description", max_len=100_000),
    )

    @property
    def fields(self):
        return (*self.kind.columns, *self.extra_fields)

    def columns(self):
        return {
            "id": Deal.id,
            "deal_no": Deal.deal_no,
            "partner_code": Partner.code,
            "kind": DealKind.name,
            "stage": DealStage.name,
            "status": Deal.status,
            "amount": Deal.amount,
            "created_on": Deal.created_on,
            "expected_close": Deal.expected_close,
            "closed_on": Deal.closed_on,
            "manager": User.email,
            "loss_reason": LossReason.name,
            "source": Deal.source,
            "title": Deal.title,
            "description": Deal.description,
            "version": Deal.version,
        }

    def joins(self, stmt):
        return (
            stmt.select_from(Deal)
            .join(Partner, Partner.id == Deal.partner_id)
            .join(DealKind, DealKind.id == Deal.kind_id)
            .outerjoin(DealStage, DealStage.id == Deal.stage_id)
            .outerjoin(User, User.id == Deal.manager_id)
            .outerjoin(LossReason, LossReason.id == Deal.loss_reason_id)
        )

    def select(self, user, where=()):
        stmt = self.stmt().where(*where)
        return stmt if user is None else visible(user, Deal, stmt)

    def where(self, wanted):
        clauses = [self.sql(name) == value for name, value in wanted.items() if name != "manager"]
        if "manager" in wanted:
            clauses.append(User.email == wanted["manager"].casefold())
        return clauses

    def order(self):
        return (Deal.deal_no,)

    def record(self, key):
        return db.session.execute(
            select(Deal).where(Deal.deal_no == key["deal_no"])
        ).scalar_one_or_none()


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Partners(
            "partners",
            "partners",
            "partner",
            ("code",),
            filters=(Filter("manager"),),
            partner_data=True,
        ),
        Contacts(
            "contacts",
            "contacts",
            "contact",
            ("partner_code", "name"),
            filters=(Filter("partner_code"),),
        ),
        Products(
            "products",
            "products",
            "product",
            ("sku",),
            filters=(Filter("group"),),
            partner_data=False,
        ),
        SalesDocuments(
            "sales-documents",
            "sales",
            "sales document",
            ("doc_no",),
            filters=(Filter("partner_code"),),
            read_only=("total",),
        ),
        Payments(
            "payments",
            "payments",
            "payment",
            ("id",),
            updatable=False,
            filters=(Filter("partner_code"), Filter("doc_no"), Filter("date", values.day)),
            read_only=("id",),
            key_converters={"id": "int"},
        ),
        Stock(
            "stock",
            "stock",
            "stock balance",
            ("sku", "warehouse"),
            filters=(Filter("sku"), Filter("warehouse")),
            partner_data=False,
        ),
        Deals(
            "deals",
            "deals",
            "deal",
            ("deal_no",),
            filters=(
                Filter("partner_code"),
                Filter("kind"),
                Filter("stage"),
                Filter("status"),
                Filter("manager"),
            ),
            read_only=("id", "version"),
        ),
    )
}


def key_text(key: dict) -> str:
    """A key for messages: `code 'P1'`, `sku 'S1', warehouse 'Main'`."""
    return ", ".join(f"{k} {v!r}" for k, v in key.items())


def partner_for_code(code: str) -> Partner | None:
    """The partner a code names for the import: a merged partner's code names its survivor."""
    partner = db.session.execute(select(Partner).where(Partner.code == code)).scalar_one_or_none()
    if partner is not None and partner.merged_into_id is not None:
        partner = db.session.get(Partner, partner.merged_into_id)
    return partner
