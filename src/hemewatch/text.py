"""Registry text made comparable: folded names, loose wording, eligibility criteria as lines.

Shared by the pure core (history diffs criteria line by line, eligibility reads facts from the same
lines, the trial page shows them), so it sits below all three and imports nothing of hemewatch.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_NON_WORD = re.compile(r"[\W_]+")
_WORD_CHAR = re.compile(r"[^\W_]")
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
_BULLET = re.compile(r"^\s*(?:[*\-•·+]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+", re.IGNORECASE)
_SECTION_HEADER = re.compile(r"^(?:key\s+)?(inclusion|exclusion)\s+criteria\s*:?$", re.IGNORECASE)


def fold(text: object) -> str:
    """Case- and whitespace-insensitive form of a name (facility, city, label)."""
    return " ".join(str(text or "").split()).casefold()


def loose(text: object) -> str:
    """Form that ignores case, punctuation, Markdown escapes and spacing: equal means same wording."""
    unescaped = _MARKDOWN_ESCAPE.sub(r"\1", str(text or ""))
    return _NON_WORD.sub(" ", unescaped.casefold()).strip()


def criteria_lines(text: str) -> Iterator[tuple[str, str, str]]:
    """Each eligibility criterion as (section, display text, loose form), headers consumed."""
    for section, display in criteria_texts(text):
        yield section, display, loose(display)


def criteria_texts(text: str) -> Iterator[tuple[str, str]]:
    """Each eligibility criterion as (section, display text): criteria_lines without the loose forms."""
    section = "criteria"
    # An escape never spans a line break, so the whole text is unescaped at once.
    for raw in _MARKDOWN_ESCAPE.sub(r"\1", text).splitlines():
        display = " ".join(raw.split())
        if not display:
            continue
        header = _SECTION_HEADER.match(display)
        if header:
            # A criterion moved from exclusion to inclusion is an amendment, so lines keep their section.
            section = header.group(1).lower()
            continue
        bullet = _BULLET.match(display)
        if bullet:
            display = display[bullet.end() :]
        # A line with a letter or digit has a loose form; only one without needs it to tell.
        if _WORD_CHAR.search(display) or loose(display):
            yield section, display
