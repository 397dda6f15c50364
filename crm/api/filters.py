"""The list parameters of each API resource (page, per_page, its filters) as a list filter
(crm.core.filters); the views answer the first bad one with a 400 in the API's JSON."""

from __future__ import annotations

from crm.api.queries import DEFAULT_PER_PAGE, Resource
from crm.core.filters import ListFilter, ParsedField, WholeNumberField
from crm.core.params import INT_MAX


def _whole(name: str, default: int) -> WholeNumberField:
    # Bounded so that an offset never overflows the database's integers.
    return WholeNumberField(
        name=name,
        default=default,
        maximum=INT_MAX,
        message=lambda raw: (
            f"{name} must be a whole number of 1 or more (at most {INT_MAX}), not {raw[:40]!r}."
        ),
    )


_FORMS: dict[str, type[ListFilter]] = {}


def list_filter(res: Resource) -> type[ListFilter]:
    """The form of `res`'s list: `page`, `per_page`, then one field `f_<name>` per filter
    (None when the query string leaves it out)."""
    if res.name in _FORMS:
        return _FORMS[res.name]
    fields = {"page": _whole("page", 1), "per_page": _whole("per_page", DEFAULT_PER_PAGE)}
    for flt in res.filters:
        fields[f"f_{flt.name}"] = ParsedField(
            name=flt.name,
            parse=flt.parse,
            message=lambda raw, exc, name=flt.name: f"Filter {name}: {exc}.",
        )
    form = type(f"{res.endpoint.title()}ListFilter", (ListFilter,), fields)
    _FORMS[res.name] = form
    return form


def wanted(form: ListFilter) -> dict:
    """The filters given, by name, with their parsed values."""
    return {
        form[n].name: value
        for n in form._fields
        if n.startswith("f_") and (value := getattr(form, n)) is not None
    }
