"""Lookups that more than one domain's kinds need and that name no domain above exchange:
users by e-mail (auth) and reference tables keyed by a unique `name`."""

from __future__ import annotations

from sqlalchemy import select

from crm.auth.services import ensure_user, user_ids_by_email
from crm.core.keys import id_for_key
from crm.exchange.kind import Lookup
from crm.extensions import db

# A manager's e-mail → user id; an unknown one is created inactive (data-exchange.md).
USERS = Lookup("users", lambda wanted: user_ids_by_email(), create=ensure_user)


def by_name(model) -> Lookup:
    """A reference table (organization, warehouse, …) by name, its entries created on first
    use (by one of two imports that use a new name at the same moment, not by both)."""

    def load(wanted):
        return dict(db.session.execute(select(model.name, model.id)).all())

    return Lookup(model.__tablename__, load, create=lambda name: id_for_key(model, {"name": name}))
