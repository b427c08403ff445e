"""Turn one ClinicalTrials.gov v2 study object into a StudyRecord ready to store."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from hemewatch.errors import InvalidNctId, InvalidRecord, RecordFieldError

# ASCII digits only: `\d` would also take full-width and other Unicode digits.
NCT_ID_PATTERN = re.compile(r"^NCT[0-9]{8}$")


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
    """Serialise a study compactly with sorted keys: the form stored and hashed.

    Raises InvalidRecord for a study nested too deeply to serialise.
    """
    try:
        return orjson.dumps(study, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:
        raise InvalidRecord(f"cannot be stored: {exc}") from None


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
    """Identify a decoded JSON value as a full v2 study and return its StudyRecord.

    Only its identity is checked here (raises InvalidRecord or InvalidNctId); the fields
    hemewatch uses are checked by validate_study when the record is ingested, so that a bad
    one is quarantined there rather than lost here. `study` has NUL characters removed from
    its text (PostgreSQL text cannot hold them); `canonical` keeps them.
    """
    study, nct, posted, holder = identify_study(obj)
    canonical = canonical_json(study)
    return StudyRecord(
        nct_id=nct,
        study=without_nul(study) if b"\\u0000" in canonical else study,
        canonical=canonical,
        content_hash=hash_canonical(canonical),
        last_update_post_date=posted,
        version_holder=holder,
    )


def check_study(obj: object) -> tuple[dict[str, Any], str, date | None, date | None]:
    """Validate a decoded JSON value as a full v2 study: the study, its NCT id, update and capture dates.

    Raises InvalidRecord (with the reason; RecordFieldError names the field) or InvalidNctId.
    """
    study, nct, posted, holder = identify_study(obj)
    validate_study(study, nct)
    return study, nct, posted, holder


def identify_study(obj: object) -> tuple[dict[str, Any], str, date | None, date | None]:
    """Check that a decoded JSON value is a full v2 study with an NCT id and an update date.

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
        raise RecordFieldError(
            "not a study: no protocolSection.identificationModule.nctId",
            field="protocolSection.identificationModule.nctId",
        )
    if not NCT_ID_PATTERN.match(nct):
        raise InvalidNctId(f"invalid NCT id {nct!r}: expected NCT followed by eight digits")
    status = protocol.get("statusModule")
    posted = status.get("lastUpdatePostDateStruct") if isinstance(status, dict) else None
    if not isinstance(posted, dict) or not isinstance(posted.get("date"), str):
        raise RecordFieldError(
            f"{nct}: partial record, no statusModule.lastUpdatePostDateStruct "
            "(was it fetched with a fields= projection?)",
            field="protocolSection.statusModule.lastUpdatePostDateStruct",
            nct_id=nct,
        )
    derived = obj.get("derivedSection")
    misc = derived.get("miscInfoModule") if isinstance(derived, dict) else None
    holder = misc.get("versionHolder") if isinstance(misc, dict) else None
    return obj, nct, _parse_date(posted.get("date")), _parse_date(holder)


def without_nul(study: dict[str, Any]) -> dict[str, Any]:
    """A copy of a study with NUL characters removed from every key and text (iteratively: any depth)."""
    root: dict[str, Any] = {}
    pending: list[tuple[Any, Any]] = [(study, root)]
    while pending:
        source, target = pending.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in items:
            if isinstance(value, str):
                value = value.replace("\x00", "")
            elif isinstance(value, dict | list):
                copy: dict[str, Any] | list[Any] = {} if isinstance(value, dict) else [None] * len(value)
                pending.append((value, copy))
                value = copy
            if isinstance(target, dict):
                target[str(key).replace("\x00", "")] = value
            else:
                target[key] = value
    return root


# --- The fields hemewatch reads, and what each must be ---
#
# A hand check per field: a pydantic model of the same fields takes about ten times as long,
# and an import validates thousands of records a second. Missing fields and nulls are fine
# (the registry omits what a record does not have); a value of the wrong type or out of
# range is an error, never converted: "PHASE2" is not a list of phases.

Check = Callable[[object], str | None]  # None when the value is acceptable, else what was expected
Shape = Check | dict[str, "Shape"] | tuple["Shape"]  # a value, an object's fields, a list of items

INT32_MAX = 2**31 - 1


def _text(value: object) -> str | None:
    return None if isinstance(value, str) else "text"


def _short(limit: int) -> Check:
    def check(value: object) -> str | None:
        if isinstance(value, str) and len(value) <= limit:
            return None
        return f"text of at most {limit} characters"

    return check


