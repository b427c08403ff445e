"""A trial's record history: its past versions, read from the ClinicalTrials.gov website's internal API.

The registry's site shows every version of a record ("History of Changes") from two endpoints of
its internal API, which is not the documented Data API v2 and may change without notice:

- ``GET {int}/studies/{nct}/history``: the list of versions, ``{"changes": [{"version": 0,
  "date": "2020-02-20", "status": "NOT_YET_RECRUITING", "moduleLabels": [...]}, ...], ...}``
  (numbered from 0 = the registration; ``date`` is the day the version was submitted). The same
  list is the ``history`` member of ``GET {int}/studies/{nct}?history=true``.
- ``GET {int}/studies/{nct}/history/{n}``: one version, ``{"studyVersion": n, "study": {...}}``,
  where ``study`` is a v2 study object of that version (no ``derivedSection``).

``{int}`` is the Data API's base URL with its trailing ``/api/v2`` replaced by ``/api/int``. Each
answer is checked before use: an unknown shape raises RecordHistoryChanged naming what was
expected and what came, so nothing half-understood is stored. The site writes text as HTML
(``<p>``, ``<ul><li>``, ``&#x2F;``) where the Data API writes Markdown; `site_text` turns it into
the Data API's form, so a historical version compares with the versions the sync stored.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from typing import Any

from hemewatch.errors import (
    ConfigurationError,
    HemewatchError,
    RecordHistoryChanged,
    RecordHistoryNotFound,
)
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.records import StudyRecord, normalise_nct_id, parse_study

DATA_API_SUFFIX = "/api/v2"
INTERNAL_API_SUFFIX = "/api/int"
_SHOWN = 160  # characters of an unexpected value quoted in an error message


@dataclass(frozen=True, slots=True)
class ListedVersion:
    """One entry of a trial's record history, as the list gives it."""

    version: int  # 0 is the registration
    date: date  # the day the version was submitted
    status: str | None  # the trial's overall status in that version
    module_labels: tuple[str, ...]  # the record's modules that version changed ("Study Status", …)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "version": self.version,
            "date": self.date.isoformat(),
            "status": self.status,
            "module_labels": list(self.module_labels),
        }


@dataclass(frozen=True)
class RecordHistory:
    """A trial's record history: every version the registry lists, oldest first."""

    nct_id: str
    versions: tuple[ListedVersion, ...]


def internal_api_base(data_api_base: str) -> str:
    """The internal API's base URL for a Data API base URL ("…/api/v2" -> "…/api/int")."""
    base = data_api_base.rstrip("/")
    if not base.endswith(DATA_API_SUFFIX):
        raise ConfigurationError(
            f"The record history is read from the registry's site beside its Data API, which needs "
            f"registry_url to end in {DATA_API_SUFFIX} (as https://clinicaltrials.gov{DATA_API_SUFFIX} "
            f"does); {data_api_base!r} does not."
        )
    return base[: -len(DATA_API_SUFFIX)] + INTERNAL_API_SUFFIX


def history_url(client: RegistryClient, nct_id: str) -> str:
    """The address of a trial's list of versions."""
    return f"{internal_api_base(client.base_url)}/studies/{normalise_nct_id(nct_id)}/history"


def version_url(client: RegistryClient, nct_id: str, version: int) -> str:
    """The address of one version of a trial's record."""
    return f"{history_url(client, nct_id)}/{version}"


def fetch_history(client: RegistryClient, nct_id: str) -> RecordHistory:
    """List a trial's versions; RecordHistoryNotFound for a 404, RecordHistoryChanged for an unknown shape."""
    nct = normalise_nct_id(nct_id)
    body = client.get_json(
        history_url(client, nct),
        not_found=RecordHistoryNotFound(f"ClinicalTrials.gov has no record history for {nct}."),
    )
    return parse_history(nct, body)


def fetch_version(client: RegistryClient, nct_id: str, version: int) -> StudyRecord:
    """One version of a trial's record, with its text in the Data API's form."""
    nct = normalise_nct_id(nct_id)
    body = client.get_json(
        version_url(client, nct, version),
        not_found=RecordHistoryNotFound(
            f"ClinicalTrials.gov has no version {version} in the record history of {nct}."
        ),
    )
    return parse_version(nct, version, body)


def parse_history(nct_id: str, body: object) -> RecordHistory:
    """Check and read a list of versions (the list itself, or a study answer with a `history` member)."""
    where = f"the record history of {nct_id}"
    if isinstance(body, dict) and "changes" not in body and isinstance(body.get("history"), dict):
        body = body["history"]
    if not isinstance(body, dict):
        raise _changed(where, "a JSON object with a `changes` list", body)
    changes = body.get("changes")
    if not isinstance(changes, list) or not changes:
        raise _changed(where, "a non-empty `changes` list", changes)
    versions: dict[int, ListedVersion] = {}
    for index, change in enumerate(changes):
        listed = _listed_version(f"{where}, changes[{index}]", change)
        if listed.version in versions:
            raise _changed(where, "each version listed once", f"version {listed.version} twice")
        versions[listed.version] = listed
    return RecordHistory(nct_id, tuple(versions[number] for number in sorted(versions)))


