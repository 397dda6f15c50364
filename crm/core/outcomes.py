"""A view's one change through a service: committed, or refused with the reason shown.

Many views that change something end the same way: call the service, and either commit, or
— when the service refuses with a DomainError (the rule broken, the record gone meanwhile) —
roll the session back and flash the refusal, changing nothing. `committed` is that ending; the
view says what follows (a success message, where to go)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash

from crm.core.errors import DomainError
from crm.extensions import db


@dataclass(frozen=True)
class Outcome:
    """What `committed` did: whether the change was committed (the outcome's truth too) and
    what the service returned."""

    ok: bool
    result: Any = None

    def __bool__(self) -> bool:
        return self.ok


def committed(call: Callable[..., Any], *args, refused: str = "danger", **kwargs) -> Outcome:
    """`call(*args, **kwargs)` committed; or, when it raises a DomainError, the session rolled
    back and the error's message flashed in the `refused` category (nothing is changed)."""
    try:
        result = call(*args, **kwargs)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, refused)
        return Outcome(False)
    db.session.commit()
    return Outcome(True, result)
