"""The mailing pages (the section's first tab): the list of mailings, a mailing's card (state,
progress polled while it is scheduled or being sent, figures, its messages) and the moves of
its state (schedule, send now, back to draft, cancel, copy, delete). The draft's form is
crm.messaging.mailing_form_views'; the sending itself is crm.messaging.jobs'."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.i18n import ngettext
from crm.core.outcomes import committed
from crm.core.policy import load_or_403, may, requires
from crm.extensions import db
from crm.htmx import is_fragment_request, render
from crm.messaging import bp, mailing_states, queries, services
from crm.messaging.delivery import ready_channels
from crm.messaging.filters import MailingFilter, MessageFilter
from crm.messaging.forms import ScopePicker
from crm.messaging.mailing_labels import PAGE_LABELS
from crm.messaging.models import Mailing

# The card polls its state while the mailing waits or goes out, and stops once it is over.
POLLED_STATES = ("scheduled", "sending")


@bp.get("/")
@requires("messaging.view")
def index():
    """The mailings, newest first: name, channel, state, when, who made it, sent of made."""
    flt = MailingFilter.from_args(request.args)
    page = queries.mailing_page(flt, current_user)
    response = render(
        "messaging/index.html",
        "messaging/_mailing_results.html",
        flt=flt,
        page=page,
        restricted=queries.restricted(current_user),
        **PAGE_LABELS,
    )
    if is_fragment_request():
        response.headers["HX-Push-Url"] = url_for("messaging.index", **flt.params())
    return response


# --- the card -------------------------------------------------------------------------------


def _status_context(mailing: Mailing) -> dict:
    return {
        "mailing": mailing,
        "figures": queries.figures(mailing, current_user),
        "problems": services.readiness(mailing) if mailing.state == "draft" else [],
        "polling": mailing.state in POLLED_STATES,
        "actions": may_change(mailing),
        **PAGE_LABELS,
    }


@bp.get("/mailings/<int:mailing_id>")
@requires("messaging.view")
def mailing_detail(mailing_id: int):
    """A mailing: state, template, group, schedule, author, progress, figures, messages."""
    mailing = load_or_403(Mailing, mailing_id, "messaging.view")
    flt = MessageFilter.from_args(request.args)
    page = queries.message_page(mailing, current_user, flt)
    if is_fragment_request():
        response = render(
            "messaging/_mailing_messages.html", mailing=mailing, flt=flt, page=page, **PAGE_LABELS
        )
        response.headers["HX-Push-Url"] = url_for(
            "messaging.mailing_detail", mailing_id=mailing.id, **flt.params()
        )
        return response
    scope_title, scope_problem = _scope_title(mailing)
    return render(
        "messaging/detail.html",
        flt=flt,
        page=page,
        author=queries.author(mailing),
        scope_title=scope_title,
        scope_problem=scope_problem,
        hand_picked_total=queries.hand_picked(mailing, current_user, limit=0)[1],
        # E-mail waits queued until SMTP is set up: say so rather than show a stuck bar.
        channel_waits=mailing.channel not in ready_channels(),
        **_status_context(mailing),
    )


def _scope_title(mailing: Mailing) -> tuple[str, str]:
    """("Segment: Active clients", "") of the mailing's partner scope, as its picker names it;
    ("", why) when the scope cannot be used any more (its segment was deleted)."""
    if not mailing.scope_key:
        return "", ""
    picker = ScopePicker({mailing.scope_key: mailing.scope_value})
    if picker.problems:
        return "", " ".join(picker.problems)
    for f in picker.extra_fields:
        if f.name == mailing.scope_key:
            chosen = [c.label for c in f.iter_choices() if c.selected and c.value]
            if chosen:
                return f"{f.label.text}: {chosen[0]}", ""
    return "", _("Unknown recipient list.")


@bp.get("/mailings/<int:mailing_id>/status")
@requires("messaging.view")
def mailing_status(mailing_id: int):
    """The card's state, progress and figures (HTMX polls it while the mailing is scheduled or
    being sent); without HTMX, the card."""
    mailing = load_or_403(Mailing, mailing_id, "messaging.view")
    if not is_fragment_request():
        return redirect(url_for("messaging.mailing_detail", mailing_id=mailing.id))
    return render("messaging/_mailing_status.html", **_status_context(mailing))


@bp.get("/mailings/<int:mailing_id>/recipients")
@requires("messaging.view")
def mailing_recipients(mailing_id: int):
    """Whom the mailing would reach now (those of the partners the user may see)."""
    mailing = load_or_403(Mailing, mailing_id, "messaging.view")
    return render(
        "messaging/mailing_recipients.html",
        "messaging/_mailing_preview.html",
        mailing=mailing,
        preview=queries.mailing_preview(mailing, current_user),
        **PAGE_LABELS,
    )


# --- the moves ------------------------------------------------------------------------------


def _back(mailing_id: int):
    return redirect(url_for("messaging.mailing_detail", mailing_id=mailing_id), code=303)


@bp.route("/mailings/<int:mailing_id>/schedule", methods=["POST"])
@requires("messaging.send")
def mailing_schedule(mailing_id: int):
    """draft → scheduled, at the time the draft names."""
    mailing = load_or_403(Mailing, mailing_id, "messaging.view")
    if committed(mailing_states.schedule, current_user, mailing, mailing.scheduled_at):
        flash(_("The mailing is scheduled."), "success")
    return _back(mailing_id)


@bp.route("/mailings/<int:mailing_id>/send", methods=["POST"])
@requires("messaging.send")
def mailing_send(mailing_id: int):
    """Send a draft or scheduled mailing now: it is made due and its job started."""
    mailing = load_or_403(Mailing, mailing_id, "messaging.view")
    if committed(mailing_states.send_now, current_user, mailing):
        from crm.messaging.jobs import start_mailing_now  # the delivery part's

        # Should it not start, it stays due: the dispatcher starts it on its next round.
        if committed(start_mailing_now, mailing, current_user, refused="warning"):
            flash(_("Sending has started."), "success")
    return _back(mailing_id)


@bp.route("/mailings/<int:mailing_id>/unschedule", methods=["POST"])
@requires("messaging.send")
def mailing_unschedule(mailing_id: int):
    """scheduled → draft."""
    mailing = load_or_403(Mailing, mailing_id, "messaging.view")
    if committed(mailing_states.unschedule, current_user, mailing):
        flash(_("The mailing is a draft again."), "success")
    return _back(mailing_id)


@bp.route("/mailings/<int:mailing_id>/cancel", methods=["POST"])
@requires("messaging.send")
def mailing_cancel(mailing_id: int):
    """Cancel a scheduled mailing or one being sent (its queued messages too)."""
    mailing = load_or_403(Mailing, mailing_id, "messaging.view")
    done = committed(mailing_states.cancel, current_user, mailing)
    if done:
        cancelled = done.result
        flash(
            ngettext(
                "The mailing is cancelled; %(num)s queued message will not be sent.",
                "The mailing is cancelled; %(num)s queued messages will not be sent.",
                cancelled,
            )
            if cancelled
            else _("The mailing is cancelled."),
            "success",
        )
    return _back(mailing_id)


@bp.route("/mailings/<int:mailing_id>/duplicate", methods=["POST"])
@requires("messaging.edit")
def mailing_duplicate(mailing_id: int):
    """A copy of the mailing as a new draft, opened in its form."""
    mailing = load_or_403(Mailing, mailing_id, "messaging.view")
    copy = mailing_states.duplicate(current_user, mailing)
    db.session.commit()
    flash(_("A copy is made: %(name)s.", name=copy.name), "success")
    return redirect(url_for("messaging.mailing_update", mailing_id=copy.id), code=303)


@bp.route("/mailings/<int:mailing_id>/delete", methods=["POST"])
@requires("messaging.edit")
def mailing_delete(mailing_id: int):
    """Delete a draft."""
    mailing = load_or_403(Mailing, mailing_id, "messaging.view")
    name = mailing.name
    if not committed(mailing_states.delete_mailing, current_user, mailing):
        return _back(mailing_id)
    flash(_("Mailing %(name)s is deleted.", name=name), "success")
    return redirect(url_for("messaging.index"), code=303)


def may_change(mailing: Mailing) -> dict[str, bool]:
    """The moves the signed-in user may make on the mailing in its state (the card's buttons)."""
    send, edit = may(current_user, "messaging.send"), may(current_user, "messaging.edit")
    state = mailing.state
    return {
        "edit": edit and state == "draft",
        "schedule": send and state == "draft" and mailing.scheduled_at is not None,
        "send": send and state in ("draft", "scheduled"),
        "unschedule": send and state == "scheduled",
        "cancel": send and state in mailing_states.CANCELLABLE,
        "duplicate": edit,
        "delete": edit and state == "draft",
    }


# The "Start a mailing" action on selections, and this part's setup (its own module).
from crm.messaging import selections  # noqa: E402,F401
