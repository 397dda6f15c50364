"""The notification list, the navbar's unread badge, marking read (one by opening it, or all),
each user seeing only his own; `notify` producing a notification once; e-mail copies."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event, select

from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.notifications import mail
from crm.notifications.models import Notification
from crm.notifications.services import notify
from tests.auth.helpers import csrf_from_form
from tests.notifications import helpers
from tests.notifications.helpers import add, free_port

smtp_inbox = helpers.smtp_inbox  # a fixture

HTMX = {"HX-Request": "true"}


def read_state() -> dict[str, bool]:
    db.session.expire_all()
    rows = db.session.execute(select(Notification.key, Notification.read_at)).all()
    return {key: read_at is not None for key, read_at in rows}


def titles_in(page: str) -> list[str]:
    return re.findall(r'<button class="[^"]*notification-title[^"]*" type="submit">([^<]*)<', page)


# --- the list -------------------------------------------------------------------------------


def test_list_shows_own_notifications_newest_first_with_unread_marked(client, login_as, make_user):
    me = login_as("manager")
    other = make_user("manager")
    add(me, "a", "Meeting with ООО Ромашка at 13:15", minutes_ago=30, read=True)
    add(me, "b", "Follow-up due: Phone call with Acme", minutes_ago=5)
    add(me, "c", "Planned interaction: Budget review at 14:00", minutes_ago=60)
    add(other, "d", "Someone else's reminder", minutes_ago=1)

    response = client.get("/notifications/")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert titles_in(page) == [
        "Follow-up due: Phone call with Acme",
        "Meeting with ООО Ромашка at 13:15",
        "Planned interaction: Budget review at 14:00",
    ]
    assert "Someone else" not in page
    assert page.count("notification-unread") == 2  # b and c
    assert "Mark all read" in page


def test_empty_list_says_so(client, login_as):
    login_as("manager")

    page = client.get("/notifications/").get_data(as_text=True)

    assert "No notifications." in page
    assert "Mark all read" not in page


def test_list_pages_by_page_size(app, client, login_as):
    app.config["PAGE_SIZE"] = 2
    me = login_as("manager")
    for n in range(3):
        add(me, f"k{n}", f"Reminder {n}", minutes_ago=n)

    first = client.get("/notifications/").get_data(as_text=True)
    second = client.get("/notifications/?page=2").get_data(as_text=True)

    assert titles_in(first) == ["Reminder 0", "Reminder 1"]
    assert 'href="/notifications/?page=2">Older' in first
    assert titles_in(second) == ["Reminder 2"]
    assert "Older" not in second and 'href="/notifications/?page=1">Newer' in second


# --- the badge ----------------------------------------------------------------------------


def test_badge_counts_own_unread_notifications(client, login_as, make_user):
    me = login_as("manager")
    other = make_user("manager")
    add(me, "a", "One")
    add(me, "b", "Two")
    add(me, "c", "Read already", read=True)
    add(other, "d", "Not mine")

    response = client.get("/notifications/badge", headers=HTMX)

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body
    assert re.search(r">2<span class=\"visually-hidden\"> unread</span>", body)
    assert response.headers["Cache-Control"] == "no-store"


def test_badge_without_unread_shows_no_count(client, login_as):
    me = login_as("manager")
    add(me, "a", "Read", read=True)

    body = client.get("/notifications/badge", headers=HTMX).get_data(as_text=True)

    assert "Notifications" in body and "badge" not in body


def test_navbar_polls_the_badge_and_links_to_the_list(client, login_as):
    login_as("manager")

    page = client.get("/notifications/").get_data(as_text=True)

    link = re.search(r'<a class="nav-link" id="notification-badge"[^>]*>', page).group(0)
    assert 'href="/notifications/"' in link
    assert 'hx-get="/notifications/badge"' in link
    assert 'hx-trigger="load, every 60s"' in link


def test_signed_out_page_has_no_badge_and_badge_needs_sign_in(client):
    page = client.get("/auth/login").get_data(as_text=True)
    response = client.get("/notifications/badge", headers=HTMX)

    assert "notification-badge" not in page
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/auth/login")


# --- marking read ---------------------------------------------------------------------------


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(client, login_as):
    me = login_as("manager")
    n = add(me, "a", "Meeting", url="/interactions/7")
    add(me, "b", "Other")

    response = client.post(f"/notifications/{n.id}/open")

    assert response.status_code == 303
    assert response.headers["Location"] == "/interactions/7"
    assert read_state() == {"a": True, "b": False}


def test_opening_a_notification_with_an_outside_link_goes_to_the_list(client, login_as):
    me = login_as("manager")
    evil = add(me, "a", "Phish", url="//evil.example/login")
    bare = add(me, "b", "No link")

    first = client.post(f"/notifications/{evil.id}/open")
    second = client.post(f"/notifications/{bare.id}/open")

    assert first.headers["Location"] == "/notifications/"
    assert second.headers["Location"] == "/notifications/"
    assert read_state() == {"a": True, "b": True}


def test_another_users_notification_cannot_be_opened(client, login_as, make_user):
    login_as("manager")
    theirs = add(make_user("manager"), "a", "Theirs", url="/interactions/1")

    response = client.post(f"/notifications/{theirs.id}/open")

    assert response.status_code == 404
    assert read_state() == {"a": False}


def test_mark_all_read_marks_only_own(client, login_as, make_user):
    me = login_as("manager")
    add(me, "a", "One")
    add(me, "b", "Two")
    add(make_user("manager"), "c", "Theirs")

    response = client.post("/notifications/read")

    assert response.status_code == 303
    assert response.headers["Location"] == "/notifications/"
    assert read_state() == {"a": True, "b": True, "c": False}
    badge = client.get("/notifications/badge", headers=HTMX).get_data(as_text=True)
    assert "Notifications" in badge and "badge" not in badge


def test_viewer_reads_and_marks_own_notifications(client, login_as):
    viewer = login_as("viewer")
    first = add(viewer, "a", "For the viewer", url="/partners/")
    add(viewer, "b", "Second")

    page = client.get("/notifications/").get_data(as_text=True)
    opened = client.post(f"/notifications/{first.id}/open")
    assert read_state() == {"a": True, "b": False}
    all_read = client.post("/notifications/read")

    assert "For the viewer" in page
    assert (opened.status_code, opened.headers["Location"]) == (303, "/partners/")
    assert all_read.status_code == 303
    assert read_state() == {"a": True, "b": True}


def test_posts_without_csrf_token_are_refused(app, client, login_as):
    me = login_as("manager")
    n = add(me, "a", "One", url="/interactions/1")
    app.config["WTF_CSRF_ENABLED"] = True

    opened = client.post(f"/notifications/{n.id}/open")
    all_read = client.post("/notifications/read")

    assert (opened.status_code, all_read.status_code) == (400, 400)
    assert read_state() == {"a": False}


def test_posts_with_the_token_from_the_page_work(app, client, login_as):
    me = login_as("manager")
    n = add(me, "a", "One", url="/interactions/1")
    add(me, "b", "Two")
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/notifications/").get_data(as_text=True)
    token = csrf_from_form(page)

    opened = client.post(f"/notifications/{n.id}/open", data={"csrf_token": token})
    assert read_state() == {"a": True, "b": False}
    all_read = client.post("/notifications/read", data={"csrf_token": token})

    assert (opened.status_code, all_read.status_code) == (303, 303)
    assert read_state() == {"a": True, "b": True}


# --- notify ---------------------------------------------------------------------------------


def test_notify_creates_a_notification_once_per_user_and_key(app, make_user):
    alice, bob = make_user("manager"), make_user("manager")

    first = notify(alice.id, "interaction:1:start:2026-11-28T10:15", "Meeting", "Body", "/x")
    again = notify(alice.id, "interaction:1:start:2026-11-28T10:15", "Meeting (again)")
    for_bob = notify(bob.id, "interaction:1:start:2026-11-28T10:15", "Meeting")
    db.session.commit()

    assert first is not None and for_bob is not None
    assert again is None
    rows = db.session.execute(
        select(
            Notification.user_id, Notification.title, Notification.body, Notification.url
        ).order_by(Notification.id)
    ).all()
    assert [tuple(r) for r in rows] == [
        (alice.id, "Meeting", "Body", "/x"),
        (bob.id, "Meeting", "", ""),
    ]


def test_notify_survives_a_concurrent_insert_of_the_same_key(app, make_user):
    user = make_user("manager")
    user_id = user.id
    key = "interaction:5:follow-up:2026-11-28T09:00"

    # Another process inserts the same notification right after notify() checked for it.
    def insert_elsewhere(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT notification.id") and not inserted:
            inserted.append(True)
            with db.engine.connect() as other:
                other.execute(
                    Notification.__table__.insert().values(
                        user_id=user_id,
                        key=key,
                        title="From the other process",
                        body="",
                        url="",
                        created_at=utcnow(),
                    )
                )
                other.commit()

    inserted: list = []
    event.listen(db.engine, "after_cursor_execute", insert_elsewhere)
    try:
        result = notify(user_id, key, "From this process")
    finally:
        event.remove(db.engine, "after_cursor_execute", insert_elsewhere)
    # The caller's transaction goes on: it can still write and commit.
    later = notify(user_id, "another-key", "Later")
    db.session.commit()

    assert inserted and result is None and later is not None
    rows = db.session.execute(select(Notification.key, Notification.title)).all()
    assert sorted(tuple(r) for r in rows) == [
        ("another-key", "Later"),
        (key, "From the other process"),
    ]


# --- e-mail copies --------------------------------------------------------------------------


def test_deliver_pending_mails_recent_unsent_copies_of_active_users_once(
    app, make_user, smtp_inbox
):
    anna = make_user("manager", email="anna@example.test", name="Анна Петрова")
    gone = make_user("manager", email="gone@example.test", active=False)
    add(
        anna,
        "new",
        "Meeting with ООО Ромашка at 13:15",
        body="Contract",
        url="/interactions/3",
        minutes_ago=10,
    )
    add(anna, "sent", "Sent already", emailed=True)
    add(anna, "old", "Too old", minutes_ago=24 * 60 + 1)
    add(gone, "inactive", "For a deactivated user")

    first = mail.deliver_pending()
    second = mail.deliver_pending()

    assert (first, second) == (1, 0)
    assert len(smtp_inbox.messages) == 1
    sender, recipients, msg = smtp_inbox.messages[0]
    assert (sender, recipients) == ("crm@example.test", ["anna@example.test"])
    assert msg["Subject"] == "Meeting with ООО Ромашка at 13:15"
    assert msg["To"].addresses[0].display_name == "Анна Петрова"
    assert msg["Auto-Submitted"] == "auto-generated"
    # An English reader (the tests' default language) in Moscow (the default zone, UTC+3 all
    # year): the footer's time is the notification's, written by hand from its UTC time.
    created = db.session.execute(select(Notification.created_at).where(Notification.key == "new"))
    msk = created.scalar_one() + timedelta(hours=3)
    month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][
        msk.month - 1
    ]
    assert msg.get_content().replace("\r\n", "\n") == (
        "Meeting with ООО Ромашка at 13:15\n\nContract\n\n"
        "Open in the CRM: https://crm.example.test/interactions/3\n\n-- \n"
        f"A CRM notification of {msk.day} {month} {msk.year}, {msk:%H:%M} (Europe/Moscow).\n"
        "All your notifications: https://crm.example.test/notifications/\n"
    )
    db.session.expire_all()
    emailed = dict(db.session.execute(select(Notification.key, Notification.emailed_at)).all())
    assert emailed["new"] is not None
    assert (emailed["old"], emailed["inactive"]) == (None, None)


def test_deliver_pending_sends_nothing_without_smtp_host(app, make_user):
    add(make_user("manager"), "a", "One")

    assert mail.deliver_pending() == 0
    db.session.expire_all()
    assert db.session.execute(select(Notification.emailed_at)).scalar_one() is None


def test_copy_that_failed_to_send_is_sent_on_the_next_run(app, make_user, smtp_inbox):
    user = make_user("manager", email="ivan@example.test")
    add(user, "a", "Follow-up due")
    working_port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = free_port()  # nothing listens there

    failed = mail.deliver_pending()
    db.session.expire_all()
    unsent = db.session.execute(select(Notification.emailed_at)).scalar_one()
    app.config["SMTP_PORT"] = working_port
    retried = mail.deliver_pending()

    assert (failed, unsent, retried) == (0, None, 1)
    assert [m[1] for m in smtp_inbox.messages] == [["ivan@example.test"]]


def test_existing_tells_which_keys_each_user_has(make_user):
    """The batch check producers use: a key is taken per user, not across users."""
    from crm.notifications.services import existing

    ann, bob = make_user("manager"), make_user("manager")
    add(ann, "k1", "Ann's first")
    add(bob, "k2", "Bob's")
    asked = [(ann.id, "k1"), (ann.id, "k2"), (bob.id, "k1"), (bob.id, "k2"), (bob.id, "k3")]
    assert existing(asked) == {(ann.id, "k1"), (bob.id, "k2")}
    assert existing([]) == set()
