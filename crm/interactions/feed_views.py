"""The private iCalendar feed: the subscribed URL itself, and making or revoking one's link
from the calendar page."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.access import public, viewer_may_post
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.htmx import is_fragment_request, render
from crm.interactions import bp, feeds, ical, queries
from crm.interactions.calendar_views import FEED_AHEAD, FEED_PAST, calendar_context, feed_context


@bp.route("/feed/<token>.ics")
@public
def feed(token: str):
    """A user's private iCalendar feed, for calendar programs that subscribe to a URL.

    It holds exactly that user's own items — interactions he is responsible for or takes part
    in — from 30 days back to 365 days ahead. Unknown and revoked links, and links of a
    deactivated user, answer 404."""
    user = feeds.user_for_token(token)
    if user is None:
        abort(404)
    now = utcnow()
    start, end = now - FEED_PAST, now + FEED_AHEAD
    # Calendar programs poll, and a busy feed takes seconds to write: it is rebuilt only when
    # its items changed (their count or latest change), its owner's name, or the day (the
    # window moves, partners get renamed). Unchanged, it is an ETag match (304) or a copy.
    count, latest = queries.span_version(user, start, end, [user.id])
    version = feeds.feed_version(user, now.date(), count, latest, ical.uid_host())
    db.session.commit()  # when the link was last used
    body = feeds.cached_feed(user.id, version)
    if body is None and not request.if_none_match.contains(version):
        items = queries.in_range(user, start, end, owner_ids=[user.id])
        body = ical.calendar_for(
            items,
            name=f"CRM — {user.display_name}",
            uid=f"crm-calendar-{user.id}@{ical.uid_host()}",
        )
        feeds.keep_feed(user.id, version, body)
    response = make_response(body or b"")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, no-cache"
    # The URL is the secret: keep it out of Referer headers and search engines.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    response.set_etag(version)
    return response.make_conditional(request)


def _feed_response(new_token: str | None = None, message: str = ""):
    if is_fragment_request():
        response = render(
            "interactions/_calendar_feed.html", message=message, **feed_context(new_token)
        )
    else:
        ctx = calendar_context(request.args)
        ctx.update(feed_context(new_token), feed_message=message, feed_open=True)
        response = render("interactions/calendar.html", **ctx)
    # The link is shown this once: never from a cache, never through the session cookie.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/calendar/feed", methods=["POST"])
@viewer_may_post
def feed_create():
    """Make a new private feed link (any old one stops working); it is shown this once."""
    token = feeds.create_feed(current_user)
    db.session.commit()
    return _feed_response(token)


@bp.route("/calendar/feed/revoke", methods=["POST"])
@viewer_may_post
def feed_revoke():
    """Revoke one's feed link: calendar programs using it get nothing more."""
    revoked = feeds.revoke_feed(current_user)
    db.session.commit()
    message = _("The feed link is revoked.") if revoked else _("There was no feed link to revoke.")
    if not is_fragment_request():
        flash(message, "success")
        return redirect(url_for("interactions.calendar", _anchor="calendar-feed"))
    return _feed_response(message=message)
