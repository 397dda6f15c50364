"""The rules every deal classifier's name follows (kinds, stages, participant roles, loss
reasons), and what their writes share: only admins change them, and a name another admin saved
meanwhile is refused by the unique constraint with a message instead of an error page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.core.errors import DomainError, FieldErrors
from crm.core.params import BadValue, parse_text
from crm.core.policy import require
from crm.core.text import CONTROL_CHARS, fold
from crm.extensions import db

NAME_MAX = 255


def ensure_admin(actor) -> None:
    require(actor, "deal.classifiers", message=_("Only an admin can change the deal settings."))


def clean_name(raw, errors: FieldErrors, field: str = "name") -> str:
    """A trimmed, single-spaced name of at most NAME_MAX characters ("" after an error)."""
    try:
        text = parse_text(raw, max_len=NAME_MAX, label=_("The name"))
    except BadValue as exc:
        errors.add(field, f"{exc}.")
        return ""
    text = " ".join(text.split())
    if CONTROL_CHARS.search(text):
        errors.add(field, _("The name contains control characters."))
        return ""
    if not text:
        errors.add(field, _("Enter a name."))
    return text


def same_name(model, name: str, *, exclude_id: int | None = None, where=None):
    """The row of `model` whose name equals `name` ignoring case (and ё/е), if any: these
    lists are short (dozens of rows), so they are compared in Python, which folds Cyrillic on
    SQLite too."""
    stmt = select(model.id, model.name)
    if where is not None:
        stmt = stmt.where(where)
    key = fold(name)
    for row_id, row_name in db.session.execute(stmt):
        if row_id != exclude_id and fold(row_name) == key:
            return row_name
    return None


@contextmanager
def unique(field: str, message: str) -> Iterator[None]:
    """Write inside a savepoint: when another admin saved the same name (or a stage at the
    same place) between our check and our write, the unique constraint decides and this one
    gets `message` instead of an error page; only the savepoint is rolled back."""
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError:
        raise DomainError(message, {field: [message]}) from None


def taken_meanwhile() -> str:
    return _("Someone has just saved the same name here: reload the page and try again.")
