"""A study record prepared for storage away from the database: hashed, compressed, summarised, scope-checked.

Preparing is the CPU-heavy part of an import; it runs in worker processes, which hand back
only what the store needs. The parsed study is not sent back (pickling it costs more than
parsing it again): it is decoded from the record's JSON text when someone asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import orjson

from hemewatch.registry.records import canonical_json, check_study, hash_canonical, without_nul
from hemewatch.registry.scope import Scope
from hemewatch.storage.codec import compress_json

if TYPE_CHECKING:
    from hemewatch.classification import Classification

# The trials columns denormalised from a trial's current version, in the order of summary_row.
SUMMARY_COLUMNS = (
    "brief_title",
    "overall_status",
    "last_update_post_date",
    "phases",
    "study_type",
    "lead_sponsor",
    "countries",
    "start_date",
    "primary_completion_date",
    "enrollment",
    "has_results",
    "conditions",
)


@dataclass(slots=True, eq=False)
class PreparedRecord:
    """One version of one study ready to store, as a worker prepared it."""

    nct_id: str
    content_hash: str
    last_update_post_date: date | None
    version_holder: date | None
    raw_size: int  # bytes of canonical JSON
    raw_zstd: bytes  # the canonical JSON, compressed as stored
    summary: tuple[Any, ...]  # values of SUMMARY_COLUMNS
    in_scope: bool  # matched by the import's scope
    source: bytes | None  # the study's JSON text; None while in transit when it is the piece's own text
    # The classification (labels as tags included) and labels to store, when classified already.
    classified: tuple[Classification, dict[str, Any]] | None = field(default=None, repr=False)
    _study: dict[str, Any] | None = field(default=None, repr=False)

    def __reduce__(self) -> tuple[type[PreparedRecord], tuple[Any, ...]]:
        # Sent back from worker processes by the thousand: a plain tuple is twice as fast to
        # pickle. The decoded study is left behind on purpose (see the module docstring).
        return PreparedRecord, (
            self.nct_id,
            self.content_hash,
            self.last_update_post_date,
            self.version_holder,
            self.raw_size,
            self.raw_zstd,
            self.summary,
            self.in_scope,
            self.source,
            self.classified,
        )

    @property
    def study(self) -> dict[str, Any]:
        """The study, decoded from its JSON text on first use."""
        if self._study is None:
            assert self.source is not None, "the record's JSON text was not attached"
            study = orjson.loads(self.source)
            self._study = without_nul(study) if b"\\u0000" in self.source else study
        return self._study

    def study_or(self, decoded: dict[str, Any]) -> dict[str, Any]:
        """The study to classify: `decoded` (the value this record was prepared from) unless it held NUL."""
        return self._study if self._study is not None else decoded


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A record that looks like a study but cannot be stored as it is: set aside with its JSON text."""

    location: str  # file:line, archive!member, file[index] or the sync run
    nct_id: str | None  # as the record gives it (None when it gives none)
    field: str | None  # the field at fault, when known
    reason: str
    raw: bytes  # the record's JSON text, as received

    def __reduce__(self) -> tuple[type[Quarantined], tuple[str, str | None, str | None, str, bytes]]:
        return Quarantined, (self.location, self.nct_id, self.field, self.reason, self.raw)


def prepare_study(obj: object, *, text: bytes | None, scope: Scope) -> PreparedRecord:
    """Validate, hash, compress, summarise and scope-check one decoded study.

    `text` is the study's JSON text (None when the caller attaches it later). Raises
    InvalidRecord or InvalidNctId like parse_study.
    """
    study, nct, posted, holder = check_study(obj)
    canonical = canonical_json(study)
    cleaned = None
    if b"\\u0000" in canonical:
        # PostgreSQL text cannot hold NUL: everything but the stored JSON uses a copy without it.
        study = cleaned = without_nul(study)
    return PreparedRecord(
        nct_id=nct,
        content_hash=hash_canonical(canonical),
        last_update_post_date=posted,
        version_holder=holder,
        raw_size=len(canonical),
        raw_zstd=compress_json(canonical),
        summary=summary_row(study, posted),
        in_scope=scope.matches(study),
        source=text,
        _study=cleaned,
    )


def summary_row(study: dict[str, Any], posted: date | None) -> tuple[Any, ...]:
    """The values of SUMMARY_COLUMNS for a study whose last update was posted on `posted`."""
    protocol = study.get("protocolSection") or {}
    ident = protocol.get("identificationModule") or {}
    status = protocol.get("statusModule") or {}
    design = protocol.get("designModule") or {}
    sponsor = (protocol.get("sponsorCollaboratorsModule") or {}).get("leadSponsor") or {}
    locations = (protocol.get("contactsLocationsModule") or {}).get("locations") or []
    countries = sorted({loc["country"] for loc in locations if isinstance(loc, dict) and loc.get("country")})
    enrollment = (design.get("enrollmentInfo") or {}).get("count")
    return (
        ident.get("briefTitle"),
        status.get("overallStatus"),
        posted,
        "|".join(design.get("phases") or []) or None,
        design.get("studyType"),
        sponsor.get("name"),
        f"|{'|'.join(countries)}|" if countries else None,
        _date_text(status.get("startDateStruct")),
        _date_text(status.get("primaryCompletionDateStruct")),
        enrollment if isinstance(enrollment, int) else None,
        bool(study.get("hasResults")),
        conditions_text(protocol),
    )


def conditions_text(protocol: dict[str, Any]) -> str | None:
    """The record's conditions and keywords, one per line, for text search."""
    module = protocol.get("conditionsModule") or {}
    if not isinstance(module, dict):
        return None
    values: list[str] = []
    for key in ("conditions", "keywords"):
        listed = module.get(key)
        if isinstance(listed, list):
            values.extend(value.strip() for value in listed if isinstance(value, str) and value.strip())
    return "\n".join(values) or None


def _date_text(struct: object) -> str | None:
    value = struct.get("date") if isinstance(struct, dict) else None
    return value[:10] if isinstance(value, str) else None
