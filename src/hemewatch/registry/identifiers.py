"""A study's ids in other registries and systems, read from its identification module (pure).

ClinicalTrials.gov records give the sponsor's own id (`orgStudyIdInfo`) and any number of secondary
ids (`secondaryIdInfos`: id, type, domain, link). The type says little in practice: EudraCT and EU CT
numbers are filed under EUDRACT_NUMBER, CTIS, REGISTRY, OTHER or no type at all, and ids are written
with prefixes ("EudraCT No: 2005-001678-28"). So each id is recognised by its shape first and by its
type second; the domain helps where the id alone is ambiguous ("10678756" under the domain "ISRCTN").

An EudraCT number (YYYY-NNNNNN-CC) and an EU CT number (YYYY-NNNNNN-CC-NN, given by CTIS since
2023) share their first part; EU CT numbers are numbered from 500000 on, so a number of that form
whose sequence is 500000 or more is an EU CT number even when the record drops its "-00" suffix or
files it as a EudraCT number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

EUDRACT: Final = "eudract"
EU_CT: Final = "eu-ct"
CHICTR: Final = "chictr"
JRCT: Final = "jrct"
ISRCTN: Final = "isrctn"
WHO_UTN: Final = "who-utn"
JAPIC: Final = "japic-cti"
UMIN: Final = "umin-ctr"
CTRI: Final = "ctri"
ANZCTR: Final = "anzctr"
DRKS: Final = "drks"
CRIS: Final = "cris"
PACTR: Final = "pactr"
NCT: Final = "nct"
NCI_CTRP: Final = "nci-ctrp"
NCI_PDQ: Final = "nci-pdq"
NIH_GRANT: Final = "nih-grant"
ID_RCB: Final = "id-rcb"
CHINA_DRUG: Final = "chinadrugtrials"
SNCTP: Final = "snctp"
FDA_IND: Final = "fda-ind"
GRANT: Final = "grant"
REGISTRY: Final = "registry"
SPONSOR: Final = "sponsor"
OTHER: Final = "other"

# What each scheme is called on a page.
LABELS: Final[Mapping[str, str]] = {
    EUDRACT: "EudraCT",
    EU_CT: "EU CT number",
    CHICTR: "ChiCTR",
    JRCT: "jRCT",
    ISRCTN: "ISRCTN",
    WHO_UTN: "WHO UTN",
    JAPIC: "JapicCTI",
    UMIN: "UMIN-CTR",
    CTRI: "CTRI",
    ANZCTR: "ANZCTR",
    DRKS: "DRKS",
    CRIS: "CRIS",
    PACTR: "PACTR",
    NCT: "ClinicalTrials.gov",
    NCI_CTRP: "NCI CTRP",
    NCI_PDQ: "NCI PDQ",
    NIH_GRANT: "NIH grant",
    ID_RCB: "ID-RCB",
    CHINA_DRUG: "ChinaDrugTrials",
    SNCTP: "SNCTP",
    FDA_IND: "FDA IND",
    GRANT: "Grant",
    REGISTRY: "Registry",
    SPONSOR: "Sponsor's id",
    OTHER: "Other id",
}

# Registries whose ids mean a trial record elsewhere: what a crosswalk between registries joins on.
REGISTRY_SCHEMES: Final = frozenset(
    {EUDRACT, EU_CT, CHICTR, JRCT, ISRCTN, JAPIC, UMIN, CTRI, ANZCTR, DRKS, CRIS, PACTR, NCT, SNCTP}
)

_ICTRP: Final = "https://trialsearch.who.int/Trial2.aspx?TrialID="
_EU_CTR_SEARCH: Final = "https://www.clinicaltrialsregister.eu/ctr-search/search?query="
_CTIS_VIEW: Final = "https://euclinicaltrials.eu/ctis-public/view/"
_NIH_REPORTER: Final = "https://reporter.nih.gov/quickSearch/"
_NCI_SEARCH: Final = "https://www.cancer.gov/research/participate/clinical-trials-search/v?id="
_CTGOV: Final = "https://clinicaltrials.gov/study/"


@dataclass(frozen=True, slots=True)
class Identifier:
    """One id of the study elsewhere: its scheme, the id in its usual form, and a link when one is known."""

    scheme: str
    value: str  # normalised: "2019-001234-56", "ChiCTR2000031234", "ISRCTN10678756"
    label: str  # the scheme's name, or for ids of no known scheme the record's domain when it gives one
    url: str | None  # the record in the other registry (or a search for it there)
    raw: str  # as the record writes it
    source: str  # "org_study_id" or "secondary_id"
    type: str | None = None  # the record's type (EUDRACT_NUMBER, REGISTRY, NIH, …)
    domain: str | None = None  # the record's domain ("CTIS (EU)", "Eli Lilly and Company", …)

    @property
    def is_registry(self) -> bool:
        """An id of a trial in another registry (not a grant, a sponsor's number or an ethics vote)."""
        return self.scheme in REGISTRY_SCHEMES

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "scheme": self.scheme,
            "value": self.value,
            "label": self.label,
            "url": self.url,
            "raw": self.raw,
            "source": self.source,
            "type": self.type,
            "domain": self.domain,
        }


