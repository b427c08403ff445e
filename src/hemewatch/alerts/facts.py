"""Read what trackers filter on (current tags, pairs and record fields) for a set of trials."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from hemewatch.alerts.criteria import DIMENSION_OF_KIND, TrialFacts
from hemewatch.storage.database import Connection
from hemewatch.storage.tags import current_tags
from hemewatch.storage.therapies import current_therapy_names
from hemewatch.storage.trial_view import trial_essentials


def load_trial_facts(conn: Connection, nct_ids: Sequence[str]) -> dict[str, TrialFacts]:
    """The facts of each known trial, from its current version (unknown trials are left out)."""
    essentials = trial_essentials(conn, nct_ids)
    known = sorted(essentials)
    names = current_therapy_names(conn, known)
    facts: dict[str, TrialFacts] = {}
    for nct_id, kinds in current_tags(conn, known, pairs=True).items():
        tags: defaultdict[str, list[str]] = defaultdict(list)
        for kind, values in kinds.items():
            dimension = DIMENSION_OF_KIND.get(kind)
            if dimension is not None:
                tags[dimension].extend(values)
        trial = essentials[nct_id]
        facts[nct_id] = TrialFacts.build(
            nct_id=nct_id,
            title=trial.title,
            sponsor=trial.sponsor,
            in_scope=trial.in_scope,
            tags=tags,
            phases=trial.phases,
            status=trial.status,
            countries=trial.countries,
            conditions=trial.conditions,
            therapy_names=names.get(nct_id, ()),
        )
    return facts
