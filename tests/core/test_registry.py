"""The registry helper every plug-in point uses: ordered, keyed, one per app."""

from __future__ import annotations

from dataclasses import dataclass

from crm import create_app
from crm.core.registry import Registry, RegistryKey
from crm.interactions.calendar import SOURCES
from crm.partners.tabs import TABS


@dataclass(frozen=True)
class Entry:
    key: str
    order: int = 100


def test_entries_come_in_order_then_in_the_order_added():
    registry: Registry[Entry] = Registry()
    for entry in (Entry("c", 30), Entry("a"), Entry("b", 10), Entry("d")):
        registry.add(entry)

    assert [e.key for e in registry] == ["b", "c", "a", "d"]


def test_adding_a_key_again_replaces_its_entry():
    registry: Registry[Entry] = Registry()
    registry.add(Entry("a", 20))
    registry.add(Entry("b", 10))
    registry.add(Entry("a", 5))

    assert [(e.key, e.order) for e in registry] == [("a", 5), ("b", 10)]
    assert registry.get("a") == Entry("a", 5) and len(registry) == 2


def test_plain_functions_are_their_own_key():
    def hook():
        pass

    registry: Registry = Registry()
    registry.add(hook)
    registry.add(hook)

    assert list(registry) == [hook]


def test_each_app_has_its_own_registry_and_a_copy_leaves_the_original_alone(app):
    key: RegistryKey[Entry] = RegistryKey("tests.throwaway")
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    key.register(app, Entry("x"))
    copy = key.of(app).copy()
    copy.add(Entry("y"))

    assert [e.key for e in key.of(app)] == ["x"]
    assert [e.key for e in copy] == ["x", "y"]
    assert list(key.of(other)) == []


def test_a_second_app_gets_the_same_tabs_and_calendar_sources_once(app):
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})

    tabs = [t.key for t in TABS.of(other)]
    assert tabs == [
        "summary",
        "contacts",
        "interactions",
        "deals",
        "purchases",
        "analytics",
        "segments",
        "mailings",
        "history",
    ]
    assert tabs == [t.key for t in TABS.of(app)]
    assert [s.key for s in SOURCES.of(other)] == ["interactions", "deals"]
