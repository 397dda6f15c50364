"""Delivery backends: SMTP for e-mail (smtp.py) and SMS gateways (sms.py). A backend sends one
message and either returns (accepted; the SMS gateway's id) or raises one of these, which
decide what happens to the message: a temporary error is retried later with backoff, a
permanent one marks it failed (bounced when the address itself was refused) with the reason."""

from __future__ import annotations


class DeliveryError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason[:500]


class TemporaryError(DeliveryError):
    """Try again later: a timeout, a refused connection, a 4xx SMTP reply, HTTP 429/5xx."""


class PermanentError(DeliveryError):
    """Do not try again: a 5xx SMTP reply, an HTTP 4xx from the gateway."""


class AddressRefused(PermanentError):
    """The address itself does not exist or refuses mail (SMTP 550 at RCPT, an invalid
    number): the message is bounced and the address suppressed."""


class Unavailable(TemporaryError):
    """The server or gateway itself cannot be reached or refuses to work (connection refused or
    lost, a failed login): nothing is wrong with the message. The one in flight counts an
    attempt; the rest of the worker's batch is given back untried, to be sent when it is up."""
