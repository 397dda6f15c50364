"""Fixtures of the messaging tests. Each part of the domain keeps its fixtures in its own
block below."""

import pytest

# --- templates (H1): message templates, placeholders, the sandbox ------------------------------


@pytest.fixture
def make_template(app):
    """make_template(name="T", channel="email", ru=None, en=None) -> MessageTemplate, stored
    directly (not through the service and its checks): `ru`/`en` are dicts of subject,
    body_html, body_text."""
    from crm.extensions import db
    from crm.messaging.models import MessageTemplate, MessageTemplateText

    def make(name="T", channel="email", ru=None, en=None):
        template = MessageTemplate(name=name, channel=channel, description="")
        for language, values in (("ru", ru), ("en", en)):
            if values is not None:
                template.texts.append(MessageTemplateText(language=language, **values))
        db.session.add(template)
        db.session.commit()
        return template

    return make
