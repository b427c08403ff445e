"""The registry website's record-history endpoints (…/api/int/…), served from captured and built histories.

Real answers captured from ClinicalTrials.gov are in tests/data/history (see its PROVENANCE.md):
one version (`/history/0` of NCT04280705) and one list (NCT03690141). The other histories the tests
serve are built from real study objects as `built.json` there describes, in the shape the captured
answers and the public clients that read these endpoints show.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from tests.fakeapi.api import Answer
from tests.realdata import real_data

INT_PREFIX = "/api/int"
DATA = Path(__file__).resolve().parents[1] / "data" / "history"
_HISTORY = re.compile(r"/api/int/studies/([^/]+)/history(?:/([^/]*))?")
_STUDY = re.compile(r"/api/int/studies/([^/]+)")


def is_history_path(url_path: str) -> bool:
    """Whether a request is for the website's internal API rather than the Data API."""
    return url_path.startswith(INT_PREFIX + "/")


@dataclass(frozen=True)
class ServedHistory:
    """One trial's record history: the list answer and each version's answer."""

    listing: dict[str, Any]  # {"changes": [...], ...}
    versions: Mapping[int, dict[str, Any]]  # version -> {"studyVersion": n, "study": {...}}

    @property
    def latest_study(self) -> dict[str, Any] | None:
        """The newest version's study (what `?history=true` answers beside the list)."""
        numbers = sorted(self.versions)
        return self.versions[numbers[-1]]["study"] if numbers else None


class HistoryArchive:
    """The record histories the fake serves, by NCT id; unknown trials answer 404 as the site does."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, ServedHistory] = {}

    def add(self, nct_id: str, history: ServedHistory) -> None:
        """Serve ``history`` for ``nct_id`` from now on."""
        with self._lock:
            self._by_id[nct_id] = history

    def add_studies(self, studies: Sequence[dict[str, Any]], *, labels: Sequence[Sequence[str]] = ()) -> str:
        """Serve the studies (oldest first) as versions 0, 1, … of their trial; return its NCT id."""
        history = history_of(studies, labels=labels)
        nct_id = _nct(studies[0])
        self.add(nct_id, history)
        return nct_id

    def remove(self, nct_id: str) -> None:
        """Stop serving a trial's history (its endpoints answer 404)."""
        with self._lock:
            self._by_id.pop(nct_id, None)

    def answer(self, url_path: str, query: Sequence[tuple[str, str]]) -> Answer:
        """Answer one GET under /api/int."""
        with self._lock:
            by_id = dict(self._by_id)
        params = dict(query)
        found = _HISTORY.fullmatch(url_path.rstrip("/"))
        if found:
            history = by_id.get(found[1])
            if history is None:
                return Answer.text(404, f"Study {found[1]} not found")
            if found[2] is None:
                return Answer.json(history.listing)
            if not found[2].isdigit() or int(found[2]) not in history.versions:
                return Answer.text(404, f"Version {found[2]} of {found[1]} not found")
            return Answer.json(history.versions[int(found[2])])
        found = _STUDY.fullmatch(url_path.rstrip("/"))
        if found and params.get("history") == "true":
            history = by_id.get(found[1])
            if history is None:
                return Answer.text(404, f"Study {found[1]} not found")
            return Answer.json({"study": history.latest_study, "history": history.listing})
        return Answer.text(404, f"Not found: {url_path}")


def _nct(study: Mapping[str, Any]) -> str:
    return str(study["protocolSection"]["identificationModule"]["nctId"])


def history_of(studies: Sequence[dict[str, Any]], *, labels: Sequence[Sequence[str]] = ()) -> ServedHistory:
    """A history whose versions 0, 1, … are ``studies``: each entry's date is the study's
    lastUpdateSubmitDate and its status the study's overallStatus, as in the captured lists."""
    changes = []
    versions: dict[int, dict[str, Any]] = {}
    for number, study in enumerate(studies):
        status = study["protocolSection"]["statusModule"]
        changes.append(
            {
                "version": number,
                "date": status["lastUpdateSubmitDate"],
                "status": status["overallStatus"],
                "moduleLabels": list(labels[number]) if number < len(labels) else [],
            }
        )
        versions[number] = {"studyVersion": number, "study": study}
    return ServedHistory({"changes": changes}, versions)


# --- The captured answers and the built histories of tests/data/history ---


def captured(name: str) -> Any:
    """A captured answer of tests/data/history (a .json.gz file), parsed afresh."""
    return orjson.loads(gzip.decompress((DATA / name).read_bytes()))


@cache
def _real_records() -> dict[str, bytes]:
    """Every real study of the bundled records by `file` or `file#NCT id`, as JSON bytes."""
    root = real_data() / "ctgov"
    found: dict[str, bytes] = {}
    for path in sorted((root / "versions").glob("*.json")):
        found[f"data/ctgov/versions/{path.name}"] = path.read_bytes()
    for name in ("studies.jsonl", "other_studies.jsonl"):
        for line in (root / name).read_bytes().splitlines():
            if line.strip():
                found[f"data/ctgov/{name}#{_nct(orjson.loads(line))}"] = line
    return found


def _content(reference: str) -> dict[str, Any]:
    kind, _, where = reference.partition(":")
    if kind == "captured":
        body: dict[str, Any] = captured(where)
        return body
    if kind == "real-records":
        study: dict[str, Any] = orjson.loads(_real_records()[where])
        return {"study": study}
    raise ValueError(f"unknown content reference {reference!r} in built.json")


def built_history(nct_id: str) -> ServedHistory:
    """A history of tests/data/history/built.json: its list, and each version from real records."""
    spec = orjson.loads((DATA / "built.json").read_bytes())["histories"][nct_id]
    changes = []
    versions: dict[int, dict[str, Any]] = {}
    for entry in spec["versions"]:
        number = int(entry["version"])
        body = _content(entry["content"])
        versions[number] = {"studyVersion": number, "study": body["study"]}
        changes.append({key: entry[key] for key in ("version", "date", "status", "moduleLabels")})
    return ServedHistory({"changes": changes}, versions)


def built_ids() -> list[str]:
    """The NCT ids of the built histories."""
    return sorted(orjson.loads((DATA / "built.json").read_bytes())["histories"])


def real_study(reference: str) -> dict[str, Any]:
    """A real study of the bundled records ("data/ctgov/other_studies.jsonl#NCT04280705", a versions file)."""
    study: dict[str, Any] = orjson.loads(_real_records()[reference])
    return study


def serve_built(archive: HistoryArchive, nct_ids: Iterable[str] | None = None) -> None:
    """Serve the built histories (all of them by default)."""
    for nct_id in nct_ids if nct_ids is not None else built_ids():
        archive.add(nct_id, built_history(nct_id))
