"""Turn one ClinicalTrials.gov v2 study object into a StudyRecord ready to store."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from hemewatch.errors import InvalidNctId, InvalidRecord

NCT_ID_PATTERN = re.compile(r"^NCT\d{8}$")


def registry_study_url(nct_id: str) -> str:
    """The trial's page on ClinicalTrials.gov."""
    return f"https://clinicaltrials.gov/study/{nct_id}"


def normalise_nct_id(value: str) -> str:
    """Return the canonical form of an NCT id (upper case, trimmed) or raise InvalidNctId."""
    candidate = value.strip().upper()
    if not NCT_ID_PATTERN.match(candidate):
        raise InvalidNctId(
            f"{value!r} is not a ClinicalTrials.gov identifier: expected NCT followed by eight digits, "
            "e.g. NCT04530565."
        )
    return candidate


@dataclass(frozen=True, slots=True)
class StudyRecord:
    """One version of one study as it will be stored: the parsed study plus its identity and hash."""

    nct_id: str
    study: dict[str, Any]
    canonical: bytes  # sorted-key compact JSON, as stored
    content_hash: str
    last_update_post_date: date | None
    version_holder: date | None

    @property
    def protocol(self) -> dict[str, Any]:
        """The study's protocolSection."""
        section: dict[str, Any] = self.study.get("protocolSection") or {}
        return section


def _parse_date(value: object) -> date | None:
    # The registry writes YYYY-MM-DD for posting dates; month-only values are tolerated.
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 7:
            return date.fromisoformat(value + "-01")
        return date.fromisoformat(value)
    except ValueError:
        return None


_VERSION_HOLDER = re.compile(rb'"versionHolder":"[^"]*"')


def canonical_json(study: dict[str, Any]) -> bytes:
    """Serialise a study compactly with sorted keys: the form stored and hashed."""
    return orjson.dumps(study, option=orjson.OPT_SORT_KEYS)


def hash_canonical(canonical: bytes) -> str:
    """Hash canonical study JSON, ignoring `versionHolder` (the registry's daily release stamp).

    A record re-fetched on a later day differs only in versionHolder; it must not become a
    new version. Keys are sorted, so the hash does not depend on the producer's key order.
    """
    digest = hashlib.sha256()
    found = _VERSION_HOLDER.search(canonical)
    if found is None:
        digest.update(canonical)
    else:
        # Hashing the two sides through a memoryview is the same as hashing the text with the
        # stamp cut out, without copying the whole study.
        view = memoryview(canonical)
        digest.update(view[: found.start()])
        digest.update(view[found.end() :])
    return digest.hexdigest()


def compute_content_hash(study: dict[str, Any]) -> str:
    """The content hash of a study (see hash_canonical)."""
    return hash_canonical(canonical_json(study))


def parse_study(obj: object) -> StudyRecord:
    """Validate a decoded JSON value as a full v2 study and return its StudyRecord.

    Raises InvalidRecord (with the reason) or InvalidNctId.
    """
    study, nct, posted, holder = check_study(obj)
    canonical = canonical_json(study)
    return StudyRecord(
        nct_id=nct,
        study=study,
        canonical=canonical,
        content_hash=hash_canonical(canonical),
        last_update_post_date=posted,
        version_holder=holder,
    )


def check_study(obj: object) -> tuple[dict[str, Any], str, date | None, date | None]:
    """Validate a decoded JSON value as a full v2 study: the study, its NCT id, update and capture dates.

    Raises InvalidRecord (with the reason) or InvalidNctId.
    """
    if not isinstance(obj, dict):
        raise InvalidRecord(f"not a study: expected a JSON object, got {type(obj).__name__}")
    protocol = obj.get("protocolSection")
    if not isinstance(protocol, dict):
        raise InvalidRecord("not a study: no protocolSection")
    ident = protocol.get("identificationModule")
    nct = ident.get("nctId") if isinstance(ident, dict) else None
    if not isinstance(nct, str):
        raise InvalidRecord("not a study: no protocolSection.identificationModule.nctId")
    if not NCT_ID_PATTERN.match(nct):
        raise InvalidNctId(f"invalid NCT id {nct!r}: expected NCT followed by eight digits")
    status = protocol.get("statusModule")
    posted = status.get("lastUpdatePostDateStruct") if isinstance(status, dict) else None
    if not isinstance(posted, dict) or not isinstance(posted.get("date"), str):
        raise InvalidRecord(
            f"{nct}: partial record, no statusModule.lastUpdatePostDateStruct "
            "(was it fetched with a fields= projection?)"
        )
    derived = obj.get("derivedSection")
    misc = derived.get("miscInfoModule") if isinstance(derived, dict) else None
    holder = misc.get("versionHolder") if isinstance(misc, dict) else None
    return obj, nct, _parse_date(posted.get("date")), _parse_date(holder)
