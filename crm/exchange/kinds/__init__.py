"""The importable kinds by name (the file names of spec/data-exchange.md)."""

from crm.exchange.kinds.base import Kind
from crm.exchange.kinds.ledger import PaymentsKind, ProductsKind, StockKind
from crm.exchange.kinds.partners import ContactsKind, PartnersKind
from crm.exchange.kinds.sales import SalesKind

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        PartnersKind(),
        ContactsKind(),
        ProductsKind(),
        SalesKind(),
        PaymentsKind(),
        StockKind(),
    )  # fmt: skip
}
