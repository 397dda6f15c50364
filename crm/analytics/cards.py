"""Classes and stages where people work: the ABC/XYZ class and the stage in the partner card's
header with their monthly history in a tab, the class and its history on the product card,
and the list filters "ABC/XYZ class" (partners, products) and "Stage" (partners). Registered
into the partner and sales registries from the analytics blueprint's setup."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

from crm.analytics import card_queries as q
from crm.analytics.stage_labels import STAGE_TITLES, stage_title
from crm.analytics.stages import NEW
from crm.core.filters import ChoiceField, ExtraFilter
from crm.core.policy import may
from crm.partners.models import Partner
from crm.sales.models import Product

# The classes worth a highlight: the steady bulk of the money, and the unsteady tail.
STRONG, WEAK = {"AX", "AY", "BX"}, {"CY", "CZ"}


def readers(user) -> bool:
    return may(user, "analytics.reports")


def partner_fact(partner) -> str:
    month, klass = q.latest_class("partners", partner.id)
    at, stage = q.latest_stage(partner.id)
    if month is None and at is None:
        return ""  # no snapshot taken yet: nothing to say
    if klass is None and stage is None and not partner.is_client:
        return ""
    return render_template(
        "analytics/_card_fact.html",
        month=month,
        klass=klass,
        at=at,
        stage=stage,
        stage_title=stage_title(stage.stage) if stage else "",
        link=("partners.detail", {"partner_id": partner.id, "tab": "analytics"}),
        strong=STRONG,
        weak=WEAK,
    )


def product_fact(product) -> str:
    month, klass = q.latest_class("products", product.id)
    if month is None:
        return ""
    return render_template(
        "analytics/_card_fact.html",
        month=month,
        klass=klass,
        at=None,
        stage=None,
        stage_title="",
        link=("sales.product", {"product_id": product.id, "_anchor": "product-section-classes"}),
        strong=STRONG,
        weak=WEAK,
    )


def partner_tab(partner) -> str:
    return render_template(
        "analytics/_history.html",
        rows=q.history("partners", partner.id),
        stages=True,
        stage_title=stage_title,
        limit=q.HISTORY_MONTHS,
    )


def product_section(product) -> str:
    rows = q.history("products", product.id)
    if not rows:
        return ""
    return render_template(
        "analytics/_history.html",
        rows=rows,
        stages=False,
        stage_title=stage_title,
        limit=q.HISTORY_MONTHS,
    )


def _class_field():
    return ChoiceField(
        _l("ABC/XYZ class"),
        [(c, f"ABC/XYZ: {c}") for c in q.CLASSES],  # the chosen option alone says what it is
        id="f-abc-xyz",
        blank=_l("Any ABC/XYZ class"),
        message=_l("Unknown ABC/XYZ class {value} ignored."),
        cut=10,
        strip=True,
    )


# Each filter's value as a segment-rule condition (analytics' own condition types, read from
# the same snapshots), so a partner list filtered so can be saved as a dynamic segment.
PARTNER_CLASS_FILTER = ExtraFilter(
    "abc_xyz",
    _class_field(),
    lambda value: q.class_clause("partners", Partner.id, value),
    10,
    readers,
    lambda value: {"type": "analytics.class", "classes": [value]},
)
PARTNER_STAGE_FILTER = ExtraFilter(
    "stage",
    ChoiceField(
        _lp("client stage", "Stage"),
        [(code, title) for code, title in STAGE_TITLES.items() if code != NEW],
        id="f-stage",
        blank=_lp("client stage", "Any stage"),
        message=_l("Unknown stage {value} ignored."),
        cut=20,
    ),
    lambda value: q.stage_clause(Partner.id, value),
    20,
    readers,
    lambda value: {"type": "analytics.stage", "stages": [value]},
)
PRODUCT_CLASS_FILTER = ExtraFilter(
    "abc_xyz",
    _class_field(),
    lambda value: q.class_clause("products", Product.id, value),
    10,
    readers,
)


def register(state) -> None:
    from crm.partners.card import CardFact, register_fact
    from crm.partners.filters import register_list_filter
    from crm.partners.tabs import PartnerTab, register_tab
    from crm.sales import product_card

    register_fact(state, CardFact("analytics-class", partner_fact, 40, readers))
    register_tab(state, PartnerTab("analytics", _l("Classes and stages"), partner_tab, 60, readers))
    register_list_filter(state, PARTNER_CLASS_FILTER)
    register_list_filter(state, PARTNER_STAGE_FILTER)
    product_card.register_fact(
        state, product_card.ProductFact("analytics-class", product_fact, 10, readers)
    )
    product_card.register_section(
        state,
        product_card.ProductSection(
            "classes", _l("ABC/XYZ class by month"), product_section, 10, readers
        ),
    )
    product_card.register_list_filter(state, PRODUCT_CLASS_FILTER)
