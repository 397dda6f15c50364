"""The product list and the product card, with what higher domains add (crm/sales/product_card.py)."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_login import current_user

from crm.charts import plotly_js_tag, plotly_js_url
from crm.core.policy import load_or_403, requires
from crm.htmx import is_fragment_request, render
from crm.sales import bp, charts, products
from crm.sales.filters import ProductFilter
from crm.sales.product_card import facts_html, sections_html
from crm.sales.queries import local_today


@bp.route("/products/", endpoint="products")
@requires("product.view")
def products_index():
    """The product list: search by SKU or name, product group, registered filters, pages."""
    flt = ProductFilter.from_args(request.args)
    flt["group"].options = products.group_options()
    page = products.product_page(flt)
    response = render(
        "sales/products.html",
        "sales/_product_results.html",
        flt=flt,
        page=page,
    )
    if is_fragment_request():
        response.headers["HX-Push-Url"] = url_for("sales.products", **flt.params())
    return response


@bp.route("/products/<int:product_id>")
@requires("product.view")
def product(product_id: int):
    """The product card: what it is, stock per warehouse, sales by month, registered sections."""
    item = load_or_403(products.get_product, product_id, "product.view")
    today = local_today(current_user)
    return render(
        "sales/product.html",
        product=item,
        stock=products.stock_by_warehouse(item.id),
        months=products.monthly_sales(item.id, today),
        facts=facts_html(current_app, current_user, item),
        sections=sections_html(current_app, current_user, item),
        plotly_src=plotly_js_url(),
    )


@bp.route("/products/<int:product_id>/sales-chart")
@requires("product.view")
def product_chart(product_id: int):
    """Revenue by month (HTMX: the chart alone; otherwise a page with it)."""
    item = load_or_403(products.get_product, product_id, "product.view")
    months = products.monthly_sales(item.id, local_today(current_user))
    chart = charts.monthly_totals_chart([(m.month, m.revenue) for m in months])
    return render(
        "sales/product_chart.html",
        "sales/_purchases_chart.html",
        product=item,
        chart=chart,
        plotly_tag=plotly_js_tag(),
    )
