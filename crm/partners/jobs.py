"""Background jobs of the partners domain."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.extensions import db
from crm.partners.models import ContactPerson, Partner
from crm.partners.services import sync_search

BATCH = 1000


def rebuild_search_index(*, run) -> None:
    """Recompute every partner's normalised search columns (after bulk loads or a rule change).
    Idempotent: the columns are a pure function of the partner's data."""
    run.total = db.session.execute(select(func.count(Partner.id))).scalar_one()
    db.session.commit()
    last_id = 0
    while True:
        batch = list(
            db.session.execute(
                select(Partner)
                .where(Partner.id > last_id)
                .order_by(Partner.id)
                .limit(BATCH)
                .options(
                    selectinload(Partner.contact_details),
                    selectinload(Partner.contact_persons).selectinload(
                        ContactPerson.contact_details
                    ),
                )
            ).scalars()
        )
        if not batch:
            break
        for partner in batch:
            sync_search(partner)
        run.progress += len(batch)
        try:
            db.session.commit()  # one batch at a time: a crash keeps what is done, a rerun redoes it
        except StaleDataError:
            # Someone saved one of these partners meanwhile (its version moved): read the
            # batch again rather than fail the whole run.
            db.session.rollback()
            continue
        last_id = batch[-1].id
        for partner in batch:  # keep memory flat without detaching the caller's objects
            db.session.expunge(partner)
