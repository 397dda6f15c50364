"""My day: the start page and its widgets' fragments."""

from __future__ import annotations

from flask import abort, make_response, request, url_for
from flask_login import current_user
from markupsafe import Markup

from crm.auth.models import User
from crm.core.params import id_or_none
from crm.core.policy import may
from crm.core.timeutil import user_zone
from crm.dashboard import bp
from crm.dashboard.widgets import Day, widget, widgets
from crm.extensions import db
from crm.htmx import is_fragment_request, render
from crm.interactions.queries import assignable_users

TEAM = "team"


def _whose_day() -> tuple[int | None, str]:
    """(user id or None for the team, the `user` parameter to repeat in the widgets' URLs).

    A manager's day is his own; asking for anyone else's is refused. The other roles see the
    team's day unless they pick a user."""
    raw = request.args.get("user", "").strip()
    if not may(current_user, "dashboard.view_others"):
        if raw not in ("", str(current_user.id)):
            abort(403)
        return current_user.id, ""
    if raw in ("", TEAM):
        return None, TEAM
    user_id = id_or_none(raw)
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        abort(404)
    return user.id, raw


def my_day():
    """The start page: the widgets' frames, each fetching its own fragment."""
    user_id, param = _whose_day()
    person = db.session.get(User, user_id) if user_id else None
    return render(
        "dashboard/index.html",
        widgets=widgets(),
        user_param=param,
        person=person,
        own=user_id == current_user.id,
        choices=assignable_users() if may(current_user, "dashboard.view_others") else [],
    )


@bp.route("/widgets/<key>")
def widget_fragment(key: str):
    """One block of the page (HTMX), or the block alone as a page without JavaScript."""
    found = widget(key)
    if found is None:
        abort(404)
    user_id, param = _whose_day()
    day = Day.of(current_user, user_id, user_zone(current_user))
    body = Markup(found.render(day))
    if not body.strip() and is_fragment_request():
        # A block with nothing to tell (the segments' changes when there are none) takes
        # its frame off the page rather than stand there empty.
        response = make_response("")
        response.headers.update({"HX-Retarget": f"#w-{found.key}", "HX-Reswap": "delete"})
        response.vary.add("HX-Request")
        return response
    more = url_for("home", user=param) if param else url_for("home")
    return render(
        "dashboard/widget_page.html", "dashboard/_widget.html", w=found, body=body, back=more
    )


def widget_url(key: str, user_param: str) -> str:
    return url_for(
        "dashboard.widget_fragment", key=key, **({"user": user_param} if user_param else {})
    )


@bp.app_context_processor
def _widget_url():
    return {"widget_url": widget_url}
