"""The fake API's endpoints: a request (path and parameters) in, an answer out; no sockets here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from tests.fakeapi.fields import METADATA_FILE, FieldIndex, field_index, project
from tests.fakeapi.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, InvalidPageToken, PageTokens
from tests.fakeapi.search import BadRequest, build_predicates, canonical_nct_id, select_studies, sort_studies

API_PREFIX = "/api/v2"

# Every parameter spec 2.0.5 lists for GET /studies; anything else is a 400, as on the real server.
STUDIES_PARAMS = frozenset(
    {
        "format", "markupFormat", "query.cond", "query.term", "query.locn", "query.titles", "query.intr",
        "query.outc", "query.spons", "query.lead", "query.id", "query.patient", "filter.overallStatus",
        "filter.geo", "filter.ids", "filter.advanced", "filter.synonyms", "postFilter.overallStatus",
        "postFilter.geo", "postFilter.ids", "postFilter.advanced", "postFilter.synonyms", "aggFilters",
        "geoDecay", "fields", "sort", "countTotal", "pageSize", "pageToken",
    }
)  # fmt: skip
# Real parameters this fake does not model: refused loudly rather than silently ignored.
UNMODELLED_PARAMS = frozenset(
    {"filter.geo", "postFilter.geo", "geoDecay", "aggFilters", "filter.synonyms", "postFilter.synonyms"}
)
STUDY_PARAMS = frozenset({"format", "markupFormat", "fields"})
METADATA_PARAMS = frozenset({"includeIndexedOnly", "includeHistoricOnly"})
_STUDY_PATH = re.compile(r"/studies/([^/]+)")


@dataclass(frozen=True)
class Answer:
    """What the server sends back: status, body, content type, extra headers."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, value: Any) -> Answer:
        """HTTP 200 with ``value`` as JSON."""
        return cls(200, orjson.dumps(value))

    @classmethod
    def text(cls, status: int, message: str) -> Answer:
        """An error answer in the API's style: plain text."""
        return cls(status, message.encode(), "text/plain")


@dataclass(frozen=True)
class Dataset:
    """The studies the fake serves, indexed by NCT id and by NCT id alias."""

    studies: tuple[dict[str, Any], ...]
    by_id: Mapping[str, dict[str, Any]]
    aliases: Mapping[str, str]

    @classmethod
    def build(cls, studies: Iterable[dict[str, Any]]) -> Dataset:
        """Index ``studies``; every one needs protocolSection.identificationModule.nctId."""
        ordered = tuple(studies)
        by_id: dict[str, dict[str, Any]] = {}
        aliases: dict[str, str] = {}
        for study in ordered:
            identification = study["protocolSection"]["identificationModule"]
            by_id[identification["nctId"]] = study
            for alias in identification.get("nctIdAliases", ()):
                aliases[alias] = identification["nctId"]
        return cls(ordered, by_id, aliases)


@dataclass(frozen=True)
class Version:
    """What GET /version reports."""

    api_version: str
    data_timestamp: str


def api_path(url_path: str) -> str:
    """``url_path`` relative to the base URL ("/api/v2/studies" -> "/studies"); other paths unchanged."""
    if url_path.startswith(API_PREFIX + "/"):
        return url_path[len(API_PREFIX) :]
    return url_path


def answer(
    url_path: str, query: Sequence[tuple[str, str]], dataset: Dataset, version: Version, tokens: PageTokens
) -> Answer:
    """Answer one GET request for ``url_path`` with its query parameters."""
    if not url_path.startswith(API_PREFIX + "/"):
        return Answer.text(404, f"Not found: {url_path}")
    path = api_path(url_path).rstrip("/")
    try:
        params = _single_values(query)
        if path == "/version":
            _check_known(params, frozenset())
            return Answer.json({"apiVersion": version.api_version, "dataTimestamp": version.data_timestamp})
        if path == "/studies":
            return _list_studies(params, dataset, tokens)
        if path == "/studies/metadata":
            _check_known(params, METADATA_PARAMS)
            return Answer(200, METADATA_FILE.read_bytes())
        match = _STUDY_PATH.fullmatch(path)
        if match:
            return _get_study(match[1], params, dataset)
    except BadRequest as exc:
        return Answer.text(400, str(exc))
    return Answer.text(404, f"Not found: {url_path}")


