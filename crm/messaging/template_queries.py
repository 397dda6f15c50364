"""Reads of message templates: the list (search, channel), where a template is used, the
placeholders an editor may write and their samples, the partners a user may preview a template
for, and the preview itself (a template's texts, saved or not yet, rendered for a partner or
for the samples)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from sqlalchemy import select

from crm.core.message_placeholders import Placeholder, Recipient, placeholders
from crm.core.paging import Page, capped_page
from crm.core.policy import may, visible
from crm.core.text import fold
from crm.extensions import db
from crm.messaging import links, rendering
from crm.messaging.filters import TemplateFilter
from crm.messaging.models import (
    ADDRESS_KINDS,
    Mailing,
    MessageTemplate,
    MessageTemplateText,
    NotificationSetting,
)
from crm.messaging.sms_length import SmsLength, measure
from crm.partners.models import ContactDetail, Partner

PER_PAGE = 50
PARTNER_CHOICES = 50  # partners a preview's select offers before the user searches
LANGUAGES = ("ru", "en")
# The texts of each channel's template, per language (MessageTemplateText's columns).
FIELDS = {"email": ("subject", "body_html", "body_text"), "sms": ("body_text",)}
UNSUBSCRIBE = "unsubscribe_url"
# The notification kinds messaging's own placeholders are for
# (crm.messaging.event_placeholders); a kind another part registers is shown by its key.
KIND_TITLES = {
    "order_status": _l("order status changed"),
    "deal_won": _l("deal won"),
    "interaction_reminder": _l("interaction reminder"),
    "overdue_debt": _l("overdue debt"),
}


def field_title(channel: str, name: str):
    if channel == "sms":
        return _l("SMS text")
    return {
        "subject": _lp("e-mail", "Subject"),
        "body_html": _l("HTML body"),
        "body_text": _l("Text body"),
    }[name]


def kinds_text(kinds) -> str:
    return ", ".join(str(KIND_TITLES.get(k, k)) for k in kinds)


# --- the list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateRow:
    template: MessageTemplate
    languages: list[str]


def template_page(flt: TemplateFilter) -> Page:
    """One page of templates by name (searched in name and description, by channel)."""
    stmt = select(MessageTemplate.id)
    if flt.q:
        # A team writes tens of templates: matched folded in Python (SQLite's lower() knows no
        # Cyrillic), the page then read by id.
        words = fold(flt.q).split()
        rows = db.session.execute(
            select(MessageTemplate.id, MessageTemplate.name, MessageTemplate.description)
        )
        found = [tid for tid, name, text in rows if all(w in fold(f"{name} {text}") for w in words)]
        stmt = stmt.where(MessageTemplate.id.in_(found))
    if flt.channel:
        stmt = stmt.where(MessageTemplate.channel == flt.channel)
    page = capped_page(stmt.order_by(MessageTemplate.name, MessageTemplate.id), flt.page, PER_PAGE)
    if not page.items:
        return page
    templates = {
        t.id: t
        for t in db.session.execute(
            select(MessageTemplate).where(MessageTemplate.id.in_(page.items))
        ).scalars()
    }
    languages: dict[int, list[str]] = {}
    for template_id, language in db.session.execute(
        select(MessageTemplateText.template_id, MessageTemplateText.language).where(
            MessageTemplateText.template_id.in_(page.items)
        )
    ):
        languages.setdefault(template_id, []).append(language)
    page.items = [
        TemplateRow(templates[tid], [lang for lang in LANGUAGES if lang in languages.get(tid, [])])
        for tid in page.items
        if tid in templates
    ]
    return page


@dataclass(frozen=True)
class Usage:
    mailings: list[str]  # names of the mailings using the template
    notifications: list[str]  # kinds of the notification settings using it

    def __bool__(self) -> bool:
        return bool(self.mailings or self.notifications)


def usage(template: MessageTemplate) -> Usage:
    """Where a template is used (it cannot be deleted while it is)."""
    mailings = db.session.execute(
        select(Mailing.name).where(Mailing.template_id == template.id).order_by(Mailing.name)
    ).scalars()
    kinds = db.session.execute(
        select(NotificationSetting.kind)
        .where(NotificationSetting.template_id == template.id)
        .order_by(NotificationSetting.kind)
    ).scalars()
    return Usage(list(mailings), list(kinds))


def texts_of(template: MessageTemplate) -> dict[str, dict[str, str]]:
    """A saved template's texts as the form and the preview take them: {language: {field}}."""
    out = {lang: dict.fromkeys(FIELDS["email"], "") for lang in LANGUAGES}
    for text in template.texts:
        if text.language in out:
            out[text.language] = {
                "subject": text.subject or "",
                "body_html": text.body_html or "",
                "body_text": text.body_text or "",
            }
    return out


# --- placeholders ----------------------------------------------------------------------------


def editor_placeholders() -> list[Placeholder]:
    """Every placeholder, general ones first: what the editor lists."""
    return sorted(placeholders(), key=lambda p: (bool(p.kinds), p.order, p.key))


