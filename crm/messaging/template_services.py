"""Writes of message templates: create, change (versioned: a stale form is refused with what
changed) and delete (refused while a mailing or a notification uses the template), each
audited. Every text is checked before it is stored: its syntax tree is scanned (no private
attribute such as `__class__`, no include, no name but the placeholders and the unsubscribe
link: rendering.scan) and it is rendered with every placeholder's sample (rendering.check), so
a template that would fail or reach outside the sandbox never reaches a mailing. Services
flush; the caller commits."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.core import audit, versioning
from crm.core.errors import DomainError, FieldErrors
from crm.core.text import fold
from crm.extensions import db
from crm.messaging import rendering
from crm.messaging.labels import LANGUAGE_TITLES
from crm.messaging.models import CHANNELS, MessageTemplate, MessageTemplateText
from crm.messaging.template_queries import (
    FIELDS,
    LANGUAGES,
    allowed_names,
    field_title,
    kinds_text,
    sample_context,
    texts_of,
    usage,
)

NAME_MAX = 200
DESCRIPTION_MAX = 2000
SUBJECT_MAX = 500  # the column's size
SMS_MAX = 2000  # characters of an SMS template (some 30 parts: far beyond any real message)


def _clean(name: str, value) -> str:
    text = value if isinstance(value, str) else ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if name == "subject":
        return " ".join(text.split())  # a subject is one line
    return text if text.strip() else ""


def clean_texts(channel: str, texts: dict) -> dict[str, dict[str, str]]:
    """The channel's fields of each language, as they will be stored."""
    fields = FIELDS[channel]
    return {
        lang: {name: _clean(name, (texts.get(lang) or {}).get(name)) for name in fields}
        for lang in LANGUAGES
    }


def _limit(channel: str, name: str) -> int:
    if name == "subject":
        return SUBJECT_MAX
    return SMS_MAX if channel == "sms" else rendering.MAX_SOURCE_CHARS


def check_texts(channel: str, texts: dict[str, dict[str, str]], errors: FieldErrors) -> None:
    """Add to `errors` what is wrong with the (cleaned) texts: a Russian text is required, an
    English one is optional but then complete; each text must be short enough, scan clean and
    render with the samples. Errors are keyed by form field ("ru_body_html") and say which
    language and field they concern."""
    names = allowed_names()
    context = sample_context()
    for lang in LANGUAGES:
        values = texts[lang]
        if lang != "ru" and not any(values.values()):
            continue  # no English text: Russian is sent instead
        where = LANGUAGE_TITLES[lang]
        if channel == "email":
            if not values["subject"]:
                errors.add(
                    f"{lang}_subject", _("%(language)s: the subject is required.", language=where)
                )
            if not values["body_html"] and not values["body_text"]:
                errors.add(
                    f"{lang}_body_text",
                    _("%(language)s: write the HTML body, the text body or both.", language=where),
                )
        elif not values["body_text"]:
            errors.add(
                f"{lang}_body_text", _("%(language)s: the SMS text is required.", language=where)
            )
        for name, source in values.items():
            if not source:
                continue
            path = f"{where} · {field_title(channel, name)}"
            limit = _limit(channel, name)
            if len(source) > limit:
                errors.add(
                    f"{lang}_{name}",
                    _("%(path)s: at most %(max)s characters.", path=path, max=limit),
                )
                continue
            reason = rendering.scan(source, names) or rendering.check(
                source, context, html=name == "body_html", language=lang
            )
            if reason:
                errors.add(f"{lang}_{name}", f"{path}: {reason}")


def _check_name(name, template_id: int | None, errors: FieldErrors) -> str:
    name = " ".join(name.split()) if isinstance(name, str) else ""
    if not name:
        errors.add("name", _("A template needs a name."))
    elif len(name) > NAME_MAX:
        errors.add("name", _("A name has at most %(max)s characters.", max=NAME_MAX))
    else:
        # Few templates: compared folded in Python ("Акция" and "акция" are one name).
        rows = db.session.execute(select(MessageTemplate.id, MessageTemplate.name))
        if any(tid != template_id and fold(other) == fold(name) for tid, other in rows):
            errors.add("name", _("A template named %(name)s exists.", name=name))
    return name


