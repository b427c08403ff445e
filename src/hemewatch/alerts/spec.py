"""What a tracker asks for (filters, events, cadence, channels) and its validation."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Final
from urllib.parse import urlsplit

from hemewatch.alerts.errors import InvalidTracker
from hemewatch.errors import InvalidFilterValue, InvalidNctId
from hemewatch.history import EventType
from hemewatch.registry.records import normalise_nct_id
from hemewatch.storage.catalog import TrialQuery
from hemewatch.vocabulary import parse

CADENCES: Final = ("immediate", "daily", "weekly")
MIN_SEVERITIES: Final = ("critical", "notable", "minor")
EVENT_TYPES: Final = tuple(t.value for t in EventType)
# Tag dimensions, in the order they are shown; each is a tuple field of TrackerSpec.
TAG_DIMENSIONS: Final = ("diseases", "modalities", "targets", "settings", "populations", "agents")
LIST_FILTERS: Final = (*TAG_DIMENSIONS, "phases", "statuses", "countries", "nct_ids")
SINGULAR: Final = {
    "diseases": "disease",
    "modalities": "modality",
    "targets": "target",
    "settings": "setting",
    "populations": "population",
    "agents": "agent",
    "phases": "phase",
    "statuses": "status",
    "countries": "country",
    "nct_ids": "nct_id",
}

_EMAIL = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class TrackerSpec:
    """A tracker as a person sets it up; empty filters do not filter, values within one are alternatives."""

    name: str
    email: str
    diseases: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()  # line of therapy: newly diagnosed, relapsed/refractory, MRD-positive…
    populations: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    sponsor: str | None = None  # case-insensitive part of the lead sponsor's name
    text: str | None = None  # matched as the search text `q` (lexicon names, title, sponsor, conditions…)
    nct_ids: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()  # empty: every alertable event type
    min_severity: str = "minor"
    cadence: str = "daily"
    email_enabled: bool = True
    webhook_url: str | None = None
    apprise_urls: tuple[str, ...] = ()
    feed_enabled: bool = True

    def criteria_dict(self) -> dict[str, Any]:
        """The filter part, as stored in the trackers.criteria column."""
        stored = {name: list(getattr(self, name)) for name in LIST_FILTERS}
        return {
            **stored,
            "sponsor": self.sponsor,
            "text": self.text,
            "event_types": list(self.event_types),
            "min_severity": self.min_severity,
        }

    @property
    def has_filters(self) -> bool:
        """False when the tracker follows every trial in scope."""
        return any(getattr(self, name) for name in LIST_FILTERS) or bool(self.sponsor or self.text)

    def to_trial_query(self, *, limit: int | None = 100) -> TrialQuery:
        """The catalog query for the trials this tracker follows (for pages that list them)."""
        return TrialQuery(
            disease=self.diseases,
            modality=self.modalities,
            target=self.targets,
            setting=self.settings,
            population=self.populations,
            agent=self.agents,
            phase=self.phases,
            status=self.statuses,
            country=self.countries,
            sponsor=self.sponsor,
            text=self.text,
            nct_ids=self.nct_ids,
            limit=limit,
        )


def spec_from_stored(
    *, name: str, email: str, criteria: dict[str, Any], cadence: str, channels: dict[str, Any]
) -> TrackerSpec:
    """Rebuild a spec from its stored columns (values were validated when stored)."""
    lists = {key: tuple(criteria.get(key) or ()) for key in LIST_FILTERS}
    return TrackerSpec(
        name=name,
        email=email,
        sponsor=criteria.get("sponsor"),
        text=criteria.get("text"),
        event_types=tuple(criteria.get("event_types") or ()),
        min_severity=criteria.get("min_severity") or "minor",
        cadence=cadence,
        email_enabled=bool(channels["email_enabled"]),
        webhook_url=channels.get("webhook_url"),
        apprise_urls=tuple(channels.get("apprise_urls") or ()),
        feed_enabled=bool(channels["feed_enabled"]),
        **lists,
    )


def validate_spec(spec: TrackerSpec) -> TrackerSpec:
    """Return the spec trimmed and in canonical spelling, or raise InvalidTracker naming every problem."""
    problems: list[str] = []
    name = " ".join(spec.name.split())
    if not name or len(name) > 120 or _CONTROL.search(spec.name):
        problems.append("the name must be 1 to 120 printable characters")
    email = spec.email.strip()
    if not _EMAIL.match(email) or len(email) > 320:
        problems.append(f"{spec.email!r} is not an e-mail address")
    cleaned: dict[str, Any] = {"name": name, "email": email}
    for dimension in (*TAG_DIMENSIONS, "phases", "statuses"):
        cleaned[dimension] = _canonical(getattr(spec, dimension), SINGULAR[dimension], problems)
    cleaned["countries"] = _unique(" ".join(c.split()) for c in spec.countries)
    cleaned["nct_ids"] = _nct_ids(spec.nct_ids, problems)
    cleaned["sponsor"] = _optional_text(spec.sponsor)
    cleaned["text"] = _optional_text(spec.text)
    cleaned["event_types"] = _choices(spec.event_types, "event type", EVENT_TYPES, str.lower, problems)
    if spec.min_severity not in MIN_SEVERITIES:
        problems.append(f"minimum severity {spec.min_severity!r} is not one of {', '.join(MIN_SEVERITIES)}")
    if spec.cadence not in CADENCES:
        problems.append(f"cadence {spec.cadence!r} is not one of {', '.join(CADENCES)}")
    cleaned["webhook_url"] = _webhook_url(spec.webhook_url, problems)
    cleaned["apprise_urls"] = _apprise_urls(spec.apprise_urls, problems)
    if problems:
        raise InvalidTracker("Invalid tracker: " + "; ".join(problems) + ".")
    return replace(spec, **cleaned)


def _unique(values: Any) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        if value:
            seen.setdefault(value.casefold(), value)
    return tuple(seen.values())


def _canonical(values: tuple[str, ...], dimension: str, problems: list[str]) -> tuple[str, ...]:
    """Each value in its canonical spelling (hemewatch.vocabulary); unknown ones become problems."""
    out = []
    for raw in values:
        if not raw.strip():
            continue
        try:
            out.append(parse(dimension, raw))
        except InvalidFilterValue as exc:
            problems.append(exc.message)
    return tuple(dict.fromkeys(out))


def _choices(
    values: tuple[str, ...], what: str, allowed: tuple[str, ...], normalise: Any, problems: list[str]
) -> tuple[str, ...]:
    out = []
    for raw in values:
        if not raw.strip():
            continue
        code = normalise(raw.strip())
        if code in allowed:
            out.append(code)
        else:
            problems.append(f"unknown {what} {raw!r} (one of {', '.join(allowed)})")
    return tuple(dict.fromkeys(out))


def _nct_ids(values: tuple[str, ...], problems: list[str]) -> tuple[str, ...]:
    out = []
    for raw in values:
        try:
            out.append(normalise_nct_id(raw))
        except InvalidNctId:
            problems.append(f"{raw!r} is not an NCT id (NCT followed by eight digits)")
    return tuple(dict.fromkeys(out))


def _optional_text(value: str | None) -> str | None:
    if value is None:
        return None
    flat = " ".join(value.split())
    return flat or None


def _webhook_url(value: str | None, problems: list[str]) -> str | None:
    if value is None or not value.strip():
        return None
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        problems.append(f"webhook {url!r} is not an http:// or https:// URL")
    return url


def _apprise_urls(values: tuple[str, ...], problems: list[str]) -> tuple[str, ...]:
    from apprise import Apprise  # imported here: loading its plugins takes a moment

    out = []
    for raw in values:
        url = raw.strip()
        if not url:
            continue
        if Apprise.instantiate(url) is None:
            problems.append(
                f"Apprise URL {url!r} is not recognised (see https://github.com/caronc/apprise/wiki)"
            )
        out.append(url)
    return tuple(dict.fromkeys(out))
