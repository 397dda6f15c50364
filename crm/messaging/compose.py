"""Composing messages: a template rendered for each recipient, in the recipient's language,
with the placeholders' values (crm.core.message_placeholders, loaded in bulk for the batch),
the unsubscribe link, and, when tracking is on, redirecting links and an open pixel.

Used by the mailings (a batch of recipients at a time), the event notifications and the
template's live preview. Each message's key (and so its Message-ID and its links) is drawn here,
before the row is written, so the stored body already carries its own links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import escape

from crm.core.i18n import in_language
from crm.core.message_placeholders import Recipient, placeholders
from crm.messaging import links, tokens
from crm.messaging.models import MailingGroup, MessageTemplate
from crm.messaging.rendering import RenderError, render


@dataclass(frozen=True)
class Composed:
    recipient: Recipient
    key: str
    rfc_message_id: str
    language: str
    subject: str
    html: str
    text: str
    error: str = ""  # why this recipient's message could not be rendered ('' when it was)


def applicable(kind: str = "") -> list:
    """The placeholders a template of notification `kind` (or of a mailing: "") may use."""
    return [p for p in placeholders() if not p.kinds or kind in p.kinds]


def contexts(recipients: Sequence[Recipient], kind: str = "") -> list[dict]:
    """One rendering context per recipient: every applicable placeholder's value."""
    result: list[dict] = [{} for _r in recipients]
    for placeholder in applicable(kind):
        values = placeholder.load(recipients)
        for context, value in zip(result, values, strict=True):
            context[placeholder.key] = value
    return result


def sample_context(kind: str = "") -> dict:
    """The context of a preview without a chosen partner, and of the check on saving."""
    context = {p.key: p.sample() for p in applicable(kind)}
    context["unsubscribe_url"] = links.unsubscribe_url("sample")
    return context


def needs_unsubscribe(group: MailingGroup | None, kind: str) -> bool:
    """Every marketing e-mail (a mailing's, or a notification of an advertising group)."""
    return not kind or (group is not None and group.kind == "advertising")


def _footer(url: str, language: str) -> tuple[str, str]:
    with in_language(language):
        words = _("Unsubscribe from these e-mails")
    html = f'<p><small><a href="{escape(url)}">{escape(words)}</a></small></p>'
    return html, f"{words}: {url}"


def _append_html(html: str, part: str) -> str:
    at = html.lower().rfind("</body>")
    return html[:at] + part + html[at:] if at >= 0 else html + part


def compose(
    template: MessageTemplate,
    recipients: Sequence[Recipient],
    *,
    group: MailingGroup | None = None,
    kind: str = "",
    tracking: bool = False,
    keys: Sequence[str] | None = None,
) -> list[Composed]:
    """The messages of `template` to `recipients` (keys drawn unless given)."""
    keys = list(keys) if keys is not None else [tokens.new_key() for _r in recipients]
    unsubscribe = template.channel == "email" and needs_unsubscribe(group, kind)
    out = []
    for recipient, key, context in zip(recipients, keys, contexts(recipients, kind), strict=True):
        text = template.text_for(recipient.language)
        language = text.language if text else (recipient.language or "ru")
        url = links.unsubscribe_url(key)
        context["unsubscribe_url"] = url
        try:
            if text is None:
                raise RenderError("the template has no text")
            if template.channel == "email":
                done = render(text.subject, text.body_html, text.body_text, context, language)
            else:
                done = render("", "", text.body_text, context, language)
        except RenderError as exc:
            out.append(
                Composed(
                    recipient, key, tokens.rfc_message_id(key), language, "", "", "", exc.reason
                )
            )
            continue
        subject, html, body = done.subject, done.html, done.text
        if unsubscribe and url not in html:
            footer_html, footer_text = _footer(url, language)
            html = _append_html(html, footer_html) if html else ""
            body = f"{body.rstrip()}\n\n-- \n{footer_text}\n" if body else body
        if tracking and html:
            html = links.track(html, key)
        out.append(
            Composed(recipient, key, tokens.rfc_message_id(key), language, subject, html, body)
        )
    return out
