"""The tabs of the messaging section (drawn by templates/messaging/_nav.html): each part of
the section adds its tab when its views are set up, so the parts do not edit one list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from crm.core.registry import RegistryKey


@dataclass(frozen=True)
class Section:
    endpoint: str
    title: Any
    order: int = 100

    @property
    def key(self) -> str:
        return self.endpoint


SECTIONS: RegistryKey[Section] = RegistryKey("crm.messaging.sections")


def register_section(state_or_app, section: Section) -> None:
    SECTIONS.register(state_or_app, section)


def sections() -> list[Section]:
    return [s for s in SECTIONS.of(current_app) if s.endpoint in current_app.view_functions]