@dataclass(frozen=True, slots=True)
class _Shape:
    scheme: str
    pattern: re.Pattern[str]


def _shape(scheme: str, pattern: str) -> _Shape:
    # Ids are found inside longer texts ("EudraCT No: 2005-001678-28"), never inside longer ids.
    return _Shape(scheme, re.compile(rf"(?<![A-Za-z0-9]){pattern}(?![A-Za-z0-9])", re.IGNORECASE))


# Most specific first; each pattern's group "id" is the id itself.
_SHAPES: Final = (
    _shape(EU_CT, r"(?P<id>(?:19|20)\d\d-5\d{5}-\d\d(?:-\d\d)?)"),
    _shape(EUDRACT, r"(?P<id>(?:19|20)\d\d-[0-4]\d{5}-\d\d)"),
    _shape(CHICTR, r"(?P<id>ChiCTR(?:-?[A-Z]{2,5}-?)?\d{8,10})"),
    _shape(JRCT, r"(?P<id>jRCT[a-z]?\d{9,10})"),
    _shape(ISRCTN, r"(?P<id>ISRCTN[\s:-]*\d{8})"),
    _shape(WHO_UTN, r"(?P<id>U1111-\d{4}-\d{4})"),
    _shape(JAPIC, r"(?P<id>JapicCTI-?\d{6})"),
    _shape(UMIN, r"(?P<id>UMIN\d{9})"),
    _shape(CTRI, r"(?P<id>CTRI/\d{4}/\d{2,3}/\d{6})"),
    _shape(ANZCTR, r"(?P<id>ACTRN\d{14})"),
    _shape(DRKS, r"(?P<id>DRKS\d{8})"),
    _shape(CRIS, r"(?P<id>KCT\d{7})"),
    _shape(PACTR, r"(?P<id>PACTR\d{15})"),
    _shape(NCT, r"(?P<id>NCT\d{8})"),
    _shape(NCI_CTRP, r"(?P<id>NCI-(?:19|20)\d\d-\d{5})"),
    _shape(NCI_PDQ, r"(?P<id>CDR\d{10})"),
    _shape(ID_RCB, r"(?P<id>(?:19|20)\d\d-A\d{5}-\d\d)"),
    _shape(CHINA_DRUG, r"(?P<id>CTR20\d{6})"),
    _shape(SNCTP, r"(?P<id>SNCTP\d{9})"),
)
# An NIH grant number: optional application type, activity code, institute, serial, optional year.
_NIH_GRANT: Final = re.compile(r"\d?[A-Z]\d{2}\s?[A-Z]{2}\s?\d{6}(?:-\d{2}[A-Z0-9]*)?")
# A domain that names a registry whose ids are bare numbers there ("10678756" under "ISRCTN").
_BARE_NUMBER_DOMAINS: Final = ((re.compile(r"\bISRCTN\b", re.IGNORECASE), ISRCTN, re.compile(r"\d{8}")),)
_SPACES: Final = re.compile(r"\s+")
_FDA_IND: Final = re.compile(r"\bIND\b")


def parse_identifiers(study: Mapping[str, Any]) -> list[Identifier]:
    """The study's other ids (sponsor's id first, then its secondary ids in the record's order), each once."""
    protocol = study.get("protocolSection") if isinstance(study, Mapping) else None
    ident = protocol.get("identificationModule") if isinstance(protocol, Mapping) else None
    if not isinstance(ident, Mapping):
        return []
    own = _text(ident.get("nctId"))
    found: list[Identifier] = []
    seen: set[tuple[str, str]] = set()
    for item in _entries(ident):
        if item.scheme == NCT and item.value == own:
            continue
        key = (item.scheme, item.value.casefold())
        if key not in seen:
            seen.add(key)
            found.append(item)
    return found


def _entries(ident: Mapping[str, Any]) -> Iterator[Identifier]:
    org = ident.get("orgStudyIdInfo")
    if isinstance(org, Mapping) and (raw := _text(org.get("id"))):
        yield recognise(
            raw, kind=_text(org.get("type")), domain=_text(org.get("domain")), source="org_study_id"
        )
    secondary = ident.get("secondaryIdInfos")
    for item in secondary if isinstance(secondary, list) else []:
        if isinstance(item, Mapping) and (raw := _text(item.get("id"))):
            yield recognise(
                raw,
                kind=_text(item.get("type")),
                domain=_text(item.get("domain")),
                link=_text(item.get("link")),
                source="secondary_id",
            )


