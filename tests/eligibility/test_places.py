"""Places resolved offline from the bundled gazetteer, and great-circle distances."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hemewatch.eligibility.places import UnknownPlace, country_code, distance_km, resolve_place
from hemewatch.errors import InvalidFilterValue


@pytest.mark.parametrize("written", ["Houston", "Houston, Texas", "houston, tx", "  Houston ,  TEXAS "])
def test_houston_in_every_spelling(written: str) -> None:
    place = resolve_place(written)
    assert place.name == "Houston, Texas, United States"
    assert place.latitude == pytest.approx(29.76, abs=0.01) and place.longitude == pytest.approx(
        -95.36, abs=0.01
    )


def test_ambiguity_is_resolved_by_country_then_population() -> None:
    assert resolve_place("Paris").country == "France"  # the most populous Paris
    assert resolve_place("Paris, France").name == "Paris, France"
    assert resolve_place("Paris, Texas").name == "Paris, Texas, United States"
    assert resolve_place("Paris", country="United States").name.endswith("United States")
    assert resolve_place("Paris", country="USA").name.endswith("United States")


def test_coordinates_are_taken_as_given() -> None:
    place = resolve_place("48.85, 2.35")
    assert (place.latitude, place.longitude) == (48.85, 2.35)
    assert resolve_place("-33.9;18.4").latitude == -33.9


def test_an_unknown_place_is_refused_with_suggestions() -> None:
    with pytest.raises(UnknownPlace) as raised:
        resolve_place("Houstn")
    assert "Houston, Texas, United States" in raised.value.suggestions
    assert "Did you mean" in raised.value.message and "coordinates" in raised.value.message
    assert isinstance(raised.value, InvalidFilterValue)  # a 422 on the web, exit 2 on the command line
    with pytest.raises(UnknownPlace) as qualified:
        resolve_place("Houston, France")
    assert qualified.value.suggestions[0] == "Houston, Texas, United States"
    with pytest.raises(UnknownPlace):
        resolve_place("91, 10")  # no such latitude


def test_other_spellings_are_found() -> None:
    assert resolve_place("Munchen").name == "Munich, Germany"


def test_known_distances() -> None:
    houston, paris = resolve_place("Houston"), resolve_place("Paris, France")
    assert distance_km(houston.latitude, houston.longitude, paris.latitude, paris.longitude) == pytest.approx(
        8_080, rel=0.01
    )
    # A quarter of the equator.
    assert distance_km(0, 0, 0, 90) == pytest.approx(10_007.5, rel=0.001)


def test_country_codes() -> None:
    assert country_code("United States") == "US"
    assert country_code("Korea, Republic of") == "KR"
    assert country_code("france") == "FR"
    assert country_code("Atlantis") is None


coordinate = st.tuples(st.floats(-90, 90), st.floats(-180, 180))


@given(a=coordinate, b=coordinate)
def test_distance_is_symmetric_and_bounded(a: tuple[float, float], b: tuple[float, float]) -> None:
    there = distance_km(*a, *b)
    assert there == pytest.approx(distance_km(*b, *a), abs=1e-6)
    assert 0 <= there <= 20_016
    assert distance_km(*a, *a) == pytest.approx(0, abs=1e-6)
