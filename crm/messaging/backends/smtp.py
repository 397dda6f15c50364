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

import base64
import logging
import re
import smtplib
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

from flask import current_app

from crm.messaging.backends import AddressRefused, PermanentError, TemporaryError, Unavailable

log = logging.getLogger(__name__)

REFUSED_ADDRESS_CODES = (550, 551, 553)
_ENHANCED = re.compile(rb"^\s*5\.1\.\d+")


def sender_address(app=None) -> str:
    """The From header of client messages: MESSAGING_FROM, else MAIL_FROM."""
    cfg = (app or current_app).config
    return cfg.get("MESSAGING_FROM") or cfg.get("MAIL_FROM") or "crm@localhost"


def _clean(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"a line break in a header: {value[:80]!r}")
    return value


def _header(name: str, value: str) -> bytes:
    """One header line (folded, in RFC 2047 encoded words when it is not ASCII)."""
    value = _clean(value)
    if value.isascii():
        return f"{name}: {value}\r\n".encode("ascii")
    encoded = Header(value, "utf-8", maxlinelen=76, header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n".encode("ascii")


def _part(content_type: str, text: str) -> bytes:
    body = base64.encodebytes(text.encode("utf-8")).replace(b"\n", b"\r\n")
    return (
        f'Content-Type: {content_type}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode("ascii") + body


def build(message, *, sender: str, unsubscribe_url: str = "") -> bytes:
    """The e-mail of a stored message (claims.Outgoing), as the bytes sent after DATA: its own
    Message-ID, the text and HTML bodies as alternatives (text alone when there is no HTML),
    and for marketing e-mail the one-click List-Unsubscribe headers (RFC 8058). ValueError for
    a header that cannot be written (a line break in it).

    Written directly rather than with email.message.EmailMessage, whose header machinery took
    3-4 ms of CPU per message (most of a worker's time at 10,000 messages; see
    bench/messaging_bench.py --profile); this takes ~0.1 ms and writes only what is needed:
    7-bit lines, encoded words for non-ASCII headers, base64 bodies."""
    name, address = parseaddr(sender)
    address_ = _clean(message.address)
    if not address_ or any(c.isspace() for c in address_) or "@" not in address_:
        raise ValueError(f"not an e-mail address: {address_[:80]!r}")
    # An address that is not ASCII travels with SMTPUTF8, whose headers may be UTF-8.
    to = f"To: {address_}\r\n".encode()
    lines = [
        f"From: {formataddr((name, address), charset='utf-8')}\r\n".encode("ascii"),
        to,
        _header("Subject", " ".join((message.subject or "").split())),
        _header("Date", formatdate(usegmt=True)),
        _header("Message-ID", message.rfc_message_id),
        b"MIME-Version: 1.0\r\n",
    ]
    if message.language:
        lines.append(_header("Content-Language", message.language))
    if unsubscribe_url:
        lines.append(_header("List-Unsubscribe", f"<{unsubscribe_url}>"))
        lines.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    text, html = message.body_text or "", message.body_html or ""
    if not html:
        return b"".join(lines) + _part("text/plain", text)
    # The Message-ID's key is random and URL-safe: a boundary no base64 line can contain.
    boundary = f"=_{message.rfc_message_id.strip('<>').partition('@')[0]}"
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode())
    for content_type, body in (("text/plain", text), ("text/html", html)):
        lines.append(f"--{boundary}\r\n".encode())
        lines.append(_part(content_type, body))
    lines.append(f"--{boundary}--\r\n".encode())
    return b"".join(lines)


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
            data = build(message, sender=self.sender, unsubscribe_url=self.unsubscribe_url(message))
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
