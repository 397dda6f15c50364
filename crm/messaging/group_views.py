"""The Groups tab of the messaging section: the mailing groups (topics a recipient can opt out
of one by one), creating, editing and deleting them."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.core.errors import DomainError, PermissionDenied
from crm.core.outcomes import committed
from crm.core.policy import load_or_403, requires
from crm.extensions import db
from crm.forms import apply_errors, submitted_version
from crm.htmx import render
from crm.messaging import bp, consent_queries, group_services
from crm.messaging.consent_forms import GroupForm
from crm.messaging.consent_labels import GROUP_KIND_HINTS, GROUP_KIND_TITLES
from crm.messaging.models import MailingGroup


def _setup_groups(state):
    from crm.messaging.sections import Section, register_section

    register_section(state, Section("messaging.groups", _l("Groups"), 40))


bp.record_once(_setup_groups)


@bp.get("/groups/")
@requires("messaging.view")
def groups():
    """The mailing groups: name, kind, whether active, mailings and opt-outs."""
    return render(
        "messaging/groups/index.html",
        rows=consent_queries.group_rows(),
        kinds=GROUP_KIND_TITLES,
        hints=GROUP_KIND_HINTS,
    )


def _form_page(form: GroupForm, group: MailingGroup | None, status: int = 200):
    return render(
        "messaging/groups/form.html",
        form=form,
        group=group,
        hints=GROUP_KIND_HINTS,
        usage=group_services.usage(group) if group is not None else None,
        status=status,
    )


def _data(form: GroupForm) -> dict:
    return {
        "name": form.name.data,
        "kind": form.kind.data,
        "description": form.description.data,
        "is_active": form.is_active.data,
    }


@bp.route("/groups/new", methods=["GET", "POST"])
@requires("messaging.edit")
def group_create():
    """A new mailing group."""
    form = GroupForm()
    if request.method == "GET":
        return _form_page(form, None)
    if form.validate():
        try:
            group = group_services.create_group(current_user, _data(form))
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Group %(name)s is created.", name=group.name), "success")
            return redirect(url_for("messaging.groups"))
    db.session.rollback()
    return _form_page(form, None, 422)


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@requires("messaging.edit")
def group_update(group_id: int):
    """Change a group's name, kind, description or whether it is active."""
    group = load_or_403(MailingGroup, group_id, "messaging.edit")
    form = GroupForm(obj=group if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = group.version
        return _form_page(form, group)
    if form.validate():
        try:
            group_services.update_group(
                current_user, group, _data(form), version=submitted_version(form)
            )
        except PermissionDenied:
            db.session.rollback()
            abort(403)
        except DomainError as exc:
            db.session.rollback()
            group = db.session.get(MailingGroup, group_id)
            if group is None:
                abort(404)
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("messaging.groups"))
    db.session.rollback()
    return _form_page(form, group, 409 if getattr(form, "conflict", None) else 422)


@bp.post("/groups/<int:group_id>/delete")
@requires("messaging.edit")
def group_delete(group_id: int):
    """Delete a group no mailing, notification or message uses."""
    group = load_or_403(MailingGroup, group_id, "messaging.edit")
    name = group.name
    if not committed(group_services.delete_group, current_user, group):
        return redirect(url_for("messaging.group_update", group_id=group_id))
    flash(_("Group %(name)s is deleted.", name=name), "success")
    return redirect(url_for("messaging.groups"))