def _single_values(query: Sequence[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in query:
        if name in params:
            raise BadRequest(f"`{name}` is given more than once")
        params[name] = value
    return params


def _check_known(params: Mapping[str, str], known: frozenset[str]) -> None:
    for name in params:
        if name not in known:
            raise BadRequest(f"`{name}` is unknown parameter")
        if name in UNMODELLED_PARAMS:
            raise BadRequest(f"`{name}` is a real parameter that this fake API does not implement")


def _check_format(params: Mapping[str, str]) -> None:
    if params.get("format", "json") != "json":
        raise BadRequest(f"Parameter 'format': this fake API serves only json, not '{params['format']}'")
    if params.get("markupFormat", "markdown") not in ("markdown", "legacy"):
        raise BadRequest(f"Parameter 'markupFormat' has invalid value: '{params['markupFormat']}'")


def _page_size(value: str | None) -> int:
    if value is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(value)
    except ValueError:
        raise BadRequest(f"Parameter 'pageSize' must be an integer, not '{value}'") from None
    if size < 0:
        raise BadRequest(f"Parameter 'pageSize' must not be negative: {size}")
    # Spec: 0 means the default, and anything above 1,000 is coerced down to 1,000.
    return min(size, MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE


def _count_total(value: str | None) -> bool:
    if value is None or value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    raise BadRequest(f"Parameter 'countTotal' must be true or false, not '{value}'")


def _projection(value: str | None, fields: FieldIndex) -> list[tuple[str, ...]] | None:
    if value is None:
        return None
    names = [name.strip() for name in re.split(r"[,|]", value) if name.strip()]
    if not names:
        raise BadRequest("Parameter 'fields' must be a non-empty list")
    paths = []
    for name in names:
        if name == "@query":
            continue  # "the fields queried by search": the fake keeps the projection to the named ones
        field = fields.resolve(name)
        if field is None:
            raise BadRequest(f"Parameter 'fields' contains invalid field name: '{name}'")
        paths.append(field.path)
    return paths or None


def _list_studies(params: Mapping[str, str], dataset: Dataset, tokens: PageTokens) -> Answer:
    _check_known(params, STUDIES_PARAMS)
    _check_format(params)
    fields = field_index()
    page_size = _page_size(params.get("pageSize"))
    count_total = _count_total(params.get("countTotal"))
    projection = _projection(params.get("fields"), fields)
    selected = select_studies(dataset.studies, build_predicates(params, fields))
    selected = sort_studies(selected, params.get("sort"), fields)
    token = params.get("pageToken")
    offset = 0
    if token is not None:
        try:
            offset = tokens.redeem(token, params)
        except InvalidPageToken:
            raise BadRequest(
                "Parameter 'pageToken' is invalid: it is not a token issued for this query "
                "(a next page must repeat the first page's parameters, except countTotal and pageSize)"
            ) from None
    page = selected[offset : offset + page_size]
    body: dict[str, Any] = {}
    if count_total and token is None:
        body["totalCount"] = len(selected)
    body["studies"] = [view.study if projection is None else project(view.study, projection) for view in page]
    if offset + page_size < len(selected):
        body["nextPageToken"] = tokens.issue(params, offset + page_size)
    return Answer.json(body)


def _get_study(raw_id: str, params: Mapping[str, str], dataset: Dataset) -> Answer:
    _check_known(params, STUDY_PARAMS)
    _check_format(params)
    nct_id = canonical_nct_id(raw_id)
    if nct_id is None:
        raise BadRequest(f"Invalid NCT ID: '{raw_id}'")
    if nct_id in dataset.aliases:
        # The registry redirects an alias to the study's current identifier.
        location = f"{API_PREFIX}/studies/{dataset.aliases[nct_id]}"
        if params:
            location += "?" + urlencode(params)
        return Answer(301, b"", "text/plain", (("Location", location),))
    study = dataset.by_id.get(nct_id)
    if study is None:
        return Answer.text(404, f"Study {nct_id} not found")
    projection = _projection(params.get("fields"), field_index())
    return Answer.json(study if projection is None else project(study, projection))
