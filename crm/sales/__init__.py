"""The sales ledger: products, sales documents, payments, stock, and receivables."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.registry import register_nav
from crm.demo import register_demo_step
from crm.sales.demo import make_sales_demo

bp = Blueprint("sales", __name__, url_prefix="/sales")


def _setup(state):
    from crm.core.conditions import register_condition
    from crm.core.periodic import PeriodicJob, register_periodic
    from crm.dashboard.widgets import register_widget
    from crm.exchange.registry import register_kind
    from crm.partners.card import register_fact
    from crm.partners.services import register_merge_hook
    from crm.partners.tabs import PartnerTab, register_tab
    from crm.sales import policy
    from crm.sales.card import FACT
    from crm.sales.conditions import CONDITIONS, PRODUCT_CONDITIONS
    from crm.sales.exchange import PAYMENTS, PRODUCTS, SALES, STOCK
    from crm.sales.home import WIDGET
    from crm.sales.jobs import refresh_summaries, register_cli
    from crm.sales.services import prepare_sales_for_merge
    from crm.sales.views import purchases_tab

    policy.register(state)
    register_nav(state, "sales.products", _l("Products"), 12)
    register_nav(state, "sales.receivables", _l("Receivables"), 40)
    register_tab(state, PartnerTab("purchases", _l("Purchases"), purchases_tab, 30))
    register_merge_hook(state, prepare_sales_for_merge)
    register_widget(state, WIDGET)
    register_fact(state, FACT)
    for kind in (PRODUCTS, SALES, PAYMENTS, STOCK):
        register_kind(state, kind)
    # The monthly summaries of the months an import or an edit marked: the analytics read a
    # marked month from the lines meanwhile (right, only slower).
    every = int(state.app.config.get("SALES_SUMMARY_REFRESH_SECONDS", 300))
    register_periodic(state, PeriodicJob("sales-summaries", refresh_summaries, every, 10))
    register_cli()
    # Purchases as segment conditions (crm.core.conditions; segments combines them).
    for condition in (*CONDITIONS, *PRODUCT_CONDITIONS):
        register_condition(state, condition)
    from crm.core.selections import register_source
    from crm.sales import selection

    register_source(state, selection.SOURCE)  # the receivables report's partners


bp.record_once(_setup)
bp.record_once(lambda s: register_demo_step(s, 30, make_sales_demo))

from crm.sales import product_views, views  # noqa: E402,F401  (routes attach to bp)