def _listed_version(where: str, change: object) -> ListedVersion:
    if not isinstance(change, dict):
        raise _changed(where, "an object", change)
    number = change.get("version")
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise _changed(where, "`version`: a whole number from 0", number)
    posted = change.get("date")
    try:
        day = date.fromisoformat(posted) if isinstance(posted, str) and len(posted) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise _changed(where, "`date`: a date as YYYY-MM-DD", posted)
    status = change.get("status")
    if status is not None and not (isinstance(status, str) and status and len(status) <= 40):
        raise _changed(where, "`status`: a status code such as RECRUITING", status)
    labels = change.get("moduleLabels", [])
    if labels is None:
        labels = []
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise _changed(where, "`moduleLabels`: a list of module names", labels)
    return ListedVersion(number, day, status, tuple(labels))


def parse_version(nct_id: str, version: int, body: object) -> StudyRecord:
    """Check and read one version: its study object, with the site's HTML text in the Data API's form."""
    where = f"version {version} of the record history of {nct_id}"
    if not isinstance(body, dict):
        raise _changed(where, 'a JSON object {"studyVersion": …, "study": {…}}', body)
    number = body.get("studyVersion", version)
    if number != version or isinstance(number, bool):
        raise _changed(where, f"`studyVersion`: {version}", number)
    study = body.get("study")
    if not isinstance(study, dict):
        raise _changed(where, "`study`: a v2 study object", study)
    try:
        record = parse_study(site_study(study))
    except HemewatchError as exc:
        raise RecordHistoryChanged(
            f"ClinicalTrials.gov answered {where} with a study hemewatch cannot read: {exc.message}"
        ) from None
    if record.nct_id != nct_id:
        raise _changed(where, f"`study`: a version of {nct_id}", record.nct_id)
    return record


def _changed(where: str, expected: str, got: object) -> RecordHistoryChanged:
    shown = repr(got)
    if len(shown) > _SHOWN:
        shown = shown[: _SHOWN - 1] + "…"
    return RecordHistoryChanged(
        f"ClinicalTrials.gov answered {where} in an unknown shape: expected {expected}, got {shown}. "
        "The record-history endpoints are the registry website's own and have changed; nothing was "
        "stored from this answer."
    )


# --- The site's HTML text, in the Data API's Markdown form ---

# The tags the site writes into text; any other "<" in its text is escaped as &lt;.
_TAG = re.compile(
    r"</?(?:p|div|br|ul|ol|li|em|strong|b|i|u|s|sup|sub|mark|span|a|code|pre|blockquote|h[1-6]"
    r"|table|thead|tbody|tr|td|th)\b[^<>]*>",
    re.IGNORECASE,
)
# Character references with their semicolon (the site always writes one).
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def site_study(value: Any) -> Any:
    """A copy of a study object with every text in the Data API's form (see `site_text`)."""
    if isinstance(value, str):
        return site_text(value)
    if isinstance(value, dict):
        return {key: site_study(member) for key, member in value.items()}
    if isinstance(value, list):
        return [site_study(item) for item in value]
    return value


def site_text(text: str) -> str:
    """The site's text as the Data API writes it: entities decoded, HTML lists and paragraphs as Markdown.

    ``<p>Inclusion Criteria:</p><ol><li>Adults &gt;&#x2F;= 18</li></ol>`` becomes
    ``Inclusion Criteria:\\n\\n1. Adults >/= 18``. Text without markup or references is unchanged.
    """
    if "<" in text and _TAG.search(text):
        return _Markdown.convert(text)
    if "&" in text:
        return _ENTITY.sub(lambda found: html.unescape(found.group(0)), text)
    return text


class _Markdown(HTMLParser):
    """Paragraphs, line breaks and (nested, numbered) lists to Markdown; other tags dropped, text kept."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._text = ""
        self._lists: list[list[int]] = []  # per open list: [next number], or [0] for bullets
        self._after_marker = False  # a list item's marker was just written

    @classmethod
    def convert(cls, text: str) -> str:
        parser = cls()
        parser.feed(text)
        parser.close()
        joined = _TRAILING_SPACE.sub("\n", parser._text)
        return _BLANK_LINES.sub("\n\n", joined).strip()

    def _break(self, *, blank: bool) -> None:
        """End the current line (and leave a blank one) unless that is done already."""
        if self._after_marker or not self._text.strip():
            return
        body = self._text.rstrip(" \t\n")
        have = self._text[len(body) :].count("\n")
        self._text = body + "\n" * max(2 if blank else 1, have)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._text += "\n"
        elif tag in ("ul", "ol"):
            self._break(blank=not self._lists)
            self._lists.append([1 if tag == "ol" else 0])
        elif tag == "li":
            self._break(blank=False)
            counter = self._lists[-1] if self._lists else [0]
            marker = f"{counter[0]}." if counter[0] else "*"
            counter[0] += 1 if counter[0] else 0
            self._text += "   " * max(len(self._lists) - 1, 0) + marker + " "
            self._after_marker = True
            return
        elif _BLOCK.fullmatch(tag):
            self._break(blank=not self._lists)
        self._after_marker = self._after_marker and tag not in ("br", "ul", "ol")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
            self._break(blank=not self._lists)
        elif tag == "li":
            self._break(blank=False)
        elif _BLOCK.fullmatch(tag):
            self._break(blank=not self._lists)

    def handle_data(self, data: str) -> None:
        if self._after_marker:
            data = data.lstrip()
            if not data:
                return
            self._after_marker = False
        self._text += data


_BLOCK = re.compile(r"p|div|blockquote|pre|table|tr|h[1-6]")
