"""`hemewatch demo`: load the bundled registry days, with a sample tracker that sees day two's changes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from hemewatch.alerts import TrackerSpec, create_tracker
from hemewatch.alerts.trackers import Tracker, get_tracker_by_owner
from hemewatch.demo import demo_days
from hemewatch.pipeline.importing import ImportReport, import_files
from hemewatch.pipeline.progress import Progress
from hemewatch.registry.scope import Scope
from hemewatch.storage.runs import utc_now

# The sample tracker: feed-only (the demo sends no mail), following every alertable change in scope, as
# each is found. Its owner address is reserved (RFC 2606), so nothing could ever be sent to it.
SAMPLE_TRACKER = TrackerSpec(
    name="Sample: every change (demo)",
    email="demo@hemewatch.invalid",
    cadence="immediate",
    email_enabled=False,
    feed_enabled=True,
)


@dataclass(frozen=True)
class DemoLoad:
    """What loading the demo did: one import report per registry day, and the sample tracker."""

    days: list[ImportReport]
    tracker: Tracker
    tracker_created: bool


def load_demo(engine: Engine, *, scope: Scope, progress: Progress | None = None) -> DemoLoad:
    """Import the bundled registry days in order; the sample tracker exists before the second one.

    The first day into an empty mirror is a baseline (no events). The sample tracker is created
    after it, so the second day's real changes reach its feed at once. Loading again changes
    nothing: every version is already stored and the tracker already exists.
    """
    days = demo_days()
    reports: list[ImportReport] = []
    tracker: Tracker | None = None
    created = False
    for index, day in enumerate(days):
        if index == 1 or (index == 0 and len(days) == 1):
            tracker, created = _sample_tracker(engine)
        reports.append(
            import_files(engine, [day], scope=scope, source="demo", in_scope_only=True, progress=progress)
        )
    if tracker is None:
        tracker, created = _sample_tracker(engine)
    return DemoLoad(reports, tracker, created)


def _sample_tracker(engine: Engine) -> tuple[Tracker, bool]:
    with engine.begin() as conn:
        existing = get_tracker_by_owner(conn, SAMPLE_TRACKER.email, SAMPLE_TRACKER.name)
        if existing is not None:
            return existing, False
        return create_tracker(conn, SAMPLE_TRACKER, now=utc_now(), confirmed=True), True
