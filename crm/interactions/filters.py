"""The interactions list's filters, grouping and page, declared as a list filter
(crm.core.filters).

Bad values never raise: they are dropped and reported, so a hand-edited URL shows a message
instead of a 500.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

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
from crm.interactions.models import KINDS, STATUSES, Interaction

GROUPS = {
    "": _l("No grouping"),
    "partner": _l("By partner"),
    "responsible": _l("By responsible"),
    "subject": _l("By subject"),
    "day": _l("By day"),
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
        key, _sep, value = subject.partition(":")
        if key == FREE_SUBJECT:
            return f"{FREE_SUBJECT}:{value.strip()}" if value.strip() else ""
        if not key or id_or_none(value) is None:
            raise Ignored(_("Unknown subject ignored."))
        return subject


class InteractionFilter(ListFilter):
    partner_column = Interaction.partner_id

    q = SearchField(_l("Search"), id="q")
    kind = ChoiceField(
        _l("Kind"),
        KINDS,
        blank=_l("Any kind"),
        cut=30,
        id="f-kind",
        message=_l("Unknown kind {value} ignored."),
    )
    status = ChoiceField(
        _l("Status"),
        STATUSES,
        blank=_l("Any status"),
        cut=30,
        id="f-status",
        message=_l("Unknown status {value} ignored."),
    )
    # "" anyone visible, "me", or a user id
    responsible = IdField(
        _l("Responsible"),
        keywords=("me",),
        as_text=True,
        id="f-responsible",
        message=_l("Unknown responsible user ignored."),
        fixed=[("", _l("Anyone")), ("me", _l("Me (and where I take part)"))],
    )
    partner = IdField(_l("Partner"), message=_l("Unknown partner ignored."), id="f-partner")
    subject = SubjectField(_l("Subject"), id="f-subject")
    date_from = DateField(  # inclusive; local dates
        _l("From"),
        name="from",
        id="f-from",
        bad=lambda raw: _(
            "The start date %(value)s is not a date (YYYY-MM-DD); ignored.", value=repr(raw[:20])
        ),
        what=_l("The start date"),  # out of range: core's message with this label
    )
    date_to = DateField(
        _l("To"),
        name="to",
        id="f-to",
        bad=lambda raw: _(
            "The end date %(value)s is not a date (YYYY-MM-DD); ignored.", value=repr(raw[:20])
        ),
        what=_l("The end date"),  # out of range: core's message with this label
    )
    unprocessed = FlagField(_l("Unprocessed only"), id="f-unprocessed")
    # With `unprocessed`: only the items that came due more than a week ago (the list shows
    # the recent ones first and folds these away).
    older = FlagField(_l("Older than a week"), id="f-older")
    group = ChoiceField(
        _l("Grouping"),
        GROUPS,
        cut=30,
        active=False,
        id="f-group",
        message=_l("Unknown grouping {value} ignored."),
    )
    page = PageField(_l("Page"))

    def check(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            self.problems.append(_("The period ends before it starts; the dates were swapped."))
            self.date_from, self.date_to = self.date_to, self.date_from

    @property
    def subject_ref(self) -> tuple[str, int] | None:
        key, _sep, value = self.subject.partition(":")
        if self.subject and key != FREE_SUBJECT:
            return key, int(value)
        return None

    @property
    def subject_words(self) -> str:
        key, _sep, value = self.subject.partition(":")
        return value if key == FREE_SUBJECT else ""

    def query_string(self, **changes) -> str:
        return urlencode(self.params(**changes))
