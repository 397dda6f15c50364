"""The message template pages (the section's "Templates" tab): the list, a template's card with
its texts and a preview for a partner, the form (create, edit) with its live preview and SMS
counter, and delete.

The preview renders the form's texts as they are, unsaved: HTMX posts the form to its own URL
with op=preview and swaps the preview (and each field's error) in; without JavaScript the
Preview button posts the same and the page comes back drawn with the preview, nothing saved.
The preview's HTML is shown in a sandboxed iframe (srcdoc), never injected into the page."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.core.errors import DomainError, PermissionDenied
from crm.core.outcomes import committed
from crm.core.params import id_or_none
from crm.core.policy import load_or_403, requires
from crm.core.text import CONTROL_CHARS
from crm.extensions import db
from crm.forms import apply_errors, submitted_version
from crm.htmx import is_fragment_request, render
from crm.messaging import bp
from crm.messaging import template_queries as queries
from crm.messaging import template_services as services
from crm.messaging.filters import TemplateFilter
from crm.messaging.labels import CHANNEL_TITLES, LANGUAGE_TITLES
from crm.messaging.models import CHANNELS, MessageTemplate
from crm.messaging.template_forms import TemplateForm

# The form fields whose text is an SMS or an e-mail part, per channel.
TEXT_FIELDS = {
    channel: [f"{lang}_{name}" for lang in queries.LANGUAGES for name in fields]
    for channel, fields in queries.FIELDS.items()
}


def _setup_templates(state):
    from crm.demo import register_demo_step
    from crm.messaging import event_placeholders, placeholders
    from crm.messaging.demo import make_templates_demo
    from crm.messaging.sections import Section, register_section

    placeholders.register(state)
    event_placeholders.register(state)
    register_section(state, Section("messaging.templates", _l("Templates"), 20))
    # After partners, sales, interactions, deals and segments: nothing here needs more.
    register_demo_step(state, 70, make_templates_demo)


bp.record_once(_setup_templates)


def _partner_q(source) -> str:
    return CONTROL_CHARS.sub(" ", source.get("partner_q") or "").strip()[:100]


def _preview_choice(source, *, choices: bool = True) -> dict:
    """The partner (one the user may see, else the samples) and language of a preview, read
    from the query string or the form; with `choices`, the partners its select offers."""
    partner = queries.visible_partner(current_user, id_or_none(source.get("partner_id")))
    language = source.get("preview_language") or "ru"
    q = _partner_q(source)
    return {
        "partner": partner,
        "preview_language": language if language in queries.LANGUAGES else "ru",
        "partner_q": q,
        "partner_choices": queries.partner_choices(current_user, q, partner) if choices else [],
    }


def _common() -> dict:
    return {
        "channels": CHANNEL_TITLES,
        "language_titles": LANGUAGE_TITLES,
        "field_title": queries.field_title,
        "editor_placeholders": queries.editor_placeholders(),
        "kinds_text": queries.kinds_text,
    }


# --- the list and the card -------------------------------------------------------------------


@bp.route("/templates")
@requires("messaging.view")
def templates():
    """The templates: name, channel, languages, last change."""
    flt = TemplateFilter.from_args(request.args)
    page = queries.template_page(flt)
    response = render(
        "messaging/templates/index.html",
        "messaging/templates/_results.html",
        flt=flt,
        page=page,
        **_common(),
    )
    if is_fragment_request():
        response.headers["HX-Push-Url"] = url_for("messaging.templates", **flt.params())
    return response


@bp.route("/templates/<int:template_id>")
@requires("messaging.view")
def template_detail(template_id: int):
    """A template's texts, where it is used, and its preview for a chosen partner."""
    template = load_or_403(MessageTemplate, template_id, "messaging.view")
    texts = queries.texts_of(template)
    choice = _preview_choice(request.args, choices=not is_fragment_request())
    preview = queries.preview(
        template.channel, texts, choice["preview_language"], choice["partner"]
    )
    return render(
        "messaging/templates/detail.html",
        "messaging/templates/_preview.html",
        message_template=template,
        texts=texts,
        used=queries.usage(template),
        preview=preview,
        **choice,
        **_common(),
    )


@bp.route("/templates/partners")
@requires("messaging.view")
def template_partners():
    """<option>s of the partners the user may see matching `partner_q` (the preview's select);
    the partner already chosen stays chosen."""
    chosen = queries.visible_partner(current_user, id_or_none(request.args.get("partner_id")))
    return render(
        "messaging/templates/_partner_options.html",
        partner_choices=queries.partner_choices(current_user, _partner_q(request.args), chosen),
        partner=chosen,
    )


