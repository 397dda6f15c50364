"""The interactions workplace: list, forms, detail with the thread, quick actions."""

from crm.interactions import bp


@bp.route("/")
def index():
    """The interactions list (being built)."""
    return "Interactions"


def partner_tab(partner):
    return ""
