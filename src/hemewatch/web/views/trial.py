"""A trial page: the record's essentials, tags with their evidence, sites and the change timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hemewatch.classification.model import TAG_KINDS, Tag
from hemewatch.errors import TrialNotFound
from hemewatch.registry.records import normalise_nct_id
from hemewatch.storage.events import EventFilter, StoredEvent, list_events
from hemewatch.storage.trial_view import load_trial_view
from hemewatch.storage.versions import load_current_study
from hemewatch.web.mechanism import mechanism_line
from hemewatch.web.queries import trial_exists
from hemewatch.web.views.context import ViewContext
from hemewatch.web.views.record import TrialRecord, read_trial_record
from hemewatch.web.views.timeline import TimelineEntry, timeline_entry

TIMELINE_LIMIT = 500


@dataclass(frozen=True)
class TrialPage:
    """Everything the trial page and /api/v1/trials/{nct_id} show."""

    record: TrialRecord
    summary: dict[str, Any]
    tags: list[Tag]
    mechanism: str
    timeline: list[TimelineEntry]
    version_count: int
    in_scope: bool

    def tags_by_kind(self) -> list[tuple[str, list[Tag]]]:
        """Tags grouped by kind, in the lexicon's order of kinds."""
        return [
            (kind, [t for t in self.tags if t.kind == kind])
            for kind in TAG_KINDS
            if any(t.kind == kind for t in self.tags)
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            **self.record.to_dict(),
            "mechanism": self.mechanism,
            "in_scope": self.in_scope,
            "version_count": self.version_count,
            "labels": {
                k: self.summary.get(k)
                for k in ("diseases", "modalities", "targets", "settings", "populations")
            },
            "tags": [
                {
                    "kind": t.kind,
                    "value": t.value,
                    "evidence": [{"path": e.path, "text": e.text} for e in t.evidence],
                }
                for t in self.tags
            ],
        }


def stored_events(ctx: ViewContext, nct_id: str, *, include_administrative: bool) -> list[StoredEvent]:
    """The trial's change events, newest first."""
    where = EventFilter(nct_ids=(nct_id,), include_administrative=include_administrative)
    return list_events(ctx.conn, where, limit=TIMELINE_LIMIT)


def trial_changes(
    ctx: ViewContext, raw_nct_id: str, *, include_administrative: bool
) -> tuple[str, list[StoredEvent]]:
    """The canonical NCT id and the trial's events; raises InvalidNctId or TrialNotFound."""
    nct_id = normalise_nct_id(raw_nct_id)
    if not trial_exists(ctx.conn, nct_id):
        raise TrialNotFound(
            f"{nct_id} is not in the local mirror; run `hemewatch sync` or `hemewatch import` first."
        )
    return nct_id, stored_events(ctx, nct_id, include_administrative=include_administrative)


def load_trial_page(ctx: ViewContext, raw_nct_id: str, *, include_administrative: bool = False) -> TrialPage:
    """The trial's page; raises InvalidNctId or TrialNotFound."""
    nct_id = normalise_nct_id(raw_nct_id)
    view = load_trial_view(ctx.conn, nct_id)
    study = load_current_study(ctx.conn, nct_id) if view is not None else None
    if view is None or study is None:
        raise TrialNotFound(
            f"{nct_id} is not in the local mirror; run `hemewatch sync` or `hemewatch import` first."
        )
    kinds: dict[str, list[str]] = {}
    for tag in view.tags:
        kinds.setdefault(tag.kind, []).append(tag.value)
    return TrialPage(
        record=read_trial_record(study),
        summary=view.summary,
        tags=view.tags,
        mechanism=mechanism_line(kinds, ctx.lexicon),
        timeline=[
            timeline_entry(e)
            for e in stored_events(ctx, nct_id, include_administrative=include_administrative)
        ],
        version_count=view.version_count,
        in_scope=bool(view.summary.get("in_scope")),
    )
