"""Questions about the therapies of the current versions: which agents are in use, which are unresolved."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hemewatch.classification.model import ROLES, STUDIED_ROLES
from hemewatch.storage.tables import chunks, trial_therapies, trials

EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class UnresolvedName:
    """A product the lexicons do not know, as the records write it, and the trials that study it."""

    name: str
    trials: int
    examples: tuple[str, ...]
    spellings: tuple[str, ...]
    modalities: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "trials": self.trials,
            "examples": list(self.examples),
            "spellings": list(self.spellings),
            "modalities": list(self.modalities),
        }


@dataclass(frozen=True, slots=True)
class AgentUse:
    """A canonical agent and the trials whose current version uses it."""

    agent: str
    trials: int
    examples: tuple[str, ...]
    modalities: tuple[str, ...]
    roles: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "agent": self.agent,
            "trials": self.trials,
            "examples": list(self.examples),
            "modalities": list(self.modalities),
            "roles": list(self.roles),
        }


def name_key(name: str) -> str:
    """How written names are grouped: case-folded, whitespace collapsed ("ABC 123" = "abc  123")."""
    return " ".join(name.split()).casefold()


@dataclass
class _Group:
    nct_ids: set[str] = field(default_factory=set)
    spellings: Counter[str] = field(default_factory=Counter)
    modalities: Counter[str] = field(default_factory=Counter)
    roles: set[str] = field(default_factory=set)

    def add(self, row: Any, spelling: str) -> None:
        self.nct_ids.add(row.nct_id)
        self.spellings[spelling] += 1
        if row.modality:
            self.modalities[row.modality] += 1
        self.roles.add(row.role)

    def examples(self) -> tuple[str, ...]:
        return tuple(sorted(self.nct_ids)[:EXAMPLES])


def _most_common(counter: Counter[str]) -> tuple[str, ...]:
    return tuple(value for value, _ in sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def _current_rows(conn: Connection, *, unresolved: bool) -> Iterable[Any]:
    query = select(
        trial_therapies.c.nct_id,
        trial_therapies.c.name,
        trial_therapies.c.agent,
        trial_therapies.c.modality,
        trial_therapies.c.role,
    ).select_from(trial_therapies.join(trials, trials.c.current_version_id == trial_therapies.c.version_id))
    if unresolved:
        # The classifier flags products no lexicon names; generic phrases ("chemotherapy") are not.
        query = query.where(
            trial_therapies.c.unresolved.is_(True),
            trial_therapies.c.role.in_(sorted(STUDIED_ROLES)),
        )
    else:
        query = query.where(trial_therapies.c.agent.is_not(None))
    return conn.execute(query)


def _ranked(groups: dict[str, _Group]) -> list[tuple[str, _Group]]:
    # Most used first; ties in name order, so the output is stable.
    return sorted(groups.items(), key=lambda item: (-len(item[1].nct_ids), item[0]))


def unresolved_names(conn: Connection, *, limit: int | None = None) -> list[UnresolvedName]:
    """Studied products of the current versions that no lexicon entry names, grouped by written name.

    A studied therapy counts when the classifier flagged it unresolved (Therapy.unresolved).
    Each group is named by its most frequent spelling; most used (by trials) first.
    """
    groups: dict[str, _Group] = {}
    for row in _current_rows(conn, unresolved=True):
        spelling = " ".join(str(row.name).split())
        if spelling:
            groups.setdefault(name_key(spelling), _Group()).add(row, spelling)
    found = [
        UnresolvedName(
            name=_most_common(group.spellings)[0],
            trials=len(group.nct_ids),
            examples=group.examples(),
            spellings=_most_common(group.spellings),
            modalities=_most_common(group.modalities),
        )
        for _, group in _ranked(groups)
    ]
    return found if limit is None else found[:limit]


def agents_in_use(conn: Connection, *, limit: int | None = None) -> list[AgentUse]:
    """The canonical agents of the current versions' therapies, with how many trials use each."""
    groups: dict[str, _Group] = {}
    for row in _current_rows(conn, unresolved=False):
        groups.setdefault(str(row.agent), _Group()).add(row, str(row.agent))
    found = [
        AgentUse(
            agent=agent,
            trials=len(group.nct_ids),
            examples=group.examples(),
            modalities=_most_common(group.modalities),
            roles=tuple(role for role in ROLES if role in group.roles),
        )
        for agent, group in _ranked(groups)
    ]
    return found if limit is None else found[:limit]


def current_therapy_names(conn: Connection, nct_ids: Sequence[str]) -> dict[str, list[str]]:
    """The interventions of each trial's current version as the record names them (none: no entry)."""
    found: dict[str, list[str]] = {}
    for chunk in chunks(sorted(set(nct_ids))):
        rows = conn.execute(
            select(trial_therapies.c.nct_id, trial_therapies.c.name)
            .select_from(
                trial_therapies.join(trials, trials.c.current_version_id == trial_therapies.c.version_id)
            )
            .where(trials.c.nct_id.in_(chunk))
            .order_by(trial_therapies.c.nct_id, trial_therapies.c.position)
        )
        for row in rows:
            found.setdefault(row.nct_id, []).append(row.name)
    return found
