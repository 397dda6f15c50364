"""A user's notifications: the list, opening one (marks it read), marking all read, and the
unread badge in the navbar that HTMX polls."""

from __future__ import annotations

import logging

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from crm.access import viewer_may_post
from crm.core.params import page_or_first
from crm.core.urls import safe_next
from crm.extensions import db
from crm.htmx import render
from crm.jobs import redis_connection
from crm.notifications import bp, producers
from crm.notifications import services as svc

log = logging.getLogger(__name__)


@bp.route("/")
def index():
    """The signed-in user's notifications, newest first."""
    page = page_or_first(request.args.get("page"))
    return render(
        "notifications/index.html",
        page=svc.list_for(current_user, page, current_app.config["PAGE_SIZE"]),
        unread=svc.unread_count(current_user),
    )


@bp.post("/<int:notification_id>/open", endpoint="open")
@viewer_may_post
def open_notification(notification_id: int):
    """Mark a notification read and go to what it is about."""
    notification = svc.get_own(current_user, notification_id)
    if notification is None:
        abort(404)
    svc.mark_read(current_user, [notification.id])
    target = safe_next(notification.url, url_for("notifications.index"))
    db.session.commit()
    return redirect(target, 303)


@bp.post("/read")
@viewer_may_post
def read_all():
    """Mark every notification of the user read."""
    svc.mark_read(current_user, "all")
    db.session.commit()
    return redirect(url_for("notifications.index"), 303)


@bp.route("/badge")
def badge():
    """The navbar link's content: the unread count, polled every minute."""
    if redis_connection() is None:
        # No worker and no cron: reminders are produced here, at most once a minute.
        try:
            producers.run_inline_if_due()
        except Exception:  # the badge must answer whatever happened to the reminders
            log.exception("inline notification producers failed")
    response = render("notifications/_badge.html", unread=svc.unread_count(current_user))
    response.headers["Cache-Control"] = "no-store"
    return response
