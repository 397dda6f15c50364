"""What an interaction is about: deals, claims, projects… registered by their domains.

An interaction stores `subject_type` and `subject_id`; the domain that owns the type registers
how to label its objects, link to them and check access, so this package never imports it.
Free text (`subject_text`) is always possible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crm.core.registry import RegistryKey


@dataclass(frozen=True)
class SubjectType:
    key: str  # stored in interaction.subject_type: "deal", "claim", "project"
    title: str
    # ids -> {id: (label, url)} for the ids that exist; a missing id is a dangling link.
    describe: Callable[[list[int]], dict[int, tuple[str, str | None]]]
    # (user, id) -> may this user link an interaction to it / see it
    can_view: Callable = lambda user, object_id: True  # noqa: E731
    # (user, text, limit) -> [(id, label)] for the subject picker
    search: Callable | None = None
    order: int = 100
    # (user, interaction) -> the URL of a form that makes a new object of this type from the
    # interaction's chain (a deal from a thread of calls), or None when this user may not;
    # offered on the interaction's page under `create_title` (see `create_links`).
    create_from: Callable | None = None
    create_title: str = ""


SUBJECT_TYPES: RegistryKey[SubjectType] = RegistryKey(
    "crm.interaction_subjects", sort_key=lambda t: (t.order, t.title)
)


def register_subject_type(state_or_app, subject_type: SubjectType) -> None:
    SUBJECT_TYPES.register(state_or_app, subject_type)


def subject_types() -> list[SubjectType]:
    return list(SUBJECT_TYPES.of())


def subject_type(key: str) -> SubjectType | None:
    return SUBJECT_TYPES.of().get(key)


def describe(pairs: list[tuple[str, int]], user) -> dict[tuple[str, int], tuple[str, str | None]]:
    """Labels and links of many (type, id) pairs at once: one call per type, no N+1. An
    object `user` may not see is only "Deal #12", without its name or a link."""
    by_type: dict[str, list[int]] = {}
    for key, object_id in pairs:
        if key and object_id is not None:
            by_type.setdefault(key, []).append(object_id)
    found: dict[tuple[str, int], tuple[str, str | None]] = {}
    for key, ids in by_type.items():
        kind = subject_type(key)
        if kind is None:  # the domain that owned it is not installed
            continue
        for object_id, label in kind.describe(sorted(set(ids))).items():
            if not kind.can_view(user, object_id):
                label = (f"{kind.title} #{object_id}", None)
            found[(key, object_id)] = label
    return found


def create_links(user, interaction) -> list[tuple[str, str]]:
    """(title, URL) of the "new … from this chain" actions `user` has on `interaction`: one per
    type that offers it, unless the interaction is already about an object of that type."""
    links = []
    for kind in subject_types():
        if kind.create_from is None:
            continue
        if interaction.subject_type == kind.key and interaction.subject_id is not None:
            continue
        url = kind.create_from(user, interaction)
        if url:
            links.append((str(kind.create_title or kind.title), url))
    return links
