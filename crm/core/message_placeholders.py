"""Placeholders of client messages (mailings and notifications): what a message template may
write between `{{ }}`. The messaging domain registers the partner, contact, manager, order,
debt and unsubscribe ones; a later domain (promotions, loyalty) registers its own in its
blueprint setup, without messaging importing it:

    register_placeholder(state, Placeholder("loyalty", _l("Loyalty card"), fields, load, sample))

A template writes `{{ loyalty.balance }}`. Values are plain data (dicts of str, numbers,
dates): the sandbox (crm.messaging.rendering) never sees a model or the app.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crm.core.registry import RegistryKey


@dataclass(frozen=True)
class Recipient:
    """Whom one message goes to, as the placeholders' loaders see it."""

    partner_id: int | None
    contact_person_id: int | None = None
    channel: str = "email"
    address: str = ""
    address_norm: str = ""
    language: str = "ru"
    # What the event of a notification brings ({"order_id": 12}, {"deal_id": 3}); a mailing: {}.
    event: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Placeholder:
    key: str  # the name a template writes: {{ key.field }}
    title: Any
    # (field, title) pairs offered by the template editor: {{ key.field }}.
    fields: Sequence[tuple[str, Any]]
    # load(recipients) -> one value (usually a dict of the fields) per recipient, in order:
    # one or a few queries for the whole batch, never one per recipient.
    load: Callable[[Sequence[Recipient]], list[Any]]
    # The value shown in a preview without a chosen partner (and used to check a template).
    sample: Callable[[], Any]
    order: int = 100
    # Only for messages of these notification kinds (e.g. "order" for order events); empty:
    # available to every template.
    kinds: tuple[str, ...] = ()


PLACEHOLDERS: RegistryKey[Placeholder] = RegistryKey("crm.message_placeholders")


def register_placeholder(state_or_app, placeholder: Placeholder) -> None:
    PLACEHOLDERS.register(state_or_app, placeholder)


def placeholders(app=None) -> list[Placeholder]:
    return list(PLACEHOLDERS.of(app))