def sample_context() -> dict:
    """Every placeholder's sample (of any notification kind) and the unsubscribe link: what a
    template is checked against when saved and previewed without a partner."""
    context = {p.key: p.sample() for p in placeholders()}
    context[UNSUBSCRIBE] = links.unsubscribe_url("preview")
    return context


def allowed_names() -> set[str]:
    """The names a template may read: the placeholders' keys and the unsubscribe link."""
    return {p.key for p in placeholders()} | {UNSUBSCRIBE}


# --- partners to preview for -----------------------------------------------------------------


def partner_choices(user, q: str = "", selected: Partner | None = None) -> list[tuple[int, str]]:
    """(id, "Name (code)") of the first partners `user` may see whose name, code, INN… hold
    `q`; the selected one first even when it does not match."""
    stmt = visible(user, Partner, select(Partner).where(Partner.merged_into_id.is_(None)))
    words = fold(q).split() if q else []
    for word in words:
        stmt = stmt.where(Partner.search_text.contains(word, autoescape=True))
    found = list(
        db.session.execute(
            stmt.order_by(Partner.name_norm, Partner.id).limit(PARTNER_CHOICES)
        ).scalars()
    )
    if selected is not None and selected not in found:
        found.insert(0, selected)
    return [(p.id, f"{p.name} ({p.code})") for p in found]


def visible_partner(user, partner_id: int | None) -> Partner | None:
    """The partner to preview for, if it exists, is not merged away and `user` may see it."""
    if partner_id is None:
        return None
    partner = db.session.get(Partner, partner_id)
    if partner is None or partner.merged_into_id is not None:
        return None
    return partner if may(user, "partner.view", partner) else None


def _address(partner: Partner, channel: str) -> str:
    """The partner's own main address on the channel (e-mail, phone for SMS), else its first."""
    row = db.session.execute(
        select(ContactDetail.value)
        .where(ContactDetail.partner_id == partner.id, ContactDetail.kind == ADDRESS_KINDS[channel])
        .order_by(ContactDetail.is_main.desc(), ContactDetail.id)
        .limit(1)
    ).scalar_one_or_none()
    return row or ""


# --- the preview -----------------------------------------------------------------------------


@dataclass
class Preview:
    channel: str
    language: str  # the language of the texts shown
    fallback: bool  # the chosen language has no text: the Russian one is shown
    partner: Partner | None  # None: the samples
    subject: str = ""
    html: str = ""
    text: str = ""
    sms: SmsLength | None = None
    # {form field ("ru_body_html"): the reason it does not render}
    errors: dict[str, str] = field(default_factory=dict)
    unsubscribe_added: bool = False  # marketing e-mails get the unsubscribe footer


def _context(channel: str, language: str, partner: Partner | None) -> dict:
    if partner is None:
        return sample_context()
    address = _address(partner, channel)
    recipient = Recipient(partner.id, None, channel, address, address.casefold(), language)
    context = {}
    for p in placeholders():
        # A notification kind's placeholder (the order of an event) has no event here.
        context[p.key] = p.sample() if p.kinds else p.load([recipient])[0]
    context[UNSUBSCRIBE] = links.unsubscribe_url("preview")
    return context


def preview(
    channel: str, texts: dict[str, dict[str, str]], language: str, partner: Partner | None
) -> Preview:
    """`texts` (the form's, saved or not) rendered in `language` for `partner` (or the
    samples), each field on its own, so that a failing one says why at its field."""
    language = language if language in LANGUAGES else "ru"
    fields = FIELDS.get(channel, FIELDS["email"])
    has_text = any((texts.get(language) or {}).get(f, "").strip() for f in fields)
    fallback = not has_text and language != "ru"
    shown = "ru" if fallback else language
    result = Preview(channel, shown, fallback, partner)
    source = texts.get(shown) or {}
    context = _context(channel, shown, partner)
    for name in fields:
        text = source.get(name, "") or ""
        try:
            if name == "subject":
                result.subject = rendering.render(text, "", "", context, shown).subject
            elif name == "body_html":
                result.html = rendering.render("", text, "", context, shown).html
            else:
                result.text = rendering.render("", "", text, context, shown).text
        except rendering.RenderError as exc:
            result.errors[f"{shown}_{name}"] = exc.reason
    if channel == "sms":
        result.sms = measure(result.text)
    else:
        written = " ".join(source.get(name, "") or "" for name in fields)
        result.unsubscribe_added = UNSUBSCRIBE not in written
    return result


def sms_length_of(text: str, language: str = "ru") -> tuple[SmsLength, bool]:
    """The length of an SMS text as it goes out with the samples in it, and whether it could
    be rendered (if not, the text is measured as typed)."""
    try:
        rendered = rendering.render("", "", text, sample_context(), language).text
    except rendering.RenderError:
        return measure(text), False
    return measure(rendered), True
