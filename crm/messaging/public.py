"""The pages a message's recipient opens without an account (crm/messaging/links.py builds
their links): the unsubscribe page, the open pixel and the tracked-link redirect. The signed
token in the URL is the proof (crm/messaging/tokens.py): a token that is not ours, or one of
another purpose, changes nothing; the unsubscribe POST needs no CSRF token for the same reason
(and mail programs send RFC 8058's one-click POST without one).

On a blueprint of its own, without the /messaging prefix: the links stay short and say
nothing of the CRM's sections."""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request

from crm.access import public
from crm.core.i18n import in_language
from crm.extensions import csrf, db
from crm.messaging import tracking

public_bp = Blueprint("messaging_public", __name__)

# A transparent 1×1 GIF (43 bytes): what every pixel request gets, whatever its token.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
ONE_CLICK = "One-Click"  # RFC 8058: the body "List-Unsubscribe=One-Click"


def _private(response):
    """The link is the recipient's own: never cached, never indexed, never sent on."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _invalid():
    # In the reader's browser language (no message tells us whose it is).
    body = render_template("messaging/public/invalid.html")
    return _private(make_response(body, 404))


@public_bp.route("/m/u/<token>", methods=["GET", "POST"])
@public
@csrf.exempt
def unsubscribe(token: str):
    """GET: the unsubscribe page (the group and the address, partly hidden; one button for
    the group, one for every mailing). POST: unsubscribe (from everything with all=1), or
    RFC 8058's one-click POST of a mail program; then the confirmation."""
    found = tracking.unsubscribe_of(token)
    if found is None:
        return _invalid()
    language = found.message.language or "ru"
    if request.method == "GET":
        with in_language(language):
            body = render_template("messaging/public/unsubscribe.html", found=found)
        return _private(make_response(body))
    one_click = request.form.get("List-Unsubscribe") == ONE_CLICK
    everything = request.form.get("all") == "1" and not one_click
    tracking.unsubscribe(
        found,
        everything=everything,
        source="one-click unsubscribe" if one_click else "unsubscribe link",
    )
    db.session.commit()
    with in_language(language):
        body = render_template(
            "messaging/public/unsubscribed.html", found=found, everything=everything
        )
    return _private(make_response(body))


@public_bp.get("/m/o/<token>.gif")
@public
def pixel(token: str):
    """The open pixel: the first open's moment and the count recorded; always the same GIF
    (a bad token records nothing, but never shows a broken image)."""
    message = tracking.message_of("open", token)
    if message is not None and request.method == "GET":
        tracking.record_open(message)
        db.session.commit()
    response = make_response(PIXEL)
    response.headers["Content-Type"] = "image/gif"
    return _private(response)


@public_bp.get("/m/c/<token>")
@public
def click(token: str):
    """A tracked link: the click recorded, then on to the URL the token signs (http or https
    only; any other token is refused, so this never redirects anywhere else)."""
    found = tracking.click_target(token)
    if found is None:
        return _invalid()
    message, url = found
    if message is not None and request.method == "GET":
        tracking.record_click(message)
        db.session.commit()
    return _private(redirect(url, 302))
