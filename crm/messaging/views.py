"""The messaging section's start page."""

from __future__ import annotations

from crm.core.policy import requires
from crm.htmx import render
from crm.messaging import bp


@bp.get("/")
@requires("messaging.view")
def index():
    """Mailings, templates, groups and notifications: the section's start page."""
    return render("messaging/index.html")
