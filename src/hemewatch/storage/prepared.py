"""A study record prepared for storage away from the database: hashed, compressed, summarised, scope-checked.

Preparing is the CPU-heavy part of an import; it runs in worker processes, which hand back
only what the store needs. The parsed study is not sent back (pickling it costs more than
parsing it again): it is decoded from the record's JSON text when someone asks for it.
A classification travels as compact JSON (encode_classified), not as pickled objects:
unpickling thousands of tags and evidence objects cost the importer more than building them.
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

# A classification with the labels to store beside it.
Classified = tuple["Classification", dict[str, Any]]

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
    _study: dict[str, Any] | None = field(default=None, repr=False)
    # The classification (labels as tags included) and labels to store, when classified already;
    # after a trip from a worker process, as encode_classified's bytes until first asked for.
    _classified: Classified | None = field(default=None, repr=False)
    _classified_text: bytes | None = field(default=None, repr=False)

    def __reduce__(self) -> tuple[type[PreparedRecord], tuple[Any, ...]]:
        # Sent back from worker processes by the thousand: a plain tuple is twice as fast to
        # pickle. The decoded study is left behind on purpose (see the module docstring).
        text = self._classified_text
        if text is None and self._classified is not None:
            text = encode_classified(*self._classified)
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
            None,
            None,
            text,
        )

    @property
    def classified(self) -> Classified | None:
        """The classification and labels to store, when the record was classified already."""
        if self._classified is None and self._classified_text is not None:
            self._classified = decode_classified(self._classified_text)
            self._classified_text = None
        return self._classified

    @classified.setter
    def classified(self, value: Classified | None) -> None:
        self._classified, self._classified_text = value, None

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


def encode_classified(classification: Classification, labels: dict[str, Any]) -> bytes:
    """A classification and its labels as compact JSON, each piece of evidence written once."""
    index: dict[tuple[str, str], int] = {}

    def refs(evidence: tuple[Any, ...]) -> list[int]:
        return [index.setdefault((e.path, e.text), len(index)) for e in evidence]

    tags = [[tag.kind, tag.value, refs(tag.evidence)] for tag in classification.tags]
    therapies = [
        [t.name, t.agent, t.modality, t.drug_class, t.targets, t.role, refs(t.evidence), t.unresolved]
        for t in classification.therapies
    ]
    return orjson.dumps(
        [
            classification.nct_id,
            classification.lexicon_version,
            classification.acute_leukemia,
            classification.immunotherapy,
            list(index),
            tags,
            therapies,
            labels,
        ]
    )


def decode_classified(text: bytes) -> Classified:
    """The classification and labels encode_classified wrote."""
    from hemewatch.classification.model import Classification, Evidence, Tag, Therapy

    nct_id, version, acute, immuno, table, tags, therapies, labels = orjson.loads(text)
    evidence = [Evidence(path, said) for path, said in table]
    classification = Classification(
        nct_id=nct_id,
        tags=tuple(Tag(kind, value, tuple([evidence[i] for i in refs])) for kind, value, refs in tags),
        acute_leukemia=acute,
        immunotherapy=immuno,
        lexicon_version=version,
        therapies=tuple(
            Therapy(
                name,
                agent,
                modality,
                drug_class,
                tuple(targets),
                role,
                tuple([evidence[i] for i in refs]),
                unresolved,
            )
            for name, agent, modality, drug_class, targets, role, refs, unresolved in therapies
        ),
    )
    return classification, labels


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
