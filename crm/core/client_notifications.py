"""Event notifications to clients: the kinds of events a client may be told about, and the hook
through which a domain reports that one happened, without knowing who sends the messages.

A domain registers its kinds in its blueprint setup (messaging registers order status, overdue
debt, deal won and interaction reminders; claims, promotions or loyalty add theirs the same way):

    register_client_notification_kind(state, ClientNotificationKind(
        "claim_closed", _l("Claim closed"), params=(...), produce=None))

A kind is either **scheduled** (`produce(params, since, now)` lists the events that are due now,
run by the notifications job every few minutes) or **on-event** (`produce` is None: the domain
calls `notify_client(...)` when the event happens, inside its own transaction). Either way an
event is an Occurrence with a key that names it for good ("order_status:12:paid"): the sender
writes one message per event key and address, so an event reported twice, or produced by two
runs at once, reaches each address once.

Who sends (crm.messaging) subscribes with `subscribe_client_events`; with no subscriber (a
setup without messaging) `notify_client` does nothing. Lower domains (sales, deals) import only
this module."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm.core.registry import RegistryKey


@dataclass(frozen=True)
class KindParam:
    """A whole-number parameter of a kind (days after due, hours before …), with its bounds."""

    key: str
    title: Any
    default: int
    minimum: int = 0
    maximum: int = 3650
    help: Any = ""


@dataclass(frozen=True)
class Occurrence:
    """One event one client is to be told about. `event_key` names the event for good (the
    same event always gets the same key); `event` is plain data the message's placeholders
    read ({"document_id": 12, "status": "paid"}). With a contact person the message goes to
    his own addresses; without, to the partner's and its contact persons'."""

    event_key: str
    partner_id: int
    contact_person_id: int | None = None
    event: dict = field(default_factory=dict, hash=False, compare=False)


# produce(params with defaults, since: naive UTC the kind was switched on at, now: naive UTC)
Producer = Callable[[dict, datetime, datetime], Iterable[Occurrence]]


@dataclass(frozen=True)
class ClientNotificationKind:
    key: str  # also the prefix of its event keys ("order_status:…")
    title: Any
    description: Any = ""
    params: tuple[KindParam, ...] = ()
    # Scheduled kinds list their due events; None: the owning domain calls notify_client.
    produce: Producer | None = None
    channel: str = "email"  # the channel offered first on the settings page
    order: int = 100

    @property
    def scheduled(self) -> bool:
        return self.produce is not None

    def defaults(self) -> dict[str, int]:
        return {p.key: p.default for p in self.params}

    def with_defaults(self, stored: dict | None) -> dict[str, int]:
        """The stored parameters over the defaults; a value that is missing, not a whole number
        or out of its bounds (a parameter whose bounds changed since) falls back to the
        default."""
        values = self.defaults()
        for p in self.params:
            raw = (stored or {}).get(p.key)
            if isinstance(raw, int) and not isinstance(raw, bool) and p.minimum <= raw <= p.maximum:
                values[p.key] = raw
        return values


CLIENT_NOTIFICATION_KINDS: RegistryKey[ClientNotificationKind] = RegistryKey(
    "crm.client_notification_kinds"
)


def register_client_notification_kind(state_or_app, kind: ClientNotificationKind) -> None:
    CLIENT_NOTIFICATION_KINDS.register(state_or_app, kind)


def client_notification_kinds(app=None) -> list[ClientNotificationKind]:
    return list(CLIENT_NOTIFICATION_KINDS.of(app))


def client_notification_kind(key: str, app=None) -> ClientNotificationKind | None:
    return CLIENT_NOTIFICATION_KINDS.of(app).get(key)


# --- the on-event hook ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClientEventSubscriber:
    key: str  # its name (registering a name again replaces it)
    # handle(kind key, occurrences): runs in the caller's transaction, flushes, never commits.
    handle: Callable[[str, Sequence[Occurrence]], Any]
    order: int = 100


CLIENT_EVENT_SUBSCRIBERS: RegistryKey[ClientEventSubscriber] = RegistryKey(
    "crm.client_event_subscribers"
)


def subscribe_client_events(state_or_app, subscriber: ClientEventSubscriber) -> None:
    CLIENT_EVENT_SUBSCRIBERS.register(state_or_app, subscriber)


def notify_clients(kind_key: str, occurrences: Sequence[Occurrence]) -> None:
    """Report events of an on-event kind (an import's status changes, in one call)."""
    if not occurrences:
        return
    for subscriber in CLIENT_EVENT_SUBSCRIBERS.of():
        subscriber.handle(kind_key, occurrences)


def notify_client(
    kind_key: str,
    event_key: str,
    partner_id: int,
    event: dict,
    contact_person_id: int | None = None,
) -> None:
    """Report that an event of kind `kind_key` happened to a client now (inside the caller's
    transaction: it is notified only if the caller commits)."""
    notify_clients(kind_key, [Occurrence(event_key, partner_id, contact_person_id, dict(event))])
