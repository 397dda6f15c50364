"""Data exchange with the accounting system: import and export of partners, contacts,
products, sales, payments and stock in the formats of spec/data-exchange.md."""

from flask import Blueprint

from crm.core.registry import register_nav

bp = Blueprint("exchange", __name__, url_prefix="/exchange")
bp.record_once(lambda s: register_nav(s, "exchange.index", "Data exchange", 850))


def _register_policy(state):
    from crm.exchange import policy

    policy.register(state)


bp.record_once(_register_policy)

from crm.exchange import views  # noqa: E402,F401  (routes attach to bp)
