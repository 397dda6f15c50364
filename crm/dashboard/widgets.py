"""The registry of "My day" widgets. A domain adds its block in its blueprint setup:

    register_widget(state, HomeWidget("interactions-today", _l("Today"), render_today, 20))

`render(day)` returns the block's HTML (a fragment, drawn with the domain's own template) for a
`Day`: whose day (one user or the team), the reader's zone and the bounds of today. A block
with nothing to tell returns "" and My day drops its frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crm.core.registry import RegistryKey
from crm.core.timeutil import from_zone, to_zone, utcnow


@dataclass(frozen=True)
class Day:
    """Whose day and when: `user_id` None is the whole team (what the reader may see)."""

    reader: object  # the signed-in user (permissions, zone)
    user_id: int | None
    zone: str
    now: datetime  # naive UTC, like the database

    @property
    def today(self) -> date:
        return to_zone(self.now, self.zone).date()

    def day_start(self, offset: int = 0) -> datetime:
        """Naive UTC at local midnight `offset` days from today."""
        return from_zone(
            datetime.combine(self.today + timedelta(days=offset), datetime.min.time()), self.zone
        )

    @classmethod
    def of(cls, reader, user_id: int | None, zone: str, now: datetime | None = None) -> Day:
        return cls(reader, user_id, zone, now or utcnow())


@dataclass(frozen=True)
class HomeWidget:
    key: str  # in the fragment's URL: /dashboard/widgets/<key>
    title: str  # a lazy string: the block's heading
    render: Callable[[Day], str]
    order: int = 100


HOME_WIDGETS: RegistryKey[HomeWidget] = RegistryKey("crm.home_widgets")


def register_widget(state_or_app, widget: HomeWidget) -> None:
    HOME_WIDGETS.register(state_or_app, widget, key=widget.key)


def widgets(app=None):
    return list(HOME_WIDGETS.of(app))


def widget(key: str, app=None) -> HomeWidget | None:
    return HOME_WIDGETS.of(app).get(key)
