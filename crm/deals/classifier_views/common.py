"""What the deal settings pages share: the action that guards them, the flags their forms
send, and a refused change of one row shown again next to its fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request

from crm.core.errors import DomainError

ACTION = "deal.classifiers"
TRUE_VALUES = ("1", "y", "yes", "on", "true")


def flag(name: str) -> bool:
    return (request.values.get(name) or "").strip().lower() in TRUE_VALUES


@dataclass
class RowErrors:
    """A refused change of one row (a stage id, a role id, or "new"): the messages by field,
    a message for the row, and what was typed (shown again)."""

    row: Any
    fields: dict[str, list[str]]
    message: str
    typed: dict[str, str]

    @classmethod
    def of(cls, row, exc: DomainError, typed: dict[str, str]) -> RowErrors:
        return cls(row, exc.field_errors, exc.message, typed)

    def get(self, field: str) -> list[str]:
        return self.fields.get(field, [])

    @property
    def unplaced(self) -> list[str]:
        """Messages no input shows: the row shows them above itself."""
        placed = {"name", "probability", "position", "stages"}
        rest = [m for f, ms in self.fields.items() if f not in placed for m in ms]
        return rest or ([] if self.fields else [self.message])
