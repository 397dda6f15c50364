"""The partner card's Mailings tab (crm/partners/tabs.py): for each e-mail and phone of the
partner and its contact persons, the consent to advertising (with its date, source and
history), the language, the groups it opted out of and whether it is suppressed; and the last
messages sent to the partner. Whoever may record consents (`messaging.consent`) for a partner
he may see changes them here; the forms post to this module's views, which answer the tab's
part for HTMX and go back to the card otherwise."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.core.errors import DomainError, PermissionDenied
from crm.core.params import BadValue, id_or_none, parse_date
from crm.core.policy import load_or_403, may
from crm.core.timeutil import site_today
from crm.extensions import db
from crm.htmx import is_fragment_request
from crm.messaging import bp, consent, consent_queries, suppression
from crm.messaging.consent_labels import (
    MESSAGE_STATE_TITLES,
    SUPPRESSION_REASON_TITLES,
    notification_title,
    source_title,
)
from crm.messaging.labels import CHANNEL_TITLES, LANGUAGE_TITLES
from crm.messaging.models import MailingGroup
from crm.partners.tabs import PartnerTab


def mailings_tab(partner, errors: dict[int, str] | None = None) -> str:
    """The Mailings tab's body (the part its forms swap)."""
    states = consent_queries.address_states(partner)
    opted = {gid for s in states for gid in s.opted_out}
    return render_template(
        "messaging/_tab_partner.html",
        partner=partner,
        states=states,
        groups=consent_queries.groups_for_choice(opted),
        sent=consent_queries.recent_messages(partner.id),
        can_edit=may(current_user, "messaging.consent", partner),
        can_lift=may(current_user, "messaging.edit"),
        restricted=suppression.RESTRICTED_REASONS,
        errors=errors or {},
        today=site_today(),
        channels=CHANNEL_TITLES,
        languages=LANGUAGE_TITLES,
        reasons=SUPPRESSION_REASON_TITLES,
        states_titles=MESSAGE_STATE_TITLES,
        notification_title=notification_title,
        source_title=source_title,
    )


TAB = PartnerTab("mailings", _l("Mailings"), mailings_tab, 70, lambda u: may(u, "messaging.view"))


def _setup_partner_tab(state):
    from crm.partners.tabs import register_tab

    register_tab(state, TAB)


bp.record_once(_setup_partner_tab)


# --- the tab's forms -------------------------------------------------------------------------


def _partner(partner_id: int):
    from crm.partners.queries import get_partner

    partner = load_or_403(get_partner, partner_id, "partner.view", "messaging.consent")
    if partner.merged_into_id:
        abort(404)
    return partner


def _address(partner, detail_id: int):
    found = consent_queries.detail_of_partner(partner, detail_id)
    if found is None:
        abort(404)
    detail, person = found
    channel = consent_queries.CHANNEL_OF_KIND[detail.kind]
    return detail, person, channel


def _done(partner_id: int, message: str):
    """After a change: the tab's part for HTMX; back to the card's tab otherwise."""
    db.session.commit()
    if is_fragment_request():
        partner = _partner(partner_id)
        return mailings_tab(partner)
    flash(message, "success")
    return redirect(url_for("partners.detail", partner_id=partner_id, tab="mailings"), 303)


def _refused(partner_id: int, detail_id: int, message: str, status: int = 422):
    """A change refused: nothing written, the reason next to the address (or flashed)."""
    db.session.rollback()
    if is_fragment_request():
        partner = _partner(partner_id)
        return mailings_tab(partner, {detail_id: message}), status
    flash(message, "danger")
    return redirect(url_for("partners.detail", partner_id=partner_id, tab="mailings"), 303)


@bp.post("/partners/<int:partner_id>/addresses/<int:detail_id>/consent")
def consent_change(partner_id: int, detail_id: int):
    """Record an address's consent to advertising (source, date) or its withdrawal."""
    partner = _partner(partner_id)
    detail, person, channel = _address(partner, detail_id)
    action = request.form.get("action")
    kwargs = {"partner_id": partner.id, "contact_person_id": person.id if person else None}
    try:
        if action == "grant":
            raw_date = (request.form.get("on") or "").strip()
            try:
                on = parse_date(raw_date, label=_("Date")) if raw_date else None
            except BadValue as exc:
                raise DomainError(str(exc)) from None
            consent.grant_consent(
                current_user,
                channel,
                detail.value,
                source=request.form.get("source", ""),
                on=on,
                **kwargs,
            )
            message = _("Consent of %(address)s recorded.", address=detail.value)
        elif action == "withdraw":
            consent.withdraw_consent(
                current_user,
                channel,
                detail.value,
                source=request.form.get("source", ""),
                **kwargs,
            )
            message = _("Consent of %(address)s withdrawn.", address=detail.value)
        else:
            raise DomainError(_("The form is damaged: reload the page and try again."))
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except DomainError as exc:
        return _refused(partner_id, detail_id, exc.message)
    return _done(partner_id, message)


@bp.post("/partners/<int:partner_id>/addresses/<int:detail_id>/preferences")
def preferences_change(partner_id: int, detail_id: int):
    """Save an address's language and the groups it opted out of (the form's checkboxes)."""
    partner = _partner(partner_id)
    detail, person, channel = _address(partner, detail_id)
    shown_ids = [id_or_none(v) for v in request.form.getlist("groups")]
    out_ids = [id_or_none(v) for v in request.form.getlist("opted_out")]
    if None in shown_ids or None in out_ids:
        return _refused(
            partner_id, detail_id, _("The form is damaged: reload the page and try again.")
        )
    shown = (
        list(
            db.session.execute(
                db.select(MailingGroup).where(MailingGroup.id.in_(sorted(set(shown_ids))))
            ).scalars()
        )
        if shown_ids
        else []
    )
    try:
        consent.set_language(
            current_user,
            channel,
            detail.value,
            request.form.get("language", ""),
            partner_id=partner.id,
            contact_person_id=person.id if person else None,
        )
        consent.set_opt_outs(current_user, channel, detail.value, shown, set(out_ids))
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except DomainError as exc:
        return _refused(partner_id, detail_id, exc.message)
    return _done(partner_id, _("Settings of %(address)s saved.", address=detail.value))


@bp.post("/partners/<int:partner_id>/addresses/<int:detail_id>/suppression")
def suppression_change(partner_id: int, detail_id: int):
    """Stop every message to an address (the suppression list), or lift that."""
    partner = _partner(partner_id)
    detail, _person, channel = _address(partner, detail_id)
    action = request.form.get("action")
    note = request.form.get("note", "")
    try:
        if action == "suppress":
            suppression.suppress(current_user, channel, detail.value, "manual", note=note)
            message = _("No more messages will be sent to %(address)s.", address=detail.value)
        elif action == "unsuppress":
            suppression.unsuppress(current_user, channel, detail.value, note=note)
            message = _("%(address)s is taken off the suppression list.", address=detail.value)
        else:
            raise DomainError(_("The form is damaged: reload the page and try again."))
    except PermissionDenied as exc:  # lifting a bounce or a complaint: not his to do
        return _refused(partner_id, detail_id, exc.message, 403)
    except DomainError as exc:
        return _refused(partner_id, detail_id, exc.message)
    return _done(partner_id, message)
