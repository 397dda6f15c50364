"""Ready-made segment templates (issue 13): the rules the team asks for most, offered by the
rule builder. Filled by the conditions' domains' keys only (segments imports none of them); a
preset whose condition types are not all registered is not offered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SegmentPreset:
    key: str
    title: Any
    description: Any
    rule: dict
    needs: tuple[str, ...] = ()


PRESETS: tuple[SegmentPreset, ...] = ()


def available_presets(app=None) -> list[SegmentPreset]:
    from crm.core.conditions import condition_types

    known = set(condition_types(app))
    return [p for p in PRESETS if set(p.needs) <= known]
