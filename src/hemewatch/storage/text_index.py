"""The full-text index of trials: one row of words per trial, from its current version.

A trial's words are its title, conditions and keywords, its interventions as the record writes them,
every lexicon name of its agents (generic, brand, code names, synonyms), its lead sponsor, its NCT id
and its other ids (the sponsor's id and the secondary ids: EudraCT, EU CT, ChiCTR, jRCT, ISRCTN, …,
registry/identifiers.py), so a search for "2019-001234-56" or "ChiCTR2000031234" finds the trial.
Both sides are folded the same way here (case, accents, punctuation: words of letters and
digits separated by spaces), so SQLite's FTS5 and PostgreSQL's `simple` text search see the same
words. The row is rebuilt wherever a trial's current version or its tags change, in the writer's
transaction (storage/versions.py, storage/tags.py); a writer storing both in one transaction (an
ingested batch) defers the rebuild to its end, once per trial (`deferred`). Migration 0009 builds
the index for existing data; re-tagging (`hemewatch reclassify`, run after a lexicon change) rebuilds
the rows of the trials it re-tags, and `rebuild` every row.

A search text becomes a phrase of its words, the last one a prefix ("acute myeloid leuk" finds
"acute myeloid leukemia"), quoted word by word: no user text is ever read as query syntax. On
SQLite a row id is the trial's NCT number, so the matching NCT ids are spelled from the FTS5 hits
without reading trial_search.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    bindparam,
    cast,
    column,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.engine import Connection

from hemewatch.registry.identifiers import EU_CT, parse_identifiers
from hemewatch.storage.codec import decompress_json
from hemewatch.storage.tables import chunks, study_versions, trial_search, trial_tags, trial_therapies, trials

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from hemewatch.classification.lexicon import Lexicon

    NctNumbers = npt.NDArray[np.int64]

# The SQLite FTS5 table over trial_search.document and the shadow tables SQLite keeps for it.
FTS_TABLE: Final = "trial_search_fts"
SQLITE_FULL_TEXT_TABLES: Final = frozenset(
    {FTS_TABLE, *(f"{FTS_TABLE}_{part}" for part in ("data", "idx", "docsize", "config", "content"))}
)

_fts = table(FTS_TABLE, column("rowid"), column("document"))
_WORD_SPLIT: Final = re.compile(r"[\W_]+")
# More words than this in a search are not a name or a phrase anyone types; the rest are dropped.
_MAX_QUERY_WORDS: Final = 16
# A longer word is no word of any record (PostgreSQL does not index words of 2 KB): it finds nothing.
_MAX_WORD: Final = 200


def words(text: str) -> list[str]:
    """The index's words of a text: case-folded, accents removed, split at anything but letters and digits."""
    if text.isascii():  # nothing to decompose (most of the registry's text): the same words, sooner
        return [word for word in _WORD_SPLIT.split(text.lower()) if word]
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return [word for word in _WORD_SPLIT.split(bare.casefold()) if word]


def _default_lexicon() -> Lexicon:
    # Imported when first needed: opening the database (`hemewatch status`) need not load the lexicons.
    from hemewatch.classification.lexicon import default_lexicon

    return default_lexicon()


def row_id(nct_id: str) -> int:
    """The index row id of a trial: its NCT number (NCT ids are 'NCT' and eight digits)."""
    return int(nct_id[3:])


def _agent_names(lexicon: Lexicon) -> Mapping[str, tuple[str, ...]]:
    found = _AGENT_NAMES.get(lexicon.version)
    if found is None:
        names: dict[str, list[str]] = defaultdict(list)
        # Every term the matcher knows for an agent: generic name, brands, code names, synonyms.
        matcher = lexicon.matcher
        for terms in (matcher._folded, *matcher._exact.values()):
            for term, hits in terms.items():
                for hit in hits:
                    if hit.kind == "agent":
                        names[hit.entry].append(term)
        found = _AGENT_NAMES[lexicon.version] = {agent: tuple(terms) for agent, terms in names.items()}
    return found


_AGENT_NAMES: dict[str, Mapping[str, tuple[str, ...]]] = {}


def document(
    *,
    nct_id: str,
    title: str | None,
    conditions: str | None,
    sponsor: str | None,
    interventions: Iterable[str],
    agents: Iterable[str],
    lexicon: Lexicon,
    identifiers: Iterable[str] = (),
) -> str:
    """The words of one trial, one field after another."""
    names = _agent_names(lexicon)
    parts: list[str] = [nct_id, nct_id[3:], title or "", conditions or "", sponsor or ""]
    parts.extend(identifiers)
    parts.extend(interventions)
    for agent in agents:
        parts.append(agent)
        for name in names.get(agent, ()):
            parts.append(name)
            # A code name is typed with or without its separator: "SNDX-5613", "sndx5613".
            if " " in name:
                parts.append(name.replace(" ", ""))
    seen: list[str] = []
    for part in parts:
        folded = " ".join(words(part))
        if folded and folded not in seen:
            seen.append(folded)
    return " \n ".join(seen)


