"""The unsubscribe link: opened without signing in, in the recipient's language (Russian by
default), one click to leave the message's group or every mailing, and the recipient lists
skip the address afterwards. Altered or forged links change nothing."""

from __future__ import annotations

import base64
import html
import json
import re

from flask_babel import gettext
from sqlalchemy import select

from crm.core.i18n import in_language
from crm.core.message_placeholders import Recipient
from crm.core.models import AuditEntry
from crm.extensions import db
from crm.messaging import consent, links, outbox, tokens
from crm.messaging.compose import compose
from crm.messaging.models import (
    GroupOptOut,
    Message,
    MessageTemplate,
    MessageTemplateText,
    Subscriber,
    Suppression,
)
from crm.messaging.recipients import resolve_partners
from tests.auth.helpers import database_snapshot


def _url(message) -> str:
    return links.unsubscribe_url(message.key)


def _text(response) -> str:
    """What the reader sees: the page's text, tags taken out, spaces as one."""
    text = re.sub(r"<[^>]+>", "", response.get_data(as_text=True))
    return " ".join(html.unescape(text).split())


def _payload(value) -> str:
    """The first part of a token, as itsdangerous writes it (URL-safe base64 of the JSON)."""
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _in(language: str, msgid: str, **values) -> str:
    """A text as the catalog of `language` gives it (the page must show this)."""
    with in_language(language):
        return gettext(msgid, **values)


def test_the_page_opens_without_signing_in_in_russian_by_default(client, make_group, make_message):
    promo = make_group("Акции", "advertising")
    message = make_message("ivan.petrov@example.test", group=promo, language="ru")

    response = client.get(_url(message))

    assert response.status_code == 200
    page = _text(response)
    assert '<html lang="ru">' in response.get_data(as_text=True)
    assert _in("ru", "Unsubscribe from all mailings") in page
    assert "Акции" in page
    assert "iv***@example.test" in page and "ivan.petrov" not in page
    assert "navbar" not in response.get_data(as_text=True)  # no menu of the app
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_an_english_recipient_reads_the_page_in_english(client, make_group, make_message):
    promo = make_group("Promotions", "advertising")
    message = make_message("ann@example.test", group=promo, language="en")

    response = client.get(_url(message))
    page = _text(response)

    assert '<html lang="en">' in response.get_data(as_text=True)
    assert "Stop sending the messages of “Promotions” to a***@example.test?" in page
    assert "Unsubscribe from all mailings" in page


def test_unsubscribing_leaves_the_group_and_later_mailings_skip_the_address(
    client, make_user, make_partner, make_group, make_message
):
    admin = make_user("admin")
    promo = make_group("Promotions", "advertising")
    news = make_group("News", "advertising")
    partner = make_partner(emails=["ann@example.test"])
    consent.grant_consent(admin, "email", "ann@example.test", source="signed paper")
    db.session.commit()
    assert len(resolve_partners("email", promo, [partner.id]).recipients) == 1
    message = make_message("ann@example.test", group=promo, partner=partner, language="en")

    response = client.post(_url(message))

    assert response.status_code == 200
    assert "The messages of “Promotions” will no longer be sent to a***@example.test." in _text(
        response
    )
    db.session.expire_all()
    result = resolve_partners("email", promo, [partner.id])
    assert result.recipients == [] and result.skipped["opted_out"] == 1
    # Only that group: the consent stands and another group still reaches the address.
    assert len(resolve_partners("email", news, [partner.id]).recipients) == 1
    row = db.session.execute(select(GroupOptOut)).scalar_one()
    assert (row.group_id, row.address_norm, row.source) == (
        promo.id,
        "ann@example.test",
        "unsubscribe link",
    )


def test_unsubscribing_from_everything_suppresses_the_address_and_withdraws_the_consent(
    client, make_user, make_partner, make_group, make_message
):
    admin = make_user("admin")
    promo = make_group("Promotions", "advertising")
    service = make_group("Orders", "service")
    partner = make_partner(emails=["bob@example.test"])
    consent.grant_consent(admin, "email", "bob@example.test", source="signed paper")
    db.session.commit()
    message = make_message("bob@example.test", group=promo, partner=partner)

    response = client.post(_url(message), data={"all": "1"})

    assert response.status_code == 200
    assert _in("ru", "You are unsubscribed") in _text(response)
    db.session.expire_all()
    row = db.session.execute(select(Suppression)).scalar_one()
    assert (row.address_norm, row.reason, row.message_id) == (
        "bob@example.test",
        "unsubscribed",
        message.id,
    )
    sub = db.session.execute(select(Subscriber)).scalar_one()
    assert (sub.consent, sub.withdrawn_source) == (False, "unsubscribe link")
    # Not even service notices any more.
    assert resolve_partners("email", service, [partner.id]).skipped["suppressed"] == 1


