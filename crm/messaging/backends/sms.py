"""SMS gateways: how one SMS leaves the CRM. `gateway()` picks the one SMS_BACKEND names:

- ``console`` (the default, development): the message is written to the log, nothing is sent;
- ``file`` (development, tests, a hand-off to another program): one JSON line
  ``{"id", "to", "text", "sender", "at"}`` is appended to SMS_FILE per message;
- ``http``: the generic HTTP JSON gateway below, for a real SMS provider or a small adapter
  in front of one.

Each gateway's ``send(to, text, key)`` returns the provider's id of the accepted message (kept
in Message.provider_id; delivery reports name it) or raises one of crm.messaging.backends'
errors: TemporaryError (try again later), PermanentError (give up, with the reason),
AddressRefused (the number itself is refused: the message bounces, the number is suppressed).

The generic HTTP JSON gateway contract
--------------------------------------
The CRM sends, per message::

    POST <SMS_HTTP_URL>
    Authorization: Bearer <SMS_HTTP_TOKEN>      (left out when the token is empty)
    Content-Type: application/json; charset=utf-8

    {"to": "+79161234567", "text": "…", "sender": "<SMS_SENDER>", "client_id": "<message key>"}

``client_id`` is the same for every attempt of one message: a gateway that remembers it can
drop a repeat (a worker that died after the gateway accepted the message but before it could
record that sends it again, with the same client_id). The gateway answers:

- 2xx with a JSON object ``{"id": "<its message id>"}``: accepted; any other 2xx body is
  refused as a broken answer (PermanentError: the message may have gone out, so it is not
  sent again);
- 429 or 5xx: busy or broken for now (TemporaryError: retried with backoff); so are a
  timeout (SMS_HTTP_TIMEOUT seconds of silence) and a refused or broken connection;
- 400 or 422 with ``{"error": "invalid_number"}``: the number does not exist or cannot get
  SMS (AddressRefused);
- any other 3xx/4xx: the message is refused (PermanentError with the answer's
  ``{"error": …, "message": …}`` or its text, cut to 200 characters).

Delivery reports and replies come back through crm/messaging/sms_hooks.py."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sys
import urllib.error
import urllib.request
import uuid
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from http.client import HTTPException
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app

from crm.messaging.backends import AddressRefused, PermanentError, TemporaryError

log = logging.getLogger(__name__)

BACKENDS = ("console", "file", "http")
INVALID_NUMBER = "invalid_number"  # the gateway's `error` for a number that cannot get SMS
REASON_LIMIT = 200  # characters of the gateway's error text kept in the reason
ANSWER_LIMIT = 64 * 1024  # bytes of an answer read: an id or an error fits many times over
PROVIDER_ID_LIMIT = 120  # Message.provider_id


class SmsConfigError(ValueError):
    """The SMS settings cannot work (an unknown SMS_BACKEND, the HTTP gateway without a URL)."""


def check_settings(config) -> None:
    """Refuse SMS settings that cannot work, naming the setting: called when the app starts
    (crm/messaging/sms_hooks.py), so a typo stops the web app and the workers at once instead
    of failing every SMS later."""
    name = config.get("SMS_BACKEND", "console")
    if name not in BACKENDS:
        raise SmsConfigError(
            f"SMS_BACKEND={name!r} is not a known SMS backend; use one of: {', '.join(BACKENDS)}"
        )
    if name == "file" and not config.get("SMS_FILE"):
        raise SmsConfigError("SMS_BACKEND=file needs SMS_FILE (the file SMS are appended to)")
    if name == "http":
        url = config.get("SMS_HTTP_URL") or ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or _unsafe(url):
            raise SmsConfigError(
                "SMS_BACKEND=http needs SMS_HTTP_URL, the gateway's http:// or https:// address"
                f" (now {url!r})"
            )
        if _unsafe(config.get("SMS_HTTP_TOKEN") or ""):
            raise SmsConfigError("SMS_HTTP_TOKEN must not contain spaces or control characters")
        timeout = config.get("SMS_HTTP_TIMEOUT")
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise SmsConfigError(
                f"SMS_HTTP_TIMEOUT must be a number of seconds above 0 ({timeout!r})"
            )


def _unsafe(value: str) -> bool:
    # Spaces and control characters would break the request line or the header (urllib
    # refuses them with a ValueError on every send).
    return any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value)


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


class SmsGateway(ABC):
    """Sends one SMS; see the module's docstring for what `send` returns and raises."""

    @abstractmethod
    def send(self, to: str, text: str, key: str) -> str:
        """The provider's id of the accepted message, or a backend error."""


class ConsoleGateway(SmsGateway):
    """Development: logs the message instead of sending it (to the console when logging is
    not set up)."""

    def __init__(self, sender: str = ""):
        self.sender = sender

    def send(self, to: str, text: str, key: str) -> str:
        message_id = _new_id("console")
        args = ("SMS %s to %s from %r (message %s):\n%s", message_id, to, self.sender, key, text)
        if log.hasHandlers():
            log.info(*args)
        else:
            # Nothing configured logging (`flask run`, `worker.py`): Python would drop an INFO
            # record, and the developer would never see the SMS.
            print(args[0] % args[1:], file=sys.stderr, flush=True)
        return message_id


