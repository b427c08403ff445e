"""The parser's criteria (text.criteria_texts) are the lines history compares, read the same way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from hemewatch import text as t
from hemewatch.text import criteria_lines, criteria_texts


def _line_by_line(text: str) -> Iterator[tuple[str, str, str]]:
    """The criteria as first read: each line unescaped on its own, kept when its loose form is not empty."""
    section = "criteria"
    for raw in text.splitlines():
        display = " ".join(t._MARKDOWN_ESCAPE.sub(r"\1", raw).split())
        if not display:
            continue
        header = t._SECTION_HEADER.match(display)
        if header:
            section = header.group(1).lower()
            continue
        display = t._BULLET.sub("", display)
        form = t.loose(display)
        if form:
            yield section, display, form


# Lines of markup, escapes, bullets, line breaks of every kind, and characters whose case folding is
# not one letter for one letter ("İ", "ß", the combining iota that folds to a letter).
PIECES = st.sampled_from(
    [
        "Inclusion Criteria:",
        "exclusion criteria",
        "Key Inclusion Criteria",
        "* ",
        "- ",
        "1. ",
        "(a) ",
        "\\",
        "\\*",
        "\\-",
        "\\\\",
        "_",
        "AML",
        "age ≥ 18",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\x0b",
        "\x1c",
        "\u2028",
        "\u00a0",
        "İ",
        "ß",
        "\u0345",
        "•",
        "--",
        "...",
    ]
)


@settings(max_examples=400)
@given(text=st.lists(PIECES, max_size=25).map("".join))
def test_the_criteria_are_the_lines_read_one_by_one(text: str) -> None:
    expected = list(_line_by_line(text))
    assert list(criteria_lines(text)) == expected
    assert list(criteria_texts(text)) == [(section, display) for section, display, _ in expected]


def test_a_line_of_signs_alone_is_no_criterion() -> None:
    text = "Inclusion Criteria:\n* ---\n* \\*\\*\n* \u0345\n* AML"
    # The combining iota has no letter, but folds to one: its loose form is not empty.
    assert list(criteria_texts(text)) == [("inclusion", "\u0345"), ("inclusion", "AML")]


def test_real_criteria_are_read_as_line_by_line(real_records: Path) -> None:
    compared = 0
    for name in ("studies.jsonl", "other_studies.jsonl"):
        for line in (real_records / "ctgov" / name).read_bytes().splitlines():
            study = orjson.loads(line)
            text = study["protocolSection"].get("eligibilityModule", {}).get("eligibilityCriteria")
            if text:
                assert list(criteria_lines(text)) == list(_line_by_line(text))
                compared += 1
    assert compared > 1000
