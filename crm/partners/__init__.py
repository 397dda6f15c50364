"""Partners and contact persons: the list, the card, duplicates, merge, contact reports."""

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from crm.core.registry import register_nav

bp = Blueprint("partners", __name__, url_prefix="/partners")


def _setup(state):
    from crm.demo import register_demo_step
    from crm.exchange.registry import register_kind
    from crm.partners import history, labels, policy, queries
    from crm.partners.demo import make_partners_demo
    from crm.partners.exchange import CONTACTS, PARTNERS
    from crm.partners.tabs import PartnerTab, register_tab

    policy.register(state)
    labels.register_filters(state.app)
    register_demo_step(state, 10, make_partners_demo)
    register_nav(state, "partners.index", _l("Partners"), 10)
    register_nav(state, "partners.report_contacts", _l("Contact reports"), 80)
    register_kind(state, PARTNERS)
    register_kind(state, CONTACTS)
    from crm.core.selections import register_source
    from crm.partners.selection import SOURCE

    register_source(state, SOURCE)
    register_tab(
        state, PartnerTab("summary", lazy_pgettext("partner tab", "Summary"), _summary, 10)
    )
    register_tab(state, PartnerTab("contacts", _l("Contacts"), _contacts, 20))
    register_tab(
        state,
        PartnerTab(
            "history",
            _l("History"),
            lambda p: render_template(
                "partners/_tab_history.html",
                partner=p,
                entries=history.entries_shown(queries.history(p)),
            ),
            90,
        ),
    )


def _can_edit(partner) -> bool:
    from flask_login import current_user

    from crm.core.policy import may

    return may(current_user, "partner.edit", partner)


def _summary(partner):
    return render_template(
        "partners/_tab_summary.html", partner=partner, can_edit=_can_edit(partner)
    )


def _contacts(partner):
    from crm.partners.forms import ContactDetailForm, ContactPersonForm

    return render_template(
        "partners/_tab_contacts.html",
        partner=partner,
        can_edit=_can_edit(partner),
        detail_form=ContactDetailForm(formdata=None),
        person_form=ContactPersonForm(formdata=None),
    )


bp.record_once(_setup)

from crm.partners import reports, views  # noqa: E402,F401  (routes attach to bp)
