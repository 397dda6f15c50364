"""Security headers on every response: pages, fragments, errors, static files, API, downloads.

No script runs from the page itself: every script is a file under static/ (script-src 'self'),
behaviour is wired from static/js/ through data- attributes, and charts carry their figure as
JSON in a data attribute (crm/charts.py). Styles come from files too: no style element
(htmx's indicator style is switched off in base.html and lives in app.css, plotly.js finds
its CSS linked) and no style attribute (classes instead); scripts may still set styles
through the DOM (element.style), which CSP does not restrict.
"""

from __future__ import annotations

from flask import Flask, Response, current_app

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # Bootstrap draws its small icons (toggler, select arrow) as data: SVG
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
# Only behind HTTPS (SESSION_COOKIE_SECURE): on plain http a browser ignores it, and a local
# `make run` must not teach the browser to insist on https for 127.0.0.1.
HSTS = "max-age=31536000; includeSubDomains"


def add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    # after_request runs for every response Flask finalises: views, redirects, error handlers
    # (404, 500, CSRF), the static view and the access gate's refusals.
    app.after_request(add_security_headers)
