"""The interactions list's filters, grouping and page, parsed from the query string.

Bad values never raise: they are dropped and reported, so a hand-edited URL shows a message
instead of a 500.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date
from urllib.parse import urlencode

from crm.core.params import BadValue, OutOfRange, id_or_none, page_or_first, parse_date
from crm.core.text import CONTROL_CHARS
from crm.interactions.models import KINDS, STATUSES
from crm.partners.filters import MAX_QUERY

GROUPS = {
    "": "No grouping",
    "partner": "By partner",
    "responsible": "By responsible",
    "subject": "By subject",
    "day": "By day",
}
FREE_SUBJECT = "text"  # subject=text:<words> filters on the free-text subject


def _date(raw: str, label: str, problems: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return parse_date(raw, label=label)
    except OutOfRange as exc:
        problems.append(f"{exc}; ignored.")
    except BadValue:
        problems.append(f"{label} {raw[:20]!r} is not a date (YYYY-MM-DD); ignored.")
    return None


@dataclass(frozen=True)
class InteractionFilter:
    q: str = ""
    kind: str = ""
    status: str = ""
    responsible: str = ""  # "" anyone visible, "me", or a user id
    partner: int | None = None
    subject: str = ""  # "deal:12", or "text:words" for the free-text subject
    date_from: date | None = None  # local dates, both inclusive
    date_to: date | None = None
    unprocessed: bool = False
    group: str = ""
    page: int = 1
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args) -> InteractionFilter:
        problems: list[str] = []
        q = (args.get("q") or "").strip()
        if CONTROL_CHARS.search(q):
            q = CONTROL_CHARS.sub(" ", q).strip()
            problems.append("The search text had control characters; they were removed.")
        if len(q) > MAX_QUERY:
            q = q[:MAX_QUERY]
            problems.append(f"The search text was cut to {MAX_QUERY} characters.")
        kind = args.get("kind") or ""
        if kind and kind not in KINDS:
            problems.append(f"Unknown kind {kind[:30]!r} ignored.")
            kind = ""
        status = args.get("status") or ""
        if status and status not in STATUSES:
            problems.append(f"Unknown status {status[:30]!r} ignored.")
            status = ""
        responsible = args.get("responsible") or ""
        if responsible not in ("", "me") and id_or_none(responsible) is None:
            problems.append("Unknown responsible user ignored.")
            responsible = ""
        partner_raw = args.get("partner") or ""
        partner = id_or_none(partner_raw)
        if partner_raw and partner is None:
            problems.append("Unknown partner ignored.")
        subject = CONTROL_CHARS.sub(" ", (args.get("subject") or "").strip())[:MAX_QUERY]
        if subject:
            key, _, value = subject.partition(":")
            if key == FREE_SUBJECT:
                subject = f"{FREE_SUBJECT}:{value.strip()}" if value.strip() else ""
            elif not key or id_or_none(value) is None:
                problems.append("Unknown subject ignored.")
                subject = ""
        date_from = _date(args.get("from") or "", "The start date", problems)
        date_to = _date(args.get("to") or "", "The end date", problems)
        if date_from and date_to and date_from > date_to:
            problems.append("The period ends before it starts; the dates were swapped.")
            date_from, date_to = date_to, date_from
        unprocessed = (args.get("unprocessed") or "") in ("1", "on", "true", "yes")
        group = args.get("group") or ""
        if group not in GROUPS:
            problems.append(f"Unknown grouping {group[:30]!r} ignored.")
            group = ""
        page = page_or_first(args.get("page"), problems)
        return cls(q, kind, status, responsible, partner, subject, date_from, date_to,
                   unprocessed, group, page, tuple(problems))  # fmt: skip

    @property
    def subject_ref(self) -> tuple[str, int] | None:
        key, _, value = self.subject.partition(":")
        if self.subject and key != FREE_SUBJECT:
            return key, int(value)
        return None

    @property
    def subject_words(self) -> str:
        key, _, value = self.subject.partition(":")
        return value if key == FREE_SUBJECT else ""

    def params(self, **changes) -> dict[str, str]:
        """Query-string parameters of this filter (with `changes`), empty ones left out."""
        flt = replace(self, **changes) if changes else self
        values = asdict(flt)
        values.pop("problems")
        values["from"], values["to"] = values.pop("date_from"), values.pop("date_to")
        out = {}
        for key, value in values.items():
            if value in (None, "", False) or (key == "page" and value == 1):
                continue
            out[key] = "1" if value is True else str(value)
        return out

    def query_string(self, **changes) -> str:
        return urlencode(self.params(**changes))

    @property
    def active(self) -> bool:
        return bool(self.params(page=1, group=""))
