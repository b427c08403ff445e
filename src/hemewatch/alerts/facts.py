"""Read what trackers filter on (current tags, pairs and record fields) for a set of trials."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hemewatch.alerts.criteria import DIMENSION_OF_KIND, TrialFacts
from hemewatch.storage.tables import trial_tags, trial_therapies, trials

_CHUNK = 500


def load_trial_facts(conn: Connection, nct_ids: Sequence[str]) -> dict[str, TrialFacts]:
    """The facts of each known trial, from its current version (unknown trials are left out)."""
    found: dict[str, TrialFacts] = {}
    for start in range(0, len(nct_ids), _CHUNK):
        chunk = list(nct_ids[start : start + _CHUNK])
        rows = conn.execute(
            select(
                trials.c.nct_id,
                trials.c.brief_title,
                trials.c.lead_sponsor,
                trials.c.in_scope,
                trials.c.phases,
                trials.c.overall_status,
                trials.c.countries,
                trials.c.conditions,
            ).where(trials.c.nct_id.in_(chunk))
        ).all()
        tags: defaultdict[str, defaultdict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        tag_rows = conn.execute(
            select(trial_tags.c.nct_id, trial_tags.c.kind, trial_tags.c.value)
            .select_from(trial_tags.join(trials, trials.c.current_version_id == trial_tags.c.version_id))
            .where(trials.c.nct_id.in_(chunk))
        )
        for tag in tag_rows:
            dimension = DIMENSION_OF_KIND.get(tag.kind)
            if dimension is not None:
                tags[tag.nct_id][dimension].append(tag.value)
        names: defaultdict[str, list[str]] = defaultdict(list)
        name_rows = conn.execute(
            select(trial_therapies.c.nct_id, trial_therapies.c.name)
            .select_from(
                trial_therapies.join(trials, trials.c.current_version_id == trial_therapies.c.version_id)
            )
            .where(trials.c.nct_id.in_(chunk))
        )
        for therapy in name_rows:
            names[therapy.nct_id].append(therapy.name)
        for row in rows:
            found[row.nct_id] = TrialFacts.build(
                nct_id=row.nct_id,
                title=row.brief_title,
                sponsor=row.lead_sponsor,
                in_scope=bool(row.in_scope),
                tags=tags[row.nct_id],
                phases=[p for p in (row.phases or "").split("|") if p],
                status=row.overall_status,
                countries=[c for c in (row.countries or "").split("|") if c],
                conditions=row.conditions,
                therapy_names=names[row.nct_id],
            )
    return found
