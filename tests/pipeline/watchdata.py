"""Records, releases and trackers for the tests of watched trials and reconciliation."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection, Row

from hemewatch.alerts import Tracker, TrackerSpec, create_tracker
from hemewatch.storage.events import EventFilter, list_events
from hemewatch.storage.runs import utc_now
from hemewatch.storage.tables import change_events, tracker_events, trials
from tests.fakeapi.server import FakeRegistryServer

# A real non-small-cell lung cancer trial of the fake registry's sample: outside the watch scope.
OUTSIDE: Final = "NCT05466149"
# A real sample record listing an older id among its nctIdAliases.
ALIASED: Final = "NCT00057759"
ALIAS: Final = "NCT00075127"
# Ids no study of the sample has.
UNKNOWN: Final = "NCT09999999"
NEXT_DAY: Final = "2026-11-21"
NEXT_RELEASE: Final = "2026-11-21T09:00:03"
# What an incremental sync after the default release asks for.
WINDOW: Final = "AREA[LastUpdatePostDate]RANGE[2026-11-19,MAX]"


def nct(study: dict[str, Any]) -> str:
    """The study's NCT id."""
    return str(study["protocolSection"]["identificationModule"]["nctId"])


def served(server: FakeRegistryServer, nct_id: str) -> dict[str, Any]:
    """A copy of the study the fake registry serves under this id."""
    return copy.deepcopy(next(s for s in server.studies if nct(s) == nct_id))


def updated(study: dict[str, Any], *, status: str, posted: str = NEXT_DAY) -> dict[str, Any]:
    """The study with a new overall status, posted on `posted`."""
    changed = copy.deepcopy(study)
    changed["protocolSection"]["statusModule"]["overallStatus"] = status
    changed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {
        "date": posted,
        "type": "ACTUAL",
    }
    return changed


def outside_scope(study: dict[str, Any], *, title: str = "A lung cancer study") -> dict[str, Any]:
    """The study made a lung cancer trial (no leukemia anywhere the scope looks)."""
    changed = copy.deepcopy(study)
    protocol = changed["protocolSection"]
    protocol["conditionsModule"] = {"conditions": ["Non-small Cell Lung Cancer"]}
    protocol["identificationModule"]["briefTitle"] = title
    protocol["identificationModule"].pop("officialTitle", None)
    changed.get("derivedSection", {}).pop("conditionBrowseModule", None)
    return changed


def renumbered(study: dict[str, Any], new_id: str, *, posted: str = NEXT_DAY) -> dict[str, Any]:
    """The study under a new NCT id that lists its old one as an alias (a merge, as the registry shows it)."""
    changed = copy.deepcopy(study)
    ident = changed["protocolSection"]["identificationModule"]
    old = ident["nctId"]
    ident["nctId"] = new_id
    ident["nctIdAliases"] = [*ident.get("nctIdAliases", []), old]
    changed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {
        "date": posted,
        "type": "ACTUAL",
    }
    return changed


def release(server: FakeRegistryServer, studies: Iterable[dict[str, Any]]) -> None:
    """The registry's next daily release serves these studies."""
    server.set_studies(list(studies))
    server.data_timestamp = NEXT_RELEASE
    server.clear_requests()


def replace_study(server: FakeRegistryServer, nct_id: str, by: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The served studies with the one of `nct_id` replaced (or left out when `by` is None)."""
    kept = []
    for study in server.studies:
        if nct(study) != nct_id:
            kept.append(study)
        elif by is not None:
            kept.append(by)
    return kept


def tracker(conn: Connection, name: str, **filters: Any) -> Tracker:
    """A confirmed tracker created a minute ago (immediate, feed only)."""
    spec = TrackerSpec(
        name=name, email="dr.lee@example.org", cadence="immediate", email_enabled=False, **filters
    )
    return create_tracker(conn, spec, now=utc_now() - timedelta(minutes=1), confirmed=True)


def alerted(engine: Engine, tracker_id: int) -> list[tuple[str, str]]:
    """The (event type, NCT id) of every event matched to a tracker, in order."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(change_events.c.type, change_events.c.nct_id)
            .select_from(tracker_events.join(change_events, change_events.c.id == tracker_events.c.event_id))
            .where(tracker_events.c.tracker_id == tracker_id)
            .order_by(change_events.c.id)
        )
        return [(row.type, row.nct_id) for row in rows]


def event_types(engine: Engine, nct_id: str) -> list[str]:
    """The types of every event of a trial (administrative ones too), oldest first."""
    with engine.connect() as conn:
        where = EventFilter(nct_ids=(nct_id,), include_administrative=True)
        return [stored.event.type.value for stored in list_events(conn, where, newest_first=False)]


def trial_row(engine: Engine, nct_id: str) -> Row[Any] | None:
    """The trials row of a trial."""
    with engine.connect() as conn:
        return conn.execute(select(trials).where(trials.c.nct_id == nct_id)).first()
