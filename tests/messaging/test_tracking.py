"""Tracking: the open pixel and the redirecting links record the first open and click and
count them; a bad token records nothing (the pixel still answers an image); the redirect goes
only where our own e-mail linked, over http or https."""

from __future__ import annotations

import html
import re
from datetime import datetime

from crm.extensions import db
from crm.messaging import links, tokens
from crm.messaging.models import Message
from crm.messaging.public import PIXEL
from tests.auth.helpers import database_snapshot

# A transparent 1×1 GIF starts so, and is this long.
GIF_SIGNATURE = b"GIF89a\x01\x00\x01\x00"


def _stored(message_id: int) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message_id)


def test_the_pixel_records_the_first_open_and_counts_every_one(client, make_message):
    message = make_message("a@x.test")

    first = client.get(links.pixel_url(message.key))
    opened_at = _stored(message.id).opened_at
    second = client.get(links.pixel_url(message.key))

    for response in (first, second):
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/gif"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.data.startswith(GIF_SIGNATURE) and len(response.data) == 43
    stored = _stored(message.id)
    assert isinstance(opened_at, datetime)
    assert (stored.open_count, stored.opened_at) == (2, opened_at)
    assert stored.clicked_at is None and stored.click_count == 0


def test_a_bad_pixel_token_still_answers_the_image_and_records_nothing(client, make_message):
    message = make_message("b@x.test")
    before = database_snapshot()
    bad = [
        tokens.make("open", message.key)[:-3] + "abc",  # altered signature
        tokens.make("click", message.key, "https://example.test/"),  # another purpose
        tokens.make("open", tokens.new_key()),  # no such message
        "x",
    ]

    for token in bad:
        response = client.get(f"/m/o/{token}.gif")
        assert response.status_code == 200, token
        assert response.data == PIXEL and response.headers["Content-Type"] == "image/gif"

    assert database_snapshot() == before


def test_a_click_is_recorded_once_first_counted_and_redirected(client, make_message):
    message = make_message("c@x.test")
    url = "https://shop.example.test/sale?item=7&utm_source=mail"

    first = client.get(links.click_url(message.key, url))
    clicked_at = _stored(message.id).clicked_at
    second = client.get(links.click_url(message.key, url))

    for response in (first, second):
        assert response.status_code == 302
        assert response.headers["Location"] == url
    stored = _stored(message.id)
    assert isinstance(clicked_at, datetime)
    assert (stored.click_count, stored.clicked_at) == (2, clicked_at)
    # A click means it was opened, though its pixel may have been blocked (not counted).
    assert stored.opened_at == clicked_at and stored.open_count == 0


def test_a_click_keeps_an_earlier_open(client, make_message):
    message = make_message("d@x.test")
    client.get(links.pixel_url(message.key))
    opened_at = _stored(message.id).opened_at

    client.get(links.click_url(message.key, "http://example.test/"))

    stored = _stored(message.id)
    assert stored.opened_at == opened_at and stored.click_count == 1


def test_the_redirect_goes_nowhere_our_email_did_not_link(client, make_message):
    message = make_message("e@x.test")
    good = tokens.make("click", message.key, "https://example.test/page")
    signature = good.rpartition(".")[2]
    before = database_snapshot()
    refused = [
        tokens.make("click", message.key, "javascript:alert(1)"),
        tokens.make("click", message.key, "//evil.test/"),
        tokens.make("click", message.key, "ftp://example.test/file"),
        tokens.make("click", message.key, "https:///no-host"),
        tokens.make("click", message.key, "https://evil.test\\@example.test/"),
        tokens.make("click", message.key, None),
        tokens.make("unsubscribe", message.key),  # another purpose
        good.rpartition(".")[0][:-4] + "AAAA." + signature,  # the URL changed, same signature
        good[:-3] + "xyz",  # the signature changed
        "x",
    ]

    for token in refused:
        response = client.get(f"/m/c/{token}")
        assert response.status_code == 404, token
        assert "Location" not in response.headers
        assert "The link is not valid" in response.get_data(as_text=True)

    assert database_snapshot() == before


def test_a_tracked_link_of_a_message_no_longer_stored_still_leads_on(client):
    url = "https://example.test/still-there"

    response = client.get(links.click_url(tokens.new_key(), url))

    assert response.status_code == 302 and response.headers["Location"] == url


def test_the_links_and_pixel_of_a_tracked_body_record_the_message(client, make_message):
    message = make_message("f@x.test")
    body = links.track(
        '<html><body><a href="https://example.test/a?x=1&amp;y=2">A</a></body></html>',
        message.key,
    )

    href = html.unescape(re.search(r'<a href="([^"]+)"', body).group(1))
    pixel = html.unescape(re.search(r'<img src="([^"]+)"', body).group(1))
    assert client.get(pixel).status_code == 200
    response = client.get(href)

    assert response.headers["Location"] == "https://example.test/a?x=1&y=2"
    stored = _stored(message.id)
    assert (stored.open_count, stored.click_count) == (1, 1)