def recognise(
    raw: str,
    *,
    kind: str | None = None,
    domain: str | None = None,
    link: str | None = None,
    source: str = "secondary_id",
) -> Identifier:
    """Type one id from its shape, then its record type and domain."""
    text = " ".join(raw.split())
    for scheme, value in _by_shape(text):
        return _make(scheme, value, raw, source, kind, domain, link)
    if domain:
        # A registry id written where the domain belongs ("Chinadrugtrials" | "CTR20231827").
        for scheme, value in _by_shape(domain):
            return _make(scheme, value, raw, source, kind, domain, link)
        for named, scheme, number in _BARE_NUMBER_DOMAINS:
            if named.search(domain) and number.fullmatch(text):
                return _make(scheme, _normalise(scheme, text), raw, source, kind, domain, link)
    if _NIH_GRANT.fullmatch(text):
        return _make(NIH_GRANT, _SPACES.sub("", text).upper(), raw, source, kind, domain, link)
    if kind == "NIH":
        return _make(NIH_GRANT, text, raw, source, kind, domain, link)
    if domain and _FDA_IND.search(domain) and text.isdigit():
        return _make(FDA_IND, text, raw, source, kind, domain, link)
    scheme = {
        "FDA": FDA_IND,
        "OTHER_GRANT": GRANT,
        "REGISTRY": REGISTRY,
        "EUDRACT_NUMBER": EUDRACT,
        "CTIS": EU_CT,
    }.get(kind or "", SPONSOR if source == "org_study_id" else OTHER)
    return _make(scheme, text, raw, source, kind, domain, link, shaped=False)


def _by_shape(text: str) -> Iterator[tuple[str, str]]:
    for shape in _SHAPES:
        match = shape.pattern.search(text)
        if match:
            yield shape.scheme, _normalise(shape.scheme, match.group("id"))


def _normalise(scheme: str, value: str) -> str:
    compact = re.sub(r"[\s:]+", "", value)
    if scheme == CHICTR:
        return "ChiCTR" + compact[6:].upper()
    if scheme == JRCT:
        return "jRCT" + compact[4:].lower()
    if scheme == ISRCTN:
        return "ISRCTN" + re.sub(r"\D", "", compact)
    if scheme == JAPIC:
        return "JapicCTI-" + compact[-6:]
    if scheme in (EUDRACT, EU_CT, CTRI, NCI_CTRP, WHO_UTN):
        return compact.upper()
    return compact.upper() if compact.isascii() else compact


def _make(
    scheme: str,
    value: str,
    raw: str,
    source: str,
    kind: str | None,
    domain: str | None,
    link: str | None,
    *,
    shaped: bool = True,
) -> Identifier:
    label = LABELS[scheme]
    if scheme in (REGISTRY, OTHER, GRANT, SPONSOR) and domain:
        label = domain
    return Identifier(
        scheme=scheme,
        value=value,
        label=label,
        url=_url(scheme, value, link) if shaped or scheme == NIH_GRANT else _safe_link(link),
        raw=raw,
        source=source,
        type=kind,
        domain=domain,
    )


def _url(scheme: str, value: str, link: str | None) -> str | None:
    """Where the id can be looked up: the registry's own page or search, else the WHO trial search."""
    if scheme == EUDRACT:
        return _EU_CTR_SEARCH + quote(value)
    if scheme == EU_CT:
        full = value if value.count("-") == 3 else f"{value}-00"
        return _CTIS_VIEW + quote(full)
    if scheme == ISRCTN:
        return "https://www.isrctn.com/" + quote(value)
    if scheme == NCT:
        return _CTGOV + quote(value)
    if scheme == NCI_CTRP:
        return _NCI_SEARCH + quote(value)
    if scheme == NIH_GRANT:
        return _safe_link(link) or _NIH_REPORTER + quote(value)
    if scheme in (CHICTR, JRCT, CTRI, ANZCTR, DRKS, CRIS, PACTR, JAPIC, UMIN):
        return _ICTRP + quote(value, safe="")
    return _safe_link(link)


def _safe_link(link: str | None) -> str | None:
    """A link the record gives, only when it is a plain web address."""
    if link and re.fullmatch(r"https?://[^\s\"'<>]+", link):
        return link
    return None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def scheme_counts(studies: Iterator[Mapping[str, Any]] | list[Mapping[str, Any]]) -> dict[str, int]:
    """How many studies carry at least one id of each scheme."""
    counts: dict[str, int] = {}
    for study in studies:
        for scheme in {item.scheme for item in parse_identifiers(study)}:
            counts[scheme] = counts.get(scheme, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
