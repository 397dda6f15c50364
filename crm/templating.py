"""Template globals and filters shared by every page."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from crm.access import role_title
from crm.core.policy import may_current, may_open
from crm.core.registry import nav_registry
from crm.core.selections import offer
from crm.core.urls import current_path


def init_app(app) -> None:
    app.jinja_env.globals["current_path"] = current_path  # a `next=` value (crm/core/urls.py)
    # {% if may("partner.create") %}: the signed-in user asks the permission policy.
    app.jinja_env.globals["may"] = may_current
    app.jinja_env.globals["role_title"] = role_title

    def selection_offer(source: str, args, next_path: str | None = None):
        """The actions the signed-in user may take on a drill-down (_macros/selection.html)."""
        user = current_user if current_user.is_authenticated else None
        return offer(source, args, user, next_path or current_path())

    app.jinja_env.globals["selection_offer"] = selection_offer

    @app.context_processor
    def nav():
        items = []
        if current_user.is_authenticated:
            items = [i for i in nav_registry(current_app) if may_open(i.endpoint)]
        return {"nav_items": items}

    @app.template_filter("dash")
    def dash(value):
        return "—" if value in (None, "", []) else value
