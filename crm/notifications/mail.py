"""E-mail copies of notifications, sent with smtplib when SMTP_HOST is configured.

Each copy is sent at most once: a run claims a notification (sets emailed_at) and commits
before sending, so a crash or a second sender running at the same time never sends it again;
a send that fails gives the claim back and the next run retries it. A copy that is not out
within 24 hours of its notification is not sent at all (a reminder that late is noise).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from crm.auth.models import User
from crm.core.formats import fmt_datetime
from crm.core.i18n import in_language
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.notifications.models import Notification

log = logging.getLogger(__name__)

MAX_AGE = timedelta(hours=24)
# Refusals that concern one message; anything else (connection, authentication) stops the run.
MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def smtp_configured(app=None) -> bool:
    return bool((app or current_app).config.get("SMTP_HOST"))


def connect() -> smtplib.SMTP:
    """An SMTP connection made as configured (SSL, STARTTLS, login)."""
    cfg = current_app.config
    host, port, timeout = cfg["SMTP_HOST"], cfg["SMTP_PORT"], cfg["SMTP_TIMEOUT"]
    if cfg["SMTP_SSL"]:
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if cfg["SMTP_STARTTLS"]:
            smtp.starttls(context=ssl.create_default_context())
    try:
        if cfg["SMTP_USERNAME"]:
            smtp.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
    except Exception:
        _close(smtp)
        raise
    return smtp


def _close(smtp) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def build_message(notification: Notification, user: User) -> EmailMessage:
    """The e-mail copy in the recipient's language, its date in his time zone (the title and
    body were written in his language by the producer)."""
    with in_language(user.locale):
        return _build_message(notification, user)


def _build_message(notification: Notification, user: User) -> EmailMessage:
    cfg = current_app.config
    msg = EmailMessage()
    msg["Subject"] = " ".join(notification.title.split())  # one line, whatever the title held
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = Address(display_name=" ".join(user.name.split()), addr_spec=user.email)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=cfg["MAIL_FROM"].rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"  # auto-responders must not answer it
    lines = [notification.title]
    if notification.body:
        lines += ["", notification.body]
    if notification.url:
        lines += ["", _("Open in the CRM: %(url)s", url=cfg["BASE_URL"] + notification.url)]
    zone = user.timezone or cfg["DEFAULT_TIMEZONE"]
    when = fmt_datetime(notification.created_at, zone=zone)
    lines += [
        "",
        "-- ",  # the signature separator: mail programs fold what follows
        _("A CRM notification of %(when)s (%(zone)s).", when=when, zone=zone),
        _("All your notifications: %(url)s", url=cfg["BASE_URL"] + "/notifications/"),
    ]
    msg.set_content("\n".join(lines) + "\n")
    return msg


def _pending(limit: int) -> list[int]:
    stmt = (
        select(Notification.id)
        .join(User, User.id == Notification.user_id)
        .where(
            Notification.created_at >= utcnow() - MAX_AGE,
            Notification.emailed_at.is_(None),
            User.active.is_(True),
            User.email != "",
        )
        .order_by(Notification.created_at, Notification.id)
        .limit(limit)
    )
    return list(db.session.execute(stmt).scalars())


def _set_emailed(notification_id: int, value, *, only_if_unsent: bool) -> bool:
    stmt = update(Notification).where(Notification.id == notification_id)
    if only_if_unsent:
        stmt = stmt.where(Notification.emailed_at.is_(None))
    result = db.session.execute(
        stmt.values(emailed_at=value).execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver_pending(limit: int = 100) -> int:
    """Send the e-mail copies not sent yet; returns how many went out."""
    if not smtp_configured():
        return 0
    db.session.commit()  # the caller's work is saved before ours starts committing per message
    sent, smtp = 0, None
    try:
        for notification_id in _pending(limit):
            if not _set_emailed(notification_id, utcnow(), only_if_unsent=True):
                continue  # another sender took it
            notification = db.session.get(Notification, notification_id)
            user = db.session.get(User, notification.user_id)
            try:
                msg = build_message(notification, user)
            except Exception:  # a malformed address or header: log it, keep the others going
                _set_emailed(notification_id, None, only_if_unsent=False)
                log.exception("notification %s: e-mail could not be built", notification_id)
                continue
            try:
                smtp = smtp or connect()
                smtp.send_message(msg)
            except MESSAGE_ERRORS as exc:
                _set_emailed(notification_id, None, only_if_unsent=False)
                log.warning(
                    "notification %s not e-mailed to %s: %s", notification_id, user.email, exc
                )
                continue
            except (smtplib.SMTPException, OSError) as exc:
                _set_emailed(notification_id, None, only_if_unsent=False)
                log.warning(
                    "e-mail stopped, SMTP %s:%s: %s",
                    current_app.config["SMTP_HOST"],
                    current_app.config["SMTP_PORT"],
                    exc,
                )
                break
            sent += 1
    finally:
        if smtp is not None:
            _close(smtp)
    return sent
