"""Data exchange (spec/data-exchange.md) as an engine: reading CSV/XLSX files, checking every
row, reports with row/column errors, the rejected-rows file, background jobs, the import pages
and the CLI. It knows no domain: each registers its kinds (crm.exchange.registry) — partners
and contacts in crm/partners/exchange.py; products, sales, payments, stock in
crm/sales/exchange.py."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.registry import register_nav

bp = Blueprint("exchange", __name__, url_prefix="/exchange")
bp.record_once(lambda s: register_nav(s, "exchange.index", _l("Data exchange"), 850))


def _register_policy(state):
    from crm.exchange import policy

    policy.register(state)


bp.record_once(_register_policy)

from crm.exchange import views  # noqa: E402,F401  (routes attach to bp)
