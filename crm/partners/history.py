"""The History tab's entries as people read them, in the reader's language.

Audit entries keep codes and an English summary (the log of record: the actions, field names
and values as stored). This module turns each into a sentence and a list of changed fields with
titles and shown values, translated when the page is drawn — so entries written before the
interface spoke Russian read in Russian too. The summaries parsed here are the ones
crm/partners/services.py writes; anything else is shown as stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _

from crm.auth.models import User
from crm.core.formats import fmt_date, fmt_number
from crm.extensions import db
from crm.partners.labels import (
    channel_title,
    field_title,
    kind_title,
    role_titles,
    table_title,
)

FLAGS = ("do_not_email", "do_not_call", "do_not_sms", "do_not_mail")
DATES = ("created_on", "birthday")


@dataclass
class Shown:
    at: object
    who: str
    what: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)


def moved_text(moved: dict[str, int]) -> str:
    """ "контактные данные: 2, interaction: 3" for a merge's moved rows per table."""
    return ", ".join(f"{table_title(k)}: {fmt_number(v, 0)}" for k, v in moved.items() if v)


def _user_name(value) -> str:
    if isinstance(value, int):
        user = db.session.get(User, value)
        return user.display_name if user else str(value)
    return str(value)


def shown_value(key: str, value) -> str:
    """A stored value of field `key` as the page shows it ('' for none)."""
    if value is None or value == "" or value == []:
        return ""
    if key == "roles":
        return role_titles(value)
    if key == "kind":
        return kind_title(value)
    if key == "preferred_channel":
        return channel_title(value)
    if isinstance(value, date):
        return fmt_date(value)
    if key in FLAGS or isinstance(value, bool):
        return _("yes") if value else _("no")
    if key in DATES and isinstance(value, str):
        try:
            return fmt_date(date.fromisoformat(value[:10]))
        except ValueError:
            return value
    if key in ("responsible", "responsible_id"):
        return _user_name(value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _moved_from_summary(summary: str) -> dict[str, int]:
    """The "moved a: 1, b: 2" tail of a merge summary as {table: rows}."""
    _head, sep, tail = summary.partition("; moved ")
    out = {}
    for part in tail.split(", ") if sep else []:
        name, _colon, count = part.rpartition(": ")
        if name and count.isdigit():
            out[name] = int(count)
    return out


def what(e) -> str:
    """The sentence of an entry's "What" column."""
    kind, action, summary = e.object_type, e.action, e.summary or ""
    changes = e.changes or {}
    if kind == "partner":
        if action == "merge":
            merged = (changes.get("merged") or [None, None])[1]
            if merged:
                moved = moved_text(_moved_from_summary(summary))
                if moved:
                    return _(
                        "Merged %(other)s into this partner; moved %(moved)s",
                        other=merged,
                        moved=moved,
                    )
                return _("Merged %(other)s into this partner", other=merged)
            other, sep, survivor = summary.rpartition(" was merged into ")
            if sep:
                return _("%(other)s was merged into %(survivor)s", other=other, survivor=survivor)
        if summary == "created by import":
            return _("Partner created by import")
        if summary == "updated by import":
            return _("Partner changed by import")
        simple = {
            "create": _("Partner created"),
            "update": _("Partner changed"),
            "delete": _("Partner deleted"),
        }
        if action in simple:
            # The summaries services write say what the sentence says; any other is kept.
            own = summary.startswith(("created partner ", "deleted partner "))
            return simple[action] + (f": {summary}" if summary and not own else "")
    if kind == "contact_detail":
        detail_kind = next(iter(changes), "")
        value = (changes.get(detail_kind) or [None, None])[1 if action != "delete" else 0]
        shown = f"{field_title(detail_kind).lower()} {value or ''}".strip()
        if action == "create":
            person = ""
            prefix = f"added {detail_kind} {value} to "
            if summary.startswith(prefix):
                person = summary[len(prefix) :]
            if person:
                return _(
                    "Contact detail added to %(person)s: %(detail)s", person=person, detail=shown
                )
            return _("Contact detail added: %(detail)s", detail=shown)
        if action == "delete":
            return _("Contact detail removed: %(detail)s", detail=shown)
        if action == "update" and "main" in changes:
            return _("Main contact detail changed: %(value)s", value=changes["main"][1])
    if kind == "contact_person":
        name = summary.rpartition(" contact person ")[2] if " contact person " in summary else ""
        name = name or (changes.get("name") or [None, None])[0 if action == "delete" else 1] or ""
        sentences = {
            "create": _("Contact person %(name)s added", name=name),
            "update": _("Contact person %(name)s changed", name=name),
            "delete": _("Contact person %(name)s removed", name=name),
        }
        if action in sentences:
            return sentences[action]
    # Not one of this domain's own entries: as stored.
    return " ".join(p for p in (action, kind.replace("_", " ")) if p) + (
        f": {summary}" if summary else ""
    )


def shown_changes(e) -> list[tuple[str, str, str]]:
    """(field title, old, new) for each changed field; a merge's own note is in `what`."""
    rows = []
    for key, pair in (e.changes or {}).items():
        if key == "merged" or not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        if key == "main":
            continue  # said in the sentence
        rows.append((field_title(key), shown_value(key, pair[0]), shown_value(key, pair[1])))
    return rows


def entries_shown(entries) -> list[Shown]:
    return [
        Shown(
            at=e.at,
            who=e.user.display_name if getattr(e, "user", None) else _("system"),
            what=what(e),
            changes=shown_changes(e),
        )
        for e in entries
    ]