@bp.route("/templates/sms-length", methods=["POST"])
@requires("messaging.view")
def template_sms_length():
    """The live counter of one SMS text of the form (`field` names it): the text with the
    samples in it, measured as the network counts it."""
    field = request.form.get("field", "")
    if field not in TEXT_FIELDS["sms"]:
        abort(400)
    language = field.split("_", 1)[0]
    length, rendered = queries.sms_length_of(request.form.get(field, ""), language)
    return render(
        "messaging/templates/_sms_length.html",
        field=field,
        length=length,
        rendered=rendered,
    )


# --- the form --------------------------------------------------------------------------------


def _channel(raw) -> str:
    return raw if raw in CHANNELS else "email"


def _show(form, template, channel, *, preview=None, status=200, **choice):
    if not choice:
        choice = _preview_choice(request.values)
    if preview is None:
        preview = queries.preview(
            channel, form.texts(), choice["preview_language"], choice["partner"]
        )
    lengths = {}
    if channel == "sms":
        for name in TEXT_FIELDS["sms"]:
            lang = name.split("_", 1)[0]
            lengths[name] = queries.sms_length_of(form[name].data or "", lang)
    return render(
        "messaging/templates/form.html",
        form=form,
        message_template=template,
        channel=channel,
        text_fields=TEXT_FIELDS[channel],
        preview=preview,
        lengths=lengths,
        status=status,
        **choice,
        **_common(),
    )


def _preview(form, template, channel):
    """op=preview: the form's texts rendered, nothing saved; HTMX gets the preview and each
    text field's error (out of band), a plain post the page with both."""
    fragment = is_fragment_request()
    choice = _preview_choice(request.form, choices=not fragment)
    preview = queries.preview(channel, form.texts(), choice["preview_language"], choice["partner"])
    if fragment:
        return render(
            "messaging/templates/_preview.html",
            preview=preview,
            oob_fields=TEXT_FIELDS[channel],
            **_common(),
        )
    for name, reason in preview.errors.items():
        form[name].errors = [reason]
    return _show(form, template, channel, preview=preview, **choice)


def _texts_form(template: MessageTemplate | None) -> TemplateForm:
    form = TemplateForm(obj=template if request.method == "GET" else None)
    if request.method == "GET" and template is not None:
        form.fill_texts(queries.texts_of(template))
    return form


@bp.route("/templates/new", methods=["GET", "POST"])
@requires("messaging.edit")
def template_create():
    """A new e-mail or SMS template (?channel=email|sms)."""
    channel = _channel(request.values.get("channel"))
    form = _texts_form(None)
    if request.method == "GET":
        return _show(form, None, channel)
    if request.form.get("op") == "preview":
        return _preview(form, None, channel)
    if form.validate():
        try:
            template = services.create_template(
                current_user,
                form.name.data,
                channel,
                form.texts(),
                description=form.description.data or "",
            )
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Template %(name)s is created.", name=template.name), "success")
            return redirect(url_for("messaging.template_detail", template_id=template.id))
    db.session.rollback()
    return _show(form, None, channel, status=422)


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
@requires("messaging.edit")
def template_update(template_id: int):
    """Change a template's name, description and texts."""
    template = load_or_403(MessageTemplate, template_id, "messaging.edit")
    channel = template.channel
    form = _texts_form(template)
    if request.method == "GET":
        return _show(form, template, channel)
    if request.form.get("op") == "preview":
        return _preview(form, template, channel)
    if form.validate():
        try:
            services.update_template(
                current_user,
                template,
                form.name.data,
                form.texts(),
                description=form.description.data or "",
                version=submitted_version(form),
            )
        except PermissionDenied:
            db.session.rollback()
            abort(403)
        except DomainError as exc:
            db.session.rollback()
            template = db.session.get(MessageTemplate, template_id)
            if template is None:
                abort(404)
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("messaging.template_detail", template_id=template.id))
    db.session.rollback()
    return _show(form, template, channel, status=422)


@bp.route("/templates/<int:template_id>/delete", methods=["POST"])
@requires("messaging.edit")
def template_delete(template_id: int):
    """Delete a template no mailing or notification uses."""
    template = load_or_403(MessageTemplate, template_id, "messaging.edit")
    name = template.name
    if not committed(services.delete_template, current_user, template):
        return redirect(url_for("messaging.template_detail", template_id=template_id))
    flash(_("Template %(name)s is deleted.", name=name), "success")
    return redirect(url_for("messaging.templates"))