def _snapshot(name: str, description: str, channel: str, texts: dict) -> dict:
    """A template's recorded values; text fields keyed as the form names them ("ru_subject"),
    so a stale form can take another editor's change field by field."""
    values = {"name": name, "description": description}
    for lang in LANGUAGES:
        for field_name in FIELDS[channel]:
            values[f"{lang}_{field_name}"] = texts[lang][field_name]
    return values


def _store_texts(template: MessageTemplate, texts: dict) -> None:
    by_language = {t.language: t for t in template.texts}
    for lang in LANGUAGES:
        values = texts[lang]
        row = by_language.get(lang)
        if not any(values.values()):
            if row is not None:
                template.texts.remove(row)
            continue
        if row is None:
            row = MessageTemplateText(language=lang)
            template.texts.append(row)
        row.subject = values.get("subject", "")
        row.body_html = values.get("body_html", "")
        row.body_text = values.get("body_text", "")


def _flush_unique(errors_field: str, name: str) -> None:
    """Flush; a template of the same name saved by someone else meanwhile is the name's error."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        message = _("A template named %(name)s exists.", name=name)
        raise DomainError(message, {errors_field: [message]}) from None


def create_template(
    actor, name: str, channel: str, texts: dict, description: str = ""
) -> MessageTemplate:
    """A new e-mail or SMS template with its Russian (and maybe English) text."""
    errors = FieldErrors()
    if channel not in CHANNELS:
        errors.add("channel", _("A template is an e-mail or an SMS."))
        errors.raise_if_any()
    name = _check_name(name, None, errors)
    texts = clean_texts(channel, texts)
    check_texts(channel, texts, errors)
    errors.raise_if_any()
    description = (description or "").strip()[:DESCRIPTION_MAX]
    template = MessageTemplate(
        name=name,
        channel=channel,
        description=description,
        created_by_id=getattr(actor, "id", None),
    )
    _store_texts(template, texts)
    db.session.add(template)
    _flush_unique("name", name)
    audit.record(actor, "create", template, summary=name)
    return template


def update_template(
    actor,
    template: MessageTemplate,
    name: str,
    texts: dict,
    description: str = "",
    *,
    version: int | None = None,
) -> MessageTemplate:
    """Change a template's name, description and texts (its channel stays: mailings and
    notifications chose it for that channel)."""
    errors = FieldErrors()
    name = _check_name(name, template.id, errors)
    channel = template.channel
    texts = clean_texts(channel, texts)
    check_texts(channel, texts, errors)
    errors.raise_if_any()
    description = (description or "").strip()[:DESCRIPTION_MAX]
    old = _snapshot(template.name, template.description, channel, texts_of(template))
    new = _snapshot(name, description, channel, texts)
    with versioning.saving(template, version):
        template.name = name
        template.description = description
        _store_texts(template, texts)
        audit.record(actor, "update", template, changes=audit.diff(old, new), summary=name)
        _flush_unique("name", name)
    return template


def delete_template(actor, template: MessageTemplate) -> None:
    """Delete a template no mailing and no notification uses."""
    used = usage(template)
    if used.mailings:
        raise DomainError(
            _(
                "The template is used by mailings %(names)s: choose another template there first.",
                names=", ".join(f"«{n}»" for n in used.mailings[:10]),
            )
        )
    if used.notifications:
        raise DomainError(
            _(
                "The template is used by notifications (%(kinds)s): choose another template "
                "there first.",
                kinds=kinds_text(used.notifications[:10]),
            )
        )
    old = _snapshot(template.name, template.description, template.channel, texts_of(template))
    audit.record(actor, "delete", template, summary=template.name, changes=audit.diff(old, {}))
    db.session.delete(template)
    db.session.flush()
