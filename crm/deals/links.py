"""Links to the deal pages from the other domains' registries (subject labels, the partner tab,
the calendar, My day).

The pages themselves are another part of the deals package; until they are registered on the
app these helpers build the same paths by hand (see CONTRACTS: /deals/<id>, /deals/new…), so the
registrations work and are testable on their own. Once the pages are in, `url_for` is used."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, has_request_context, url_for


def _routed(endpoint: str) -> bool:
    # Outside a request (a job, an e-mail) url_for needs SERVER_NAME: the path by hand then.
    return has_request_context() and endpoint in current_app.view_functions


def _url(endpoint: str, path: str, **params) -> str:
    params = {k: v for k, v in params.items() if v not in (None, "")}
    if _routed(endpoint):
        return url_for(endpoint, **params)
    return f"{path}?{urlencode(params)}" if params else path


def deal_url(deal_id: int) -> str:
    """The deal's card."""
    if _routed("deals.detail"):
        return url_for("deals.detail", deal_id=deal_id)
    return f"/deals/{deal_id}"


def deal_url_prefix() -> str:
    """The card's URL without the id: a calendar month or a long list adds the ids itself (one
    `url_for` instead of hundreds)."""
    return deal_url(0).removesuffix("0")


def create_url(**params) -> str:
    """The new-deal form (partner_id=, from_interaction=)."""
    return _url("deals.create", "/deals/new", **params)


def list_url(**params) -> str:
    """The deal list with its filters (CONTRACTS: q, status, manager, partner, expected_to…)."""
    return _url("deals.index", "/deals/", **params)
