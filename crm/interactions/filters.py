"""The interactions list's filters, grouping and page, declared as a list filter
(crm.core.filters).

Bad values never raise: they are dropped and reported, so a hand-edited URL shows a message
instead of a 500.
"""

from __future__ import annotations

from urllib.parse import urlencode

from crm.core.filters import (
    CONTROL_CHARS,
    MAX_QUERY,
    ChoiceField,
    DateField,
    FilterField,
    FlagField,
    IdField,
    Ignored,
    ListFilter,
    PageField,
    SearchField,
    TextField,
)
from crm.core.params import id_or_none
from crm.interactions.models import KINDS, STATUSES

GROUPS = {
    "": "No grouping",
    "partner": "By partner",
    "responsible": "By responsible",
    "subject": "By subject",
    "day": "By day",
}
FREE_SUBJECT = "text"  # subject=text:<words> filters on the free-text subject


class SubjectField(TextField):
    """ "deal:12" (a registered subject), or "text:words" for the free-text subject."""

    def process_formdata(self, valuelist):
        FilterField.process_formdata(self, valuelist)

    def parse(self, raw):
        subject = CONTROL_CHARS.sub(" ", raw.strip())[:MAX_QUERY]
        if not subject:
            return ""
        key, _, value = subject.partition(":")
        if key == FREE_SUBJECT:
            return f"{FREE_SUBJECT}:{value.strip()}" if value.strip() else ""
        if not key or id_or_none(value) is None:
            raise Ignored("Unknown subject ignored.")
        return subject


class InteractionFilter(ListFilter):
    q = SearchField("Search", id="q")
    kind = ChoiceField(
        "Kind",
        KINDS,
        blank="Any kind",
        cut=30,
        id="f-kind",
        message="Unknown kind {value} ignored.",
    )
    status = ChoiceField(
        "Status",
        STATUSES,
        blank="Any status",
        cut=30,
        id="f-status",
        message="Unknown status {value} ignored.",
    )
    # "" anyone visible, "me", or a user id
    responsible = IdField(
        "Responsible",
        keywords=("me",),
        as_text=True,
        id="f-responsible",
        message="Unknown responsible user ignored.",
        fixed=[("", "Anyone"), ("me", "Me (and where I take part)")],
    )
    partner = IdField("Partner", message="Unknown partner ignored.", id="f-partner")
    subject = SubjectField("Subject", id="f-subject")
    date_from = DateField("From", name="from", what="The start date", id="f-from")  # inclusive
    date_to = DateField("To", name="to", what="The end date", id="f-to")  # local dates
    unprocessed = FlagField("Unprocessed only", id="f-unprocessed")
    group = ChoiceField(
        "Grouping",
        GROUPS,
        cut=30,
        active=False,
        id="f-group",
        message="Unknown grouping {value} ignored.",
    )
    page = PageField("Page")

    def check(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            self.problems.append("The period ends before it starts; the dates were swapped.")
            self.date_from, self.date_to = self.date_to, self.date_from

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

    def query_string(self, **changes) -> str:
        return urlencode(self.params(**changes))
