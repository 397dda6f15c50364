"""The moves of a marketing mailing's state — draft → scheduled (checked ready), scheduled →
draft, draft/scheduled → scheduled "as soon as possible" (send now), scheduled/sending →
cancelled (its messages still queued are cancelled with it) — plus deleting a draft and copying
a mailing. The draft's values are crm.messaging.services'; sending (scheduled → sending →
done) is crm.messaging.jobs'.

A move reads the mailing's row again under a lock (FOR UPDATE on PostgreSQL; SQLite has one
writer at a time) and refuses when the state is no longer one it starts from, so a cancel and
the dispatcher starting the same mailing cannot both win. Services flush and audit; the
caller (request, job) commits."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, insert, literal, select, update

from crm.core import audit
from crm.core.errors import DomainError
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging.mailing_labels import mailing_state_title
from crm.messaging.models import Mailing, MailingPartner, Message
from crm.messaging.services import NAME_MAX, readiness

CANCELLABLE = ("scheduled", "sending")


def _locked(mailing: Mailing) -> Mailing:
    """The mailing's row read again, locked until the transaction ends."""
    found = db.session.execute(
        select(Mailing)
        .where(Mailing.id == mailing.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if found is None:
        raise DomainError(_("The mailing was deleted meanwhile."))
    return found


def _move(
    actor, mailing: Mailing, new_state: str, extra: dict | None = None, noted: dict | None = None
) -> None:
    """Set the (locked, checked) mailing's state and values, audited (with `noted` changes)."""
    values = {"state": new_state, **(extra or {})}
    old = {key: getattr(mailing, key) for key in values}
    changes = {**audit.diff(old, values), **(noted or {})}
    for key, value in values.items():
        setattr(mailing, key, value)
    audit.record(actor, "update", mailing, changes=changes)
    db.session.flush()


def _refuse_unless_ready(mailing: Mailing) -> None:
    problems = readiness(mailing)
    if problems:
        raise DomainError(
            _("The mailing cannot be sent yet: %(problems)s", problems=" ".join(problems))
        )


def schedule(actor, mailing: Mailing, at: datetime | None = None) -> Mailing:
    """draft → scheduled, to be sent at `at` (UTC) or, without one, as soon as the dispatcher
    looks; refused unless the mailing is ready (template, group, recipients, renders)."""
    mailing = _locked(mailing)
    if mailing.state != "draft":
        raise DomainError(
            _(
                "Only a draft can be scheduled; this mailing is in state «%(state)s».",
                state=mailing_state_title(mailing.state),
            )
        )
    if at is not None and at <= utcnow():
        raise DomainError(_("The time to send it has passed: choose a later one, or send it now."))
    _refuse_unless_ready(mailing)
    _move(actor, mailing, "scheduled", {"scheduled_at": at})
    return mailing


def unschedule(actor, mailing: Mailing) -> Mailing:
    """scheduled → draft (to change it before it goes)."""
    mailing = _locked(mailing)
    if mailing.state != "scheduled":
        raise DomainError(
            _(
                "Only a scheduled mailing can go back to draft; this one is in state «%(state)s».",
                state=mailing_state_title(mailing.state),
            )
        )
    _move(actor, mailing, "draft")
    return mailing


def send_now(actor, mailing: Mailing) -> Mailing:
    """A draft or scheduled mailing made due now (scheduled, no time): the caller then starts
    it (crm.messaging.jobs.start_mailing_now), and should that fail the dispatcher will."""
    mailing = _locked(mailing)
    if mailing.state not in ("draft", "scheduled"):
        raise DomainError(
            _(
                "Only a draft or a scheduled mailing can be sent now; this one is in state "
                "«%(state)s».",
                state=mailing_state_title(mailing.state),
            )
        )
    _refuse_unless_ready(mailing)
    _move(actor, mailing, "scheduled", {"scheduled_at": None})
    return mailing


def cancel(actor, mailing: Mailing) -> int:
    """scheduled/sending → cancelled; its messages still queued are cancelled in the same
    transaction (those a worker holds go out). Returns how many were cancelled."""
    mailing = _locked(mailing)
    if mailing.state not in CANCELLABLE:
        raise DomainError(
            _(
                "Only a scheduled mailing or one being sent can be cancelled; this one is in "
                "state «%(state)s».",
                state=mailing_state_title(mailing.state),
            )
        )
    cancelled = db.session.execute(
        update(Message)
        .where(Message.mailing_id == mailing.id, Message.state == "queued")
        .values(state="cancelled", next_attempt_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    noted = {"messages_cancelled": [None, cancelled]} if cancelled else None
    _move(actor, mailing, "cancelled", {"finished_at": utcnow()}, noted)
    return cancelled


def delete_mailing(actor, mailing: Mailing) -> None:
    """Delete a draft (with the partners added to it by hand)."""
    mailing = _locked(mailing)
    if mailing.state != "draft":
        raise DomainError(
            _(
                "Only a draft can be deleted; this mailing is in state «%(state)s».",
                state=mailing_state_title(mailing.state),
            )
        )
    audit.record(actor, "delete", mailing, summary=mailing.name)
    db.session.execute(delete(MailingPartner).where(MailingPartner.mailing_id == mailing.id))
    db.session.delete(mailing)
    db.session.flush()


def duplicate(actor, mailing: Mailing) -> Mailing:
    """A copy of any mailing as a new draft: its values and the partners added by hand (a time
    that has passed is dropped)."""
    name = _("%(name)s (copy)", name=mailing.name)
    if len(name) > NAME_MAX:
        name = name[: NAME_MAX - 1] + "…"
    at = mailing.scheduled_at if mailing.scheduled_at and mailing.scheduled_at > utcnow() else None
    copy = Mailing(
        name=name,
        channel=mailing.channel,
        template_id=mailing.template_id,
        group_id=mailing.group_id,
        scope_key=mailing.scope_key,
        scope_value=mailing.scope_value,
        tracking=mailing.tracking,
        scheduled_at=at,
        state="draft",
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(copy)
    db.session.flush()
    db.session.execute(
        insert(MailingPartner).from_select(
            ["mailing_id", "partner_id"],
            select(literal(copy.id), MailingPartner.partner_id).where(
                MailingPartner.mailing_id == mailing.id
            ),
        )
    )
    audit.record(
        actor, "create", copy, summary=_("%(name)s, copied from #%(id)s", name=name, id=mailing.id)
    )
    db.session.flush()
    return copy
