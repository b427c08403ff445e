"""What the landscape charts read: the trials in scope with their phases, status, start and modalities."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hemewatch.storage.codec import split_pipes
from hemewatch.storage.tables import trial_tags, trials
from hemewatch.storage.tags import PAIR_KIND


@dataclass(frozen=True)
class LandscapeTrial:
    """What the landscape charts need of one trial."""

    phases: tuple[str, ...]
    status: str | None
    start_year: int | None
    modalities: tuple[str, ...]
    # (target, modality) of each studied therapy: what the target x modality chart counts.
    pairs: tuple[tuple[str, str], ...] = ()


def landscape_trials(conn: Connection, diseases: Sequence[str]) -> list[LandscapeTrial]:
    """Every trial in scope (with one of the diseases, when given) with its modalities and therapy pairs."""
    chosen = select(trials.c.current_version_id).where(trials.c.in_scope.is_(True))
    if diseases:
        chosen = chosen.where(
            trials.c.current_version_id.in_(
                select(trial_tags.c.version_id).where(
                    trial_tags.c.kind == "disease", trial_tags.c.value.in_(list(diseases))
                )
            )
        )
    tags: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    tag_rows = conn.execute(
        select(trial_tags.c.version_id, trial_tags.c.kind, trial_tags.c.value).where(
            trial_tags.c.kind.in_(("modality", PAIR_KIND)), trial_tags.c.version_id.in_(chosen)
        )
    )
    for version_id, kind, value in tag_rows:
        tags[version_id][kind].append(value)
    rows = conn.execute(
        select(
            trials.c.current_version_id, trials.c.phases, trials.c.overall_status, trials.c.start_date
        ).where(trials.c.current_version_id.in_(chosen))
    )
    out = []
    for version_id, phases, status, start in rows:
        found = tags.get(version_id, {})
        year = int(start[:4]) if start and start[:4].isdigit() else None
        out.append(
            LandscapeTrial(
                phases=tuple(split_pipes(phases)),
                status=status,
                start_year=year,
                modalities=tuple(sorted(found.get("modality", ()))),
                pairs=tuple(sorted(_pair(value) for value in found.get(PAIR_KIND, ()))),
            )
        )
    return out


def _pair(value: str) -> tuple[str, str]:
    target, _, modality = value.partition("|")
    return target, modality
