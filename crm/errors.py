"""Error pages: a full page normally, a message for the flash area on HTMX requests."""

from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from crm.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: _l("The request was not understood."),
    403: _l("You do not have access to this page or action."),
    404: _l("There is no such page or record."),
    405: _l("This action is not allowed here."),
    413: _l("The upload is larger than allowed."),
    429: _l("Too many requests; please wait a little."),
    500: _l("Something went wrong on our side. The error is logged; please try again."),
}


API_PREFIX = "/api/"


def is_api_request() -> bool:
    """The JSON API answers errors in JSON and signs in by bearer token only (crm/api)."""
    return request.path.startswith(API_PREFIX)


def json_error(status: int, message, headers: dict | None = None):
    # The API's messages are for tools and their authors: always English, whatever the
    # user's language (a lazy message is rendered in English here).
    with force_locale("en"):
        message = str(message)
    response = jsonify(error=message)
    response.status_code = status
    response.headers.update(headers or {})
    if status == 401 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = 'Bearer realm="crm"'
    return response


def _respond(status: int, message: str):
    if is_api_request():
        return json_error(status, message)
    if request.headers.get("HX-Request") == "true":
        body = render_template("errors/_message.html", status=status, message=message)
        # Shown in the flash area whatever element the request meant to update.
        return body, status, {"HX-Retarget": "#flash-area", "HX-Reswap": "innerHTML"}
    return render_template("errors/error.html", status=status, message=message), status


def init_app(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _respond(
            400,
            _l(
                "The form has expired or was sent from another site. Reload the page and try again."
            ),
        )

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        return _respond(413, _l("The upload is larger than %(mb)s MB.", mb=limit // (1024 * 1024)))

    @app.errorhandler(StaleDataError)
    def saved_meanwhile(exc):
        # Two saves of one record at the same moment that no form or service guards (two
        # clicks on "Complete"): the loser is refused, never a 500 and never half-saved.
        db.session.rollback()
        return _respond(
            409,
            _l(
                "Someone else saved this record at the same moment; nothing was "
                "saved. Reload the page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if exc.code == 405 and is_api_request():
            allow = ", ".join(sorted(getattr(exc, "valid_methods", None) or []))
            return json_error(405, MESSAGES[405], {"Allow": allow} if allow else None)
        return _respond(exc.code or 500, MESSAGES.get(exc.code, exc.description))

    @app.errorhandler(Exception)
    def server_error(exc):
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return _respond(500, MESSAGES[500])
