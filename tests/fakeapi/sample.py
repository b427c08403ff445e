"""Real ClinicalTrials.gov v2 records to serve, and larger synthetic sets built from one of them."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson

SAMPLE_FILE = Path(__file__).parent / "data" / "studies.jsonl"
# Real NCT numbers are below NCT08000000 in 2026; this range cannot collide with a real study.
SYNTHETIC_FIRST_ID = 99_000_000
_TEMPLATE_ID = "NCT05923112"  # the smallest sample record: a real acute lymphoblastic leukemia trial


def load_sample_studies() -> list[dict[str, Any]]:
    """The bundled real records (acute leukemias, other leukemias, other diseases), parsed afresh."""
    with SAMPLE_FILE.open("rb") as lines:
        return [orjson.loads(line) for line in lines if line.strip()]


def make_studies(
    count: int, *, last_update: str = "2026-11-20", first_id: int = SYNTHETIC_FIRST_ID
) -> list[dict[str, Any]]:
    """``count`` copies of a real record, each with its own NCT id, title and last-update date."""
    encoded = _template()
    studies = []
    for number in range(first_id, first_id + count):
        study = orjson.loads(encoded)
        protocol = study["protocolSection"]
        protocol["identificationModule"]["nctId"] = f"NCT{number:08d}"
        protocol["identificationModule"]["briefTitle"] += f" (copy {number - first_id + 1})"
        protocol["statusModule"]["lastUpdatePostDateStruct"] = {"date": last_update, "type": "ACTUAL"}
        studies.append(study)
    return studies


@functools.cache
def _template() -> bytes:
    studies = load_sample_studies()
    return orjson.dumps(
        next(s for s in studies if s["protocolSection"]["identificationModule"]["nctId"] == _TEMPLATE_ID)
    )