class FileGateway(SmsGateway):
    """Development and hand-offs: appends one JSON line per message to a file.

    Several workers may append at once: each line is one write(2) on a descriptor opened with
    O_APPEND, under an exclusive flock, so lines never interleave or overwrite each other
    (readers taking the shared lock never see half a line)."""

    def __init__(self, path: str, sender: str = ""):
        self.path = Path(path)
        self.sender = sender

    def send(self, to: str, text: str, key: str) -> str:
        message_id = _new_id("file")
        at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        record = {"id": message_id, "to": to, "text": text, "sender": self.sender, "at": at}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                written = os.write(fd, line)
            finally:
                os.close(fd)  # closing releases the lock
        except OSError as exc:
            # A full disk or a folder not yet mounted: worth another try later.
            raise TemporaryError(f"cannot append to {self.path}: {exc.strerror or exc}") from exc
        if written != len(line):
            raise TemporaryError(f"short write to {self.path} ({written} of {len(line)} bytes)")
        return message_id


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET without the message: a redirect is an
    # answer to report, never to follow.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class HttpJsonGateway(SmsGateway):
    """The generic HTTP JSON gateway (contract in the module's docstring), on the standard
    library's urllib."""

    def __init__(self, url: str, token: str = "", sender: str = "", timeout: float = 10):
        self.url = url
        self.token = token
        self.sender = sender
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def send(self, to: str, text: str, key: str) -> str:
        body = json.dumps(
            {"to": to, "text": text, "sender": self.sender, "client_id": key}, ensure_ascii=False
        ).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST")
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", "crm-messaging/1")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, answer = response.status, response.read(ANSWER_LIMIT)
        except urllib.error.HTTPError as exc:  # a 3xx/4xx/5xx answer
            try:
                answer = exc.read(ANSWER_LIMIT) or b""
            except (OSError, HTTPException):
                answer = b""
            finally:
                exc.close()
            raise self._refusal(exc.code, answer) from None
        except TimeoutError as exc:  # socket.timeout is TimeoutError
            raise TemporaryError(self._silent()) from exc
        except urllib.error.URLError as exc:  # before the request went out
            if isinstance(exc.reason, TimeoutError):
                raise TemporaryError(self._silent()) from exc
            raise TemporaryError(
                f"cannot reach the SMS gateway: {self._clean(str(exc.reason))}"
            ) from exc
        except (HTTPException, OSError) as exc:
            # A connection reset or closed half-way through the answer.
            said = self._clean(str(exc) or type(exc).__name__)
            raise TemporaryError(f"the connection to the SMS gateway broke: {said}") from exc
        if not 200 <= status < 300:
            raise self._refusal(status, answer)
        document = _json(answer)
        provider_id = document.get("id") if isinstance(document, dict) else None
        if isinstance(provider_id, bool) or not isinstance(provider_id, str | int):
            provider_id = None
        provider_id = str(provider_id).strip() if provider_id is not None else ""
        if not provider_id:
            raise PermanentError(
                f"the SMS gateway accepted the message (HTTP {status}) without a JSON id: "
                f"{self._text(answer)}"
            )
        return provider_id[:PROVIDER_ID_LIMIT]

    def _silent(self) -> str:
        return f"the SMS gateway did not answer within {self.timeout:g} s"

    def _refusal(self, status: int, answer: bytes) -> Exception:
        document = _json(answer)
        if status == 429 or status >= 500:
            return TemporaryError(f"the SMS gateway answered HTTP {status}: {self._text(answer)}")
        if (
            status in (400, 422)
            and isinstance(document, dict)
            and str(document.get("error", "")).strip().casefold() == INVALID_NUMBER
        ):
            return AddressRefused(f"invalid number (HTTP {status}): {self._text(answer)}")
        return PermanentError(
            f"the SMS gateway refused the message, HTTP {status}: {self._text(answer)}"
        )

    def _text(self, answer: bytes) -> str:
        """What the gateway said, for the message's reason: its error and message fields when
        it answered JSON, else its text; whitespace folded, cut to REASON_LIMIT, never the
        token (a gateway may echo the request back)."""
        document = _json(answer)
        if isinstance(document, dict) and ("error" in document or "message" in document):
            parts = [document.get("error"), document.get("message")]
            said = ": ".join(str(p) for p in parts if p not in (None, ""))
        else:
            said = answer.decode("utf-8", errors="replace")
        return self._clean(said)[:REASON_LIMIT] or "(no text)"

    def _clean(self, text: str) -> str:
        text = " ".join(text.split())
        return text.replace(self.token, "***") if self.token else text


def _json(answer: bytes):
    try:
        return json.loads(answer.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def gateway(app=None) -> SmsGateway:
    """The gateway SMS_BACKEND names, built from the app's settings (`app` or the current one);
    SmsConfigError when the settings cannot work."""
    config = (app or current_app).config
    check_settings(config)
    name = config.get("SMS_BACKEND", "console")
    sender = config.get("SMS_SENDER", "")
    if name == "file":
        return FileGateway(config["SMS_FILE"], sender)
    if name == "http":
        return HttpJsonGateway(
            config["SMS_HTTP_URL"],
            token=config.get("SMS_HTTP_TOKEN", ""),
            sender=sender,
            timeout=config.get("SMS_HTTP_TIMEOUT", 10),
        )
    return ConsoleGateway(sender)