# The trials whose rows wait for the end of a `deferred` block, by connection.
_PENDING: weakref.WeakKeyDictionary[Connection, set[str]] = weakref.WeakKeyDictionary()


@contextmanager
def deferred(conn: Connection, *, lexicon: Lexicon | None = None) -> Iterator[None]:
    """Within the block, `refresh` only notes its trials; they are refreshed once when it ends.

    A writer that stores versions and then their tags in one transaction rebuilds each trial's row
    once, from its final state, instead of once per step. Nothing is refreshed when the block
    raises (the caller's transaction is rolled back). A nested block joins the outer one.
    """
    if conn in _PENDING:
        yield
        return
    pending = _PENDING[conn] = set()
    try:
        yield
    finally:
        del _PENDING[conn]
    _refresh_now(conn, pending, lexicon)


def refresh(conn: Connection, nct_ids: Iterable[str], *, lexicon: Lexicon | None = None) -> None:
    """Rebuild the index rows of these trials from their current versions (in the caller's transaction).

    Inside a `deferred` block on this connection the trials are noted and rebuilt when it ends.
    """
    pending = _PENDING.get(conn)
    if pending is not None and lexicon is None:
        pending.update(nct_ids)
        return
    _refresh_now(conn, nct_ids, lexicon)


def _refresh_now(conn: Connection, nct_ids: Iterable[str], lexicon: Lexicon | None) -> None:
    wanted = sorted(set(nct_ids))
    if not wanted:
        return
    chosen = lexicon or _default_lexicon()
    postgres = conn.dialect.name == "postgresql"
    for chunk in chunks(wanted):
        conn.execute(delete(trial_search).where(trial_search.c.nct_id.in_(chunk)))
        rows = _documents(conn, trials.c.nct_id.in_(chunk), chosen)
        if rows:
            _insert(conn, rows, postgres=postgres)


def rebuild(conn: Connection, *, lexicon: Lexicon | None = None) -> int:
    """Build the whole index again from every trial's current version; the number of rows."""
    chosen = lexicon or _default_lexicon()
    postgres = conn.dialect.name == "postgresql"
    conn.execute(delete(trial_search))
    nct_ids = list(conn.execute(select(trials.c.nct_id).order_by(trials.c.nct_id)).scalars())
    for chunk in chunks(nct_ids):
        rows = _documents(conn, trials.c.nct_id.in_(chunk), chosen)
        if rows:
            _insert(conn, rows, postgres=postgres)
    return len(nct_ids)


def _documents(conn: Connection, which: ColumnElement[bool], lexicon: Lexicon) -> list[dict[str, Any]]:
    found = conn.execute(
        select(
            trials.c.nct_id,
            trials.c.current_version_id,
            trials.c.brief_title,
            trials.c.conditions,
            trials.c.lead_sponsor,
        ).where(which)
    ).all()
    versions = [row.current_version_id for row in found if row.current_version_id is not None]
    names: dict[int, list[str]] = defaultdict(list)
    agents: dict[int, list[str]] = defaultdict(list)
    if versions:
        for version_id, name in conn.execute(
            select(trial_therapies.c.version_id, trial_therapies.c.name)
            .where(trial_therapies.c.version_id.in_(versions))
            .order_by(trial_therapies.c.version_id, trial_therapies.c.position)
        ):
            names[version_id].append(name)
        for version_id, value in conn.execute(
            select(trial_tags.c.version_id, trial_tags.c.value).where(
                trial_tags.c.kind == "agent", trial_tags.c.version_id.in_(versions)
            )
        ):
            agents[version_id].append(value)
    ids = _identifiers(conn, versions)
    rows = []
    for row in found:
        version = row.current_version_id
        text = document(
            nct_id=row.nct_id,
            title=row.brief_title,
            conditions=row.conditions,
            sponsor=row.lead_sponsor,
            interventions=names.get(version, ()),
            agents=sorted(agents.get(version, ())),
            lexicon=lexicon,
            identifiers=ids.get(version, ()) if version is not None else (),
        )
        rows.append({"id": row_id(row.nct_id), "nct_id": row.nct_id, "document": text})
    return rows


def _identifiers(conn: Connection, versions: Sequence[int]) -> dict[int, list[str]]:
    """The other ids of each version's record, as searched: the sponsor's id, secondary ids."""
    found: dict[int, list[str]] = {}
    if not versions:
        return found
    for version_id, blob in conn.execute(
        select(study_versions.c.id, study_versions.c.raw_zstd).where(study_versions.c.id.in_(versions))
    ):
        values = found[version_id] = []
        for item in parse_identifiers(decompress_json(blob)):
            values.append(item.value)
            # An EU CT number is searched with its "-00" suffix even where the record drops it.
            if item.scheme == EU_CT and item.value.count("-") == 2:
                values.append(f"{item.value}-00")
    return found


