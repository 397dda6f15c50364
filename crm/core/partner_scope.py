"""Partner scopes: filters that narrow any list or report with a partner dimension to a set of
partners ("partner segment"), registered by the domain that owns the sets.

A list or report says where its partner is (`ListFilter.partner_column`, crm.core.filters);
each registered scope then becomes one more filter of it: its field (a select drawn with the
list's other filters, its options read when it is drawn) and `partner_ids(value, user)`, the
SELECT of the ids of the partners the value names that `user` may see. The list narrows its own
rows by its partner column (`Deal.partner_id IN (…)`), so it never imports the domain that
registered the scope (segments is above every list it narrows).

`partner_ids` refuses a value it cannot use (an unknown id, a segment whose rule no longer
compiles) by raising crm.core.filters.Ignored with the message the list shows; the filter then
falls back to its default, as every other filter does with a bad value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm.core.registry import RegistryKey


def _anyone(user) -> bool:
    return True


@dataclass(frozen=True)
class PartnerScope:
    key: str  # the query-string parameter ("segment")
    field: Any  # an unbound filter field (crm.core.filters), bound under `key`
    # (value, user or None) -> SELECT of partner ids; raises crm.core.filters.Ignored
    partner_ids: Callable[[Any, Any], Any]
    order: int = 200
    visible: Callable[[Any], bool] = _anyone
    # The segment-rule condition (crm.segments' JSON) a value stands for, when it has one: a
    # list "saved as a dynamic segment" writes its filters as a rule.
    rule: Callable[[Any], dict] | None = None


PARTNER_SCOPES: RegistryKey[PartnerScope] = RegistryKey("crm.partner_scopes")


def register_partner_scope(state_or_app, scope: PartnerScope) -> None:
    """Called from a domain's blueprint setup."""
    PARTNER_SCOPES.register(state_or_app, scope)
