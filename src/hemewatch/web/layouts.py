"""Disease page layouts: a YAML data file, validated against the lexicons when loaded."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hemewatch.classification.lexicon import Lexicon, default_lexicon
from hemewatch.errors import HemewatchError
from hemewatch.registry.vocabulary import OverallStatus as Status
from hemewatch.registry.vocabulary import Phase
from hemewatch.storage.catalog import SortKey
from hemewatch.web.filters import TrialFilters

LAYOUT_FILE: Final = "disease_pages.yaml"
_SLUG: Final = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class PageLayoutError(HemewatchError):
    """The disease page layout file is invalid."""


class LayoutFilters(BaseModel):
    """Filters in the layout file: tag values as the lexicons spell them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    disease: list[str] = []
    modality: list[str] = []
    target: list[str] = []
    setting: list[str] = []
    population: list[str] = []
    agent: list[str] = []
    phase: list[Phase] = []
    status: list[Status] = []

    def to_filters(self) -> TrialFilters:
        """As search filters."""
        return TrialFilters.model_validate(self.model_dump())


class Source(BaseModel):
    """A published review an "about" text draws on, cited by what identifies it (never a local file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=300)
    authors: str | None = Field(default=None, max_length=200)
    published: str = Field(min_length=1, max_length=160, description="Journal or venue and year.")
    doi: str | None = Field(default=None, pattern=r"^10\.\d{4,9}/\S+$")
    url: str | None = Field(default=None, pattern=r"^https://\S+$")

    @model_validator(mode="after")
    def _findable(self) -> Source:
        if self.doi is None and self.url is None:
            raise ValueError(f"source {self.title!r} needs a doi or a url")
        return self

    @property
    def link(self) -> str:
        """Where a reader finds it: the DOI resolver, else the URL."""
        return f"https://doi.org/{self.doi}" if self.doi else str(self.url)


class About(BaseModel):
    """What a newcomer reads first: the disease, its subtypes, the questions its trials ask now."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: list[str] = Field(min_length=1)
    subtypes: list[str] = Field(min_length=1)
    questions: list[str] = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)


class Section(BaseModel):
    """One table on a disease page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_SLUG)
    title: str = Field(min_length=1, max_length=120)
    note: str | None = Field(default=None, max_length=400)
    filters: LayoutFilters = LayoutFilters()
    sort: SortKey = "last_update"
    recent: bool = False
    limit: int = Field(default=15, ge=1, le=100)


class DiseasePage(BaseModel):
    """A disease page: what it is about, its sections and the pages it links to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=120)
    summary: str = Field(min_length=1, max_length=600)
    about: About | None = None
    filters: LayoutFilters
    related: list[str] = []
    sections: list[Section] = Field(min_length=1)

    def section_filters(self, section: Section, status: Sequence[Status] = ()) -> TrialFilters | None:
        """The page's filters with the section's replacing those of the same kind, narrowed to `status`.

        None when the chosen statuses and the section's own have nothing in common (an "active"
        section asked for completed trials lists nothing rather than ignoring either).
        """
        base = self.filters.to_filters().merged(section.filters.to_filters())
        if status:
            own = base.status
            narrowed = [s for s in status if s in own] if own else list(status)
            if not narrowed:
                return None
            base = base.model_copy(update={"status": narrowed})
        if section.recent:
            return base.model_copy(update={"sort": "last_change", "order": "desc"})
        return base.model_copy(update={"sort": section.sort})


class _LayoutFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definitions: dict[str, Any] = {}
    pages: list[DiseasePage] = Field(min_length=1)


@dataclass(frozen=True)
class DiseasePages:
    """Every disease page, by slug, in file order."""

    pages: Mapping[str, DiseasePage]

    def __iter__(self) -> Iterator[DiseasePage]:
        return iter(self.pages.values())

    def get(self, slug: str) -> DiseasePage | None:
        """The page with this slug, or None."""
        return self.pages.get(slug)


def _lexicon_values(lexicon: Lexicon) -> dict[str, frozenset[str]]:
    return {
        "disease": frozenset(lexicon.diseases),
        "modality": frozenset(lexicon.modalities),
        "target": frozenset(lexicon.targets),
        "setting": frozenset(lexicon.settings),
        "population": frozenset(lexicon.populations),
        "agent": frozenset(lexicon.agents),
    }


def _check(pages: list[DiseasePage], lexicon: Lexicon) -> list[str]:
    problems: list[str] = []
    slugs = [page.slug for page in pages]
    problems += [
        f"page {slug!r} is defined twice" for slug in sorted({s for s in slugs if slugs.count(s) > 1})
    ]
    known = _lexicon_values(lexicon)
    for page in pages:
        for related in page.related:
            if related not in slugs or related == page.slug:
                problems.append(f"page {page.slug!r}: related page {related!r} does not exist")
        ids = [section.id for section in page.sections]
        problems += [
            f"page {page.slug!r}: section {i!r} is defined twice"
            for i in sorted(set(ids))
            if ids.count(i) > 1
        ]
        for where, filters in [
            ("filters", page.filters),
            *((f"section {s.id!r}", s.filters) for s in page.sections),
        ]:
            for kind, values in known.items():
                for value in getattr(filters, kind):
                    if value not in values:
                        problems.append(f"page {page.slug!r}, {where}: unknown {kind} {value!r}")
    return problems


def parse_disease_pages(raw: Any, *, source: str, lexicon: Lexicon | None = None) -> DiseasePages:
    """Validate a parsed layout document; raise PageLayoutError naming every problem."""
    try:
        document = _LayoutFile.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise PageLayoutError(f"{source} is invalid: " + "; ".join(problems)) from exc
    problems = _check(document.pages, lexicon or default_lexicon())
    if problems:
        raise PageLayoutError(f"{source} is invalid: " + "; ".join(problems))
    return DiseasePages({page.slug: page for page in document.pages})


def load_disease_pages(path: Path | None = None, *, lexicon: Lexicon | None = None) -> DiseasePages:
    """Load and validate the layout file (default: the one bundled with hemewatch)."""
    if path is None:
        return _bundled_pages() if lexicon is None else _parse_text(_bundled_text(), LAYOUT_FILE, lexicon)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise PageLayoutError(f"Cannot read the disease page layouts {path}: {exc.strerror}") from exc
    return _parse_text(text, str(path), lexicon)


def _bundled_text() -> str:
    return resources.files("hemewatch.web").joinpath(LAYOUT_FILE).read_text("utf-8")


@cache
def _bundled_pages() -> DiseasePages:
    return _parse_text(_bundled_text(), LAYOUT_FILE, None)


def _parse_text(text: str, source: str, lexicon: Lexicon | None) -> DiseasePages:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PageLayoutError(f"{source} is not valid YAML: {exc}") from exc
    return parse_disease_pages(raw, source=source, lexicon=lexicon)