def _flag(value: object) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _count(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT32_MAX:
        return None
    return f"a whole number from 0 to {INT32_MAX}"


def _phases(value: object) -> str | None:
    # Stored joined with "|" in a 64-character column.
    if isinstance(value, list) and all(isinstance(v, str) for v in value) and len("|".join(value)) <= 64:
        return None
    return "a list of phase names (at most 64 characters together)"


_DATE: dict[str, Shape] = {"date": _text, "type": _text}
_TEXTS: tuple[Shape] = (_text,)
_SCHEMA: dict[str, Shape] = {
    "protocolSection": {
        "identificationModule": {"briefTitle": _text, "officialTitle": _text, "acronym": _text},
        "statusModule": {
            "overallStatus": _short(40),
            "lastKnownStatus": _short(40),
            "whyStopped": _text,
            "startDateStruct": {"date": _short(10), "type": _text},
            "primaryCompletionDateStruct": {"date": _short(10), "type": _text},
            "completionDateStruct": _DATE,
            "studyFirstPostDateStruct": _DATE,
            "lastUpdatePostDateStruct": _DATE,
        },
        "sponsorCollaboratorsModule": {
            "leadSponsor": {"name": _text, "class": _text},
            "collaborators": ({"name": _text, "class": _text},),
            "responsibleParty": {"type": _text, "investigatorFullName": _text},
        },
        "descriptionModule": {"briefSummary": _text, "detailedDescription": _text},
        "conditionsModule": {"conditions": _TEXTS, "keywords": _TEXTS},
        "designModule": {
            "studyType": _short(32),
            "phases": _phases,
            "enrollmentInfo": {"count": _count, "type": _text},
            "designInfo": {"allocation": _text, "primaryPurpose": _text},
        },
        "armsInterventionsModule": {
            "armGroups": (
                {"label": _text, "type": _text, "description": _text, "interventionNames": _TEXTS},
            ),
            "interventions": (
                {
                    "type": _text,
                    "name": _text,
                    "description": _text,
                    "otherNames": _TEXTS,
                    "armGroupLabels": _TEXTS,
                },
            ),
        },
        "outcomesModule": {
            "primaryOutcomes": ({"measure": _text, "timeFrame": _text, "description": _text},),
            "secondaryOutcomes": ({"measure": _text, "timeFrame": _text, "description": _text},),
        },
        "eligibilityModule": {
            "eligibilityCriteria": _text,
            "sex": _text,
            "minimumAge": _text,
            "maximumAge": _text,
            "stdAges": _TEXTS,
            "healthyVolunteers": _flag,
            "studyPopulation": _text,
        },
        "contactsLocationsModule": {
            "locations": (
                {
                    "facility": _text,
                    "city": _text,
                    "state": _text,
                    "zip": _text,
                    "country": _text,
                    "status": _text,
                },
            ),
        },
    },
    "derivedSection": {"miscInfoModule": {"versionHolder": _text}},
    "hasResults": _flag,
}


def validate_study(study: dict[str, Any], nct_id: str) -> None:
    """Check every field hemewatch reads; raise RecordFieldError naming the first one that is wrong."""
    found = _first_problem(study, _SCHEMA)
    if found is None:
        return
    steps, value, expected = found
    path = ""
    for step in reversed(steps):
        path += f"[{step}]" if isinstance(step, int) else (f".{step}" if path else step)
    shown = orjson.dumps(value).decode()
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise RecordFieldError(f"{nct_id}: {path} must be {expected}, not {shown}", field=path, nct_id=nct_id)


Problem = tuple[list[str | int], object, str]  # the path (innermost step first), the value, what was expected


def _first_problem(value: object, shape: Shape) -> Problem | None:
    # The schema is a few levels deep: recursion is bounded by it, not by the record.
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [], value, "an object"
        for key, inner in shape.items():
            item = value.get(key)
            if item is None or (inner is _text and type(item) is str):
                continue
            found = _first_problem(item, inner)
            if found is not None:
                found[0].append(key)
                return found
        return None
    if isinstance(shape, tuple):
        if not isinstance(value, list):
            return [], value, "a list"
        inner = shape[0]
        for index, item in enumerate(value):
            if item is None or (inner is _text and type(item) is str):
                continue
            found = _first_problem(item, inner)
            if found is not None:
                found[0].append(index)
                return found
        return None
    expected = shape(value)
    return None if expected is None else ([], value, expected)
