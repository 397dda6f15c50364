"""Segment conditions over the stored analytics (crm.core.conditions), registered by
analytics, which owns them: the partner's ABC/XYZ class and its customer stage.

Both read the same snapshots as the partner list's filters "ABC/XYZ class" and "Stage"
(crm.analytics.card_queries): the latest snapshot taken — as of the rule's date, the latest
whose month had ended by then (snapshots are taken of complete months only, so for today that
is the latest there is). A partner without a row there (no sales in the class window, not a
client then) has no class or stage and matches neither."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.analytics.card_queries import CLASSES, classes_clause, stages_clause
from crm.analytics.stage_labels import STAGE_TITLES
from crm.analytics.stages import TARGET_STAGES
from crm.core.conditions import ConditionError, ConditionType, Param
from crm.partners.models import Partner
from crm.sales.models import Product

# The parameters of a class condition, of partners or of products.
CLASS_PARAMS = (
    Param("abc", "choices", required=False, choices=("A", "B", "C"), title=_l("ABC")),
    Param("xyz", "choices", required=False, choices=("X", "Y", "Z"), title=_l("XYZ")),
    Param("classes", "choices", required=False, choices=CLASSES, title=_l("Classes")),
)


def _class_of(of: str, id_column):
    """The build of the class condition of `of` ("partners" or "products")."""

    def build(values):
        abc, xyz, classes = values["abc"], values["xyz"], values["classes"]
        if abc is None and xyz is None and classes is None:
            raise ConditionError(_("Choose ABC letters, XYZ letters or classes such as AX."), "abc")
        return classes_clause(of, id_column, abc, xyz, classes, until=values["as_of"])

    return build


def _stage(values):
    return stages_clause(Partner.id, values["stages"], until=values["as_of"])


CONDITIONS = (
    ConditionType(
        "analytics.class",
        _l("ABC/XYZ class"),
        CLASS_PARAMS,
        _class_of("partners", Partner.id),
        order=70,
    ),
    ConditionType(
        "analytics.stage",
        _l("Customer stage"),
        # `new` is never stored: a snapshot lists the clients that existed at its month end.
        (
            Param(
                "stages", "choices", choices=TARGET_STAGES, title=_l("Stages"), labels=STAGE_TITLES
            ),
        ),
        _stage,
        order=71,
    ),
    ConditionType(
        "analytics.product_class",
        _l("ABC/XYZ class"),
        CLASS_PARAMS,
        _class_of("products", Product.id),
        of="products",
        order=70,
    ),
)
