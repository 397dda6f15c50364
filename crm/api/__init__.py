"""The JSON API (/api/v1): partners, contacts, products, sales documents, payments, stock and
deals with the import's fields and checks, for an ERP that pushes documents as they happen, and
segments with their rules as data (crm/api/segments.py). Signed in by personal bearer tokens
only (made on the account page); described at /api/v1/openapi.json."""

from flask import Blueprint

from crm.auth.session import use_bearer_token_only
from crm.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# No cookie signs an API call (use_bearer_token_only), so there is no forged request to guard
# against; a client of the API has no CSRF token to send.
csrf.exempt(bp)
# Runs before the access gate, so the gate sees the token's user on API paths.
bp.before_app_request(use_bearer_token_only)


def _register_policy(state):
    from crm.api import policy

    policy.register(state)


bp.record_once(_register_policy)

from crm.api import segments, views  # noqa: E402,F401  (routes attach to bp)