def _insert(conn: Connection, rows: list[dict[str, Any]], *, postgres: bool) -> None:
    if postgres:
        # The tsvector is made by the database from the same text (bind names differ from the columns').
        statement = insert(trial_search).values(
            id=bindparam("row_id"),
            nct_id=bindparam("row_nct_id"),
            document=bindparam("row_document"),
            words=func.to_tsvector(literal_column("'simple'"), bindparam("row_document")),
        )
        conn.execute(statement, [{f"row_{key}": value for key, value in row.items()} for row in rows])
    else:
        # The FTS5 table follows trial_search through its triggers (migration 0009).
        conn.execute(insert(trial_search), rows)


def _query_words(text: str) -> list[str]:
    found = words(text)[:_MAX_QUERY_WORDS]
    return [] if any(len(word) > _MAX_WORD for word in found) else found


def fts5_query(text: str) -> str | None:
    """The FTS5 MATCH expression for a search text: its words as one phrase, the last a prefix."""
    found = _query_words(text)
    if not found:
        return None
    # Words hold only letters and digits: inside double quotes nothing is syntax.
    return '"' + " ".join(found) + '"*'


def tsquery(text: str) -> str | None:
    """The to_tsquery text (PostgreSQL) for a search text: the words in a row, the last a prefix."""
    found = _query_words(text)
    if not found:
        return None
    quoted = [f"'{word}'" for word in found]
    quoted[-1] += ":*"
    return " <-> ".join(quoted)


def _matched(dialect: str, text: str) -> ColumnElement[Any] | None:
    """The row ids (NCT numbers) of the index rows whose words hold the text as a phrase (last word a
    prefix), as a column to select; None: no words in the text.

    PostgreSQL reads them through the GIN index. Its planner prices a scan of trial_search by the
    table's own pages, not by the out-of-line (TOAST) pages its tsvectors live in, nor by their
    decompression: it would scan every row (10-20x slower on a mirror of 20,000 trials) for any
    text it expects in more than a few per cent of them, as it expects of most prefixes. The rows
    come from a function declared with the scan ruled out (migration 0014), so the setting holds
    for that read only; in FROM, where PostgreSQL reads its rows at once (half the time it takes in
    the select list).
    """
    if dialect == "postgresql":
        query = tsquery(text)
        if query is None:
            return None
        wanted = func.to_tsquery(literal_column("'simple'"), query)
        return func.hemewatch_text_matches(wanted).column_valued("matched")
    expression = fts5_query(text)
    if expression is None:
        return None
    matching = _fts.c.document.op("MATCH", is_comparison=True)(expression)
    return select(_fts.c.rowid).where(matching).subquery().c.rowid


def matching_trials(dialect: str, text: str) -> Select[Any] | None:
    """The NCT ids whose words hold the text as a phrase (last word a prefix); None: no words in it."""
    matched = _matched(dialect, text)
    if matched is None:
        return None
    # The row id is the NCT number (row_id): the NCT id is spelled from it, without reading trial_search.
    if dialect == "postgresql":
        return select(literal("NCT") + func.lpad(cast(matched, Text), 8, "0"))
    return select(func.printf(literal_column("'NCT%08d'"), matched))


def matching_numbers(conn: Connection, text: str) -> NctNumbers | None:
    """The NCT numbers of the trials `matching_trials` selects, read now (once for a whole search
    page); None: no words in the text.

    Numbers, not NCT ids, and all in one value (an array, a comma-separated text), not a row each:
    thousands of rows through the driver and SQLAlchemy's result, each id spelled and looked up,
    cost more than the index's own work.
    """
    import numpy as np  # imported when first searched: opening the database need not load it

    matched = _matched(conn.dialect.name, text)
    if matched is None:
        return None
    if conn.dialect.name == "postgresql":
        return np.array(conn.execute(select(func.array_agg(matched))).scalar_one() or [], dtype=np.int64)
    listed = conn.execute(select(func.group_concat(matched))).scalar_one()
    return np.array(listed.split(",") if listed else [], dtype=np.int64)


def update_statistics(conn: Connection) -> None:
    """Refresh the planner's statistics after a large write: ANALYZE on PostgreSQL, PRAGMA optimize on SQLite.

    Without them PostgreSQL plans the first queries on a freshly imported mirror as if its tables were
    empty (seconds for a disease page instead of milliseconds).
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE")
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA optimize")


def trials_in_index(conn: Connection, nct_ids: Sequence[str]) -> dict[str, str]:
    """The stored words of these trials (for checks and tests)."""
    rows = conn.execute(
        select(trial_search.c.nct_id, trial_search.c.document).where(trial_search.c.nct_id.in_(list(nct_ids)))
    )
    return {row.nct_id: row.document for row in rows}
