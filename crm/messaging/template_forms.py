"""The message template form: name, description and the texts of each language (an e-mail's
subject, HTML and text body; an SMS's text), with the version and the CSRF token. The channel
is chosen before the form opens (?channel=) and stays. The texts are checked by the service
(crm/messaging/template_services.py), which names the field at fault."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from crm.forms import VersionedForm
from crm.messaging.template_queries import FIELDS, LANGUAGES


class TemplateForm(VersionedForm, FlaskForm):
    name = StringField(_lp("template", "Name"))
    description = TextAreaField(_l("Description"))
    ru_subject = StringField(_lp("e-mail", "Subject"))
    ru_body_html = TextAreaField(_l("HTML body"))
    ru_body_text = TextAreaField(_l("Text body"))
    en_subject = StringField(_lp("e-mail", "Subject"))
    en_body_html = TextAreaField(_l("HTML body"))
    en_body_text = TextAreaField(_l("Text body"))

    def texts(self) -> dict[str, dict[str, str]]:
        """{language: {field: text}} as typed."""
        return {
            lang: {name: self[f"{lang}_{name}"].data or "" for name in FIELDS["email"]}
            for lang in LANGUAGES
        }

    def fill_texts(self, texts: dict[str, dict[str, str]]) -> None:
        for lang in LANGUAGES:
            for name in FIELDS["email"]:
                self[f"{lang}_{name}"].data = (texts.get(lang) or {}).get(name, "")
