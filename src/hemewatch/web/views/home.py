"""The front page: disease pages with their trial counts and the latest changes everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hemewatch.storage.events import list_events
from hemewatch.storage.runs import last_sync
from hemewatch.storage.trial_view import trial_titles
from hemewatch.web.layouts import DiseasePage, DiseasePages
from hemewatch.web.views.context import ViewContext
from hemewatch.web.views.disease import disease_index
from hemewatch.web.views.timeline import TimelineEntry, timeline_entry

LATEST_CHANGES = 12


@dataclass(frozen=True)
class HomeView:
    """What the front page shows."""

    diseases: list[tuple[DiseasePage, int]]
    changes: list[tuple[TimelineEntry, str | None]]
    last_sync: dict[str, Any] | None


def home_view(ctx: ViewContext, pages: DiseasePages) -> HomeView:
    """The front page's content (cached until the data change)."""

    def compute() -> HomeView:
        latest = list_events(ctx.conn, limit=LATEST_CHANGES, by_registry_date=True)
        entries = [timeline_entry(e) for e in latest]
        titles = trial_titles(ctx.conn, sorted({e.nct_id for e in entries}))
        return HomeView(
            diseases=disease_index(ctx, pages),
            changes=[(e, titles.get(e.nct_id)) for e in entries],
            last_sync=last_sync(ctx.conn),
        )

    return ctx.cached(("home",), compute)
