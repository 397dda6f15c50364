"""E-mail through the SMTP server of the settings (SMTP_HOST, SMTP_PORT, SMTP_SSL/STARTTLS,
SMTP_USERNAME/PASSWORD; the connection is made by crm.notifications.mail.connect), one
connection per batch of the worker, from MESSAGING_FROM (else MAIL_FROM).

The SMTP dialogue is driven step by step (MAIL, RCPT, DATA) rather than with
`send_message`, so that each refusal is mapped by where it came from:

- the server cannot be reached, refuses the connection or the login: Unavailable (the batch is
  given back untried);
- a 4xx reply, or the connection lost in the middle of a message: TemporaryError (retried);
- 550/551/553 (or an enhanced 5.1.x code) at RCPT: AddressRefused (bounced and suppressed);
- any other 5xx: PermanentError.

A connection an idle server closed is noticed at MAIL and made again once; a connection lost
after DATA is never resent here (the message may have arrived): it is retried later with the
same Message-ID."""

from __future__ import annotations

import logging
import re
import smtplib
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from flask import current_app

from crm.messaging.backends import AddressRefused, PermanentError, TemporaryError, Unavailable

log = logging.getLogger(__name__)

# Headers and bodies in 7-bit (encoded words, base64): no server needs 8BITMIME for them.
POLICY = policy.SMTP.clone(cte_type="7bit")
REFUSED_ADDRESS_CODES = (550, 551, 553)
_ENHANCED = re.compile(rb"^\s*5\.1\.\d+")


def sender_address(app=None) -> str:
    """The From header of client messages: MESSAGING_FROM, else MAIL_FROM."""
    cfg = (app or current_app).config
    return cfg.get("MESSAGING_FROM") or cfg.get("MAIL_FROM") or "crm@localhost"


def build(message, *, sender: str, unsubscribe_url: str = "") -> EmailMessage:
    """The e-mail of a stored message (delivery.Outgoing): its own Message-ID, the text and
    HTML bodies as alternatives (text alone when there is no HTML), and for marketing e-mail
    the one-click List-Unsubscribe headers (RFC 8058). ValueError for a header that cannot be
    written (an address with a line break)."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = message.address
    msg["Subject"] = " ".join((message.subject or "").split())
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message.rfc_message_id
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text, html = message.body_text or "", message.body_html or ""
    if html:
        msg.set_content(text or " ")
        msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(text)
    if message.language:  # after the content: setting it clears the Content-* headers
        msg["Content-Language"] = message.language
    return msg


def _reason(code: int, reply) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return f"{code} {' '.join(str(reply).split())}".strip()


def _by_code(code: int, reply, *, at_rcpt: bool = False):
    """The backend error for an SMTP reply `code` that is not a success."""
    reason = _reason(code, reply)
    if code == 421:  # the service is closing the channel: the server, not the message
        return Unavailable(reason)
    if 400 <= code < 500:
        return TemporaryError(reason)
    if at_rcpt and (
        code in REFUSED_ADDRESS_CODES
        or (isinstance(reply, bytes) and _ENHANCED.match(reply) is not None)
    ):
        return AddressRefused(reason)
    return PermanentError(reason)


class SmtpSender:
    """Sends a worker's batch over one connection (made when the first message needs it).
    Use as a context manager: the connection is closed at the end of the batch."""

    channel = "email"

    def __init__(self):
        from crm.messaging import links, tokens

        self._links, self._tokens = links, tokens
        self.sender = sender_address()
        self.envelope_from = parseaddr(self.sender)[1] or self.sender
        cfg = current_app.config
        self.server = f"{cfg['SMTP_HOST']}:{cfg['SMTP_PORT']}"
        self._smtp: smtplib.SMTP | None = None
        self._used = False  # the connection has carried a message (it may have gone idle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass

    def _connect(self) -> smtplib.SMTP:
        from crm.notifications.mail import connect

        try:
            smtp = connect()
            smtp.ehlo_or_helo_if_needed()
        except smtplib.SMTPResponseException as exc:
            reason = _reason(exc.smtp_code, exc.smtp_error)
            raise Unavailable(f"SMTP {self.server}: {reason}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise Unavailable(f"SMTP {self.server}: {exc or type(exc).__name__}") from None
        self._used = False
        return smtp

    def unsubscribe_url(self, message) -> str:
        """The one-click link of a marketing message, when it can be absolute (BASE_URL)."""
        if not message.marketing:
            return ""
        url = self._links.unsubscribe_url(self._tokens.key_of(message.rfc_message_id))
        return url if url.startswith(("http://", "https://")) else ""

    def send(self, message) -> str:
        """Send one message; returns the provider's id ('' for SMTP) or raises a backend
        error."""
        try:
            msg = build(message, sender=self.sender, unsubscribe_url=self.unsubscribe_url(message))
            data = msg.as_bytes()
        except (ValueError, TypeError, UnicodeError) as exc:
            raise PermanentError(f"the message cannot be written: {exc}") from None
        options = []
        if not (message.address.isascii() and self.envelope_from.isascii()):
            options.append("SMTPUTF8")
        for retry in (False, True):
            if self._smtp is None:
                self._smtp = self._connect()
            smtp = self._smtp
            if options and not smtp.has_extn("smtputf8"):
                raise PermanentError(f"the server does not accept the address {message.address}")
            try:
                code, reply = smtp.mail(self.envelope_from, options)
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                # An idle connection the server closed: make it again, once.
                self._drop()
                if self._used and not retry:
                    continue
                raise Unavailable(f"SMTP {self.server}: {exc or type(exc).__name__}") from None
            self._used = True
            if code != 250:
                raise self._refused(_by_code(code, reply))
            return self._rcpt_and_data(smtp, message, data)
        raise Unavailable(f"SMTP {self.server}: the connection keeps closing")  # not reached

    def _rcpt_and_data(self, smtp: smtplib.SMTP, message, data: bytes) -> str:
        try:
            code, reply = smtp.rcpt(message.address)
            if code not in (250, 251):
                raise self._refused(_by_code(code, reply, at_rcpt=True))
            try:
                code, reply = smtp.data(data)
            except smtplib.SMTPDataError as exc:  # DATA itself refused (no 354)
                raise self._refused(_by_code(exc.smtp_code, exc.smtp_error)) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise TemporaryError(
                f"SMTP {self.server}: the connection was lost ({exc or type(exc).__name__})"
            ) from None
        if code != 250:
            raise self._refused(_by_code(code, reply), reset=False)
        return ""

    def _refused(self, error, *, reset: bool = True):
        """After a refusal: RSET, so the connection serves the next message (closed instead
        when the server said it is closing); returns `error` for the caller to raise."""
        if isinstance(error, Unavailable):
            self._drop()
        elif reset and self._smtp is not None:
            try:
                self._smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()
        return error