def test_a_notification_without_a_group_withdraws_the_advertising_consent(
    client, make_user, make_partner, make_group, make_message
):
    admin = make_user("admin")
    promo = make_group("Promotions", "advertising")
    partner = make_partner(emails=["cat@example.test"])
    consent.grant_consent(admin, "email", "cat@example.test", source="website form")
    db.session.commit()
    message = make_message("cat@example.test", partner=partner, kind="order_status")

    page = _text(client.get(_url(message)))
    assert "Больше не отправлять рекламные сообщения на c***@example.test?" in page
    client.post(_url(message))

    db.session.expire_all()
    assert resolve_partners("email", promo, [partner.id]).skipped["no_consent"] == 1
    sub = db.session.execute(select(Subscriber)).scalar_one()
    assert (sub.consent, sub.partner_id) == (False, partner.id)


def test_a_mail_programs_one_click_post_works_without_a_csrf_token(
    app, client, make_group, make_message
):
    app.config["WTF_CSRF_ENABLED"] = True
    promo = make_group("Promotions", "advertising")
    message = make_message("dan@example.test", group=promo)

    response = client.post(
        _url(message),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    row = db.session.execute(select(GroupOptOut)).scalar_one()
    assert (row.address_norm, row.source) == ("dan@example.test", "one-click unsubscribe")


def test_unsubscribing_twice_changes_nothing_more(client, make_group, make_message):
    promo = make_group("Promotions", "advertising")
    message = make_message("eve@example.test", group=promo)

    assert client.post(_url(message)).status_code == 200
    assert client.post(_url(message)).status_code == 200
    assert client.post(_url(message), data={"all": "1"}).status_code == 200
    assert client.post(_url(message), data={"all": "1"}).status_code == 200

    assert len(db.session.execute(select(GroupOptOut)).all()) == 1
    assert len(db.session.execute(select(Suppression)).all()) == 1
    actions = db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars()
    assert list(actions) == ["opt_out", "suppress", "consent_withdrawn"]


def test_altered_forged_or_foreign_tokens_change_nothing(client, make_group, make_message):
    promo = make_group("Promotions", "advertising")
    message = make_message("fay@example.test", group=promo)
    good = tokens.make("unsubscribe", message.key)
    altered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    # Another message's key with this token's signature (built the way the real one is).
    signature = good.rpartition(".")[2]
    assert _payload(message.key) + "." + signature == good
    forged = _payload(tokens.new_key()) + "." + signature
    open_token = tokens.make("open", message.key)  # a token of another purpose
    unknown = tokens.make("unsubscribe", tokens.new_key())  # ours, but no such message
    before = database_snapshot()

    for token in (altered, forged, open_token, unknown, "x", "a" * 300):
        for response in (
            client.get(f"/m/u/{token}"),
            client.post(f"/m/u/{token}", data={"all": "1"}),
        ):
            assert response.status_code == 404, token
            assert "The link is not valid" in _text(response)

    assert database_snapshot() == before


def test_the_link_in_a_composed_and_stored_e_mail_unsubscribes_its_recipient(
    client, make_partner, make_group
):
    promo = make_group("Promotions", "advertising")
    partner = make_partner(emails=["gus@example.test"])
    template = MessageTemplate(name="Sale", channel="email")
    template.texts.append(
        MessageTemplateText(
            language="ru", subject="Скидки", body_html="<p>Скидки</p>", body_text="Скидки"
        )
    )
    db.session.add(template)
    db.session.commit()
    recipient = Recipient(partner.id, None, "email", "gus@example.test", "gus@example.test", "ru")

    written = outbox.store(compose(template, [recipient], group=promo), "email", group_id=promo.id)
    db.session.commit()

    assert written == 1
    stored = db.session.execute(select(Message)).scalar_one()
    url = re.search(r'href="([^"]*/m/u/[^"]+)"', stored.body_html).group(1)
    assert client.post(html.unescape(url)).status_code == 200
    assert db.session.execute(select(GroupOptOut.address_norm)).scalar_one() == "gus@example.test"


def test_a_message_written_without_its_key_column_is_found_by_its_message_id(
    client, make_group, make_message
):
    promo = make_group("Promotions", "advertising")
    key = tokens.new_key()
    message = make_message("hal@example.test", group=promo, key=key, key_column=None)
    assert message.key is None

    assert client.post(links.unsubscribe_url(key)).status_code == 200
    assert db.session.execute(select(GroupOptOut.address_norm)).scalar_one() == "hal@example.test"


def test_links_keep_working_after_the_sender_address_changes(app, client, make_group, make_message):
    promo = make_group("Promotions", "advertising")
    message = make_message("ida@example.test", group=promo)
    app.config["MAIL_FROM"] = "news@another-domain.test"
    assert tokens.rfc_message_id(message.key) != message.rfc_message_id

    assert client.post(_url(message)).status_code == 200
    assert db.session.execute(select(GroupOptOut.address_norm)).scalar_one() == "ida@example.test"
