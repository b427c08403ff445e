"""The HTTP client for the ClinicalTrials.gov Data API v2: paging, retries and throttling."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx
import orjson

from hemewatch.errors import (
    IncompleteResults,
    RegistryError,
    RegistryRequestRejected,
    RegistryUnavailable,
    StudyNotFound,
)
from hemewatch.registry.backoff import RetryPolicy, parse_retry_after
from hemewatch.registry.ratelimit import RateLimiter
from hemewatch.registry.records import normalise_nct_id

DEFAULT_BASE_URL = "https://clinicaltrials.gov/api/v2"
MAX_PAGE_SIZE = 1000

# Parameters iter_study_pages owns: a caller setting them would break paging.
_PAGING_PARAMS = frozenset({"format", "pageSize", "pageToken", "countTotal"})
# 408 and 429 are the server asking us to come back; every 5xx is its own trouble, not ours.
_RETRYABLE_4XX = frozenset({408, 429})
_MESSAGE_LIMIT = 300

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistryVersion:
    """What GET /version reports: the API version and when the data were last refreshed."""

    api_version: str
    data_timestamp: str


@dataclass(frozen=True)
class StudyPage:
    """One page of GET /studies; ``total_count`` is only on page 1 when it was asked for."""

    studies: list[dict[str, Any]]
    next_page_token: str | None
    total_count: int | None
    page_number: int


class _TransientFailure(Exception):
    """An attempt that may succeed if repeated; ``retry_after`` is the server's own hint."""

    def __init__(self, problem: str, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after


class RegistryClient:
    """A polite, retrying client for the ClinicalTrials.gov Data API v2 (not thread-safe)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        user_agent: str,
        requests_per_minute: float = 50,
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not user_agent.strip():
            raise ValueError("user_agent must name the software and how to reach its maintainers")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        self._retry = RetryPolicy(max_retries=max_retries, base=backoff_base, cap=backoff_max)
        self._limiter = RateLimiter(requests_per_minute, clock=clock, sleep=sleep)
        self._sleep = sleep
        self._rng = random.Random()
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            # GET /studies/{alias} answers 301 to the study's current NCT id.
            follow_redirects=True,
        )

    def get_version(self) -> RegistryVersion:
        """Return the API version and the timestamp of the registry's current data release."""
        body = self._get_json("/version")
        api_version = body.get("apiVersion") if isinstance(body, dict) else None
        data_timestamp = body.get("dataTimestamp") if isinstance(body, dict) else None
        if not isinstance(api_version, str) or not isinstance(data_timestamp, str):
            raise RegistryError(
                f"ClinicalTrials.gov answered GET /version with an unexpected body: {body!r:.200}"
            )
        return RegistryVersion(api_version=api_version, data_timestamp=data_timestamp)

    def iter_study_pages(
        self,
        params: Mapping[str, str],
        *,
        page_size: int = MAX_PAGE_SIZE,
        count_total: bool = True,
    ) -> Iterator[StudyPage]:
        """Yield every page of GET /studies for ``params``, following nextPageToken to the end.

        With ``count_total`` (the default) the list is checked against the registry's own
        count: a list that ends before every counted study arrived raises IncompleteResults
        after its last page was yielded, so no page is lost and no short list looks complete.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
        reserved = _PAGING_PARAMS.intersection(params)
        if reserved:
            raise ValueError(f"iter_study_pages sets {', '.join(sorted(reserved))} itself")
        # The API requires every page request to repeat the first one's parameters.
        query = {**params, "format": "json", "pageSize": str(page_size)}
        if count_total:
            query["countTotal"] = "true"
        # Arguments are checked above, when called; the requests start on the first next().
        return self._iter_pages(query, describe_query(params) if count_total else None)

    def _iter_pages(self, query: dict[str, str], checked_as: str | None) -> Iterator[StudyPage]:
        token: str | None = None
        page_number = 0
        received = 0
        expected: int | None = None
        while True:
            page_number += 1
            body = self._get_json("/studies", query if token is None else {**query, "pageToken": token})
            page = _parse_page(body, page_number)
            if page_number == 1 and checked_as is not None:
                expected = page.total_count
                if expected is None:
                    raise RegistryError(
                        f"ClinicalTrials.gov sent no totalCount for {checked_as} although it was asked "
                        "for one; without it the list cannot be checked for completeness."
                    )
            received += len(page.studies)
            yield page
            if page.next_page_token is None:
                if expected is not None and received < expected:
                    raise IncompleteResults(
                        f"received {received:,} of {expected:,} studies for {checked_as} "
                        f"(page {page_number} came without nextPageToken)",
                        received=received,
                        expected=expected,
                    )
                return
            if page.next_page_token == token:
                raise RegistryError(
                    f"ClinicalTrials.gov returned the same nextPageToken twice (page {page_number}); "
                    "stopped paging to avoid an endless loop."
                )
            token = page.next_page_token

    def get_study(self, nct_id: str) -> dict[str, Any]:
        """Return the full current record of one study."""
        nct = normalise_nct_id(nct_id)
        body = self._get_json(
            f"/studies/{nct}",
            {"format": "json"},
            not_found=StudyNotFound(f"ClinicalTrials.gov has no study {nct}."),
        )
        if not isinstance(body, dict):
            raise RegistryError(f"ClinicalTrials.gov answered GET /studies/{nct} with something not a study.")
        return body

    @property
    def base_url(self) -> str:
        """The Data API base URL this client was made for, without a trailing slash."""
        return str(self._http.base_url).rstrip("/")

    def get_json(self, url: str, *, not_found: RegistryError | None = None) -> Any:
        """GET an absolute URL on the registry's own site and decode its JSON, paced and retried as any call.

        For the website's endpoints outside the Data API (the record history). A 404 raises
        ``not_found`` when given (else RegistryRequestRejected).
        """
        target, base = httpx.URL(url), self._http.base_url
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise ValueError(f"{url!r} is not on the registry's site ({base.scheme}://{base.host})")
        return self._get_json(url, not_found=not_found)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _get_json(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        not_found: RegistryError | None = None,
    ) -> Any:
        """GET ``path`` and decode its JSON body, retrying what is worth retrying."""
        request = self._http.build_request("GET", path, params=params)
        problem = "was never sent"
        for attempt in range(self._retry.max_attempts):
            self._limiter.wait()
            try:
                return self._attempt(request, not_found)
            except _TransientFailure as failure:
                problem = failure.problem
                if attempt + 1 == self._retry.max_attempts:
                    break
                delay = self._retry.delay(attempt, failure.retry_after, self._rng)
                logger.warning(
                    "GET %s: %s; retry %d of %d in %.1f s",
                    request.url,
                    problem,
                    attempt + 1,
                    self._retry.max_retries,
                    delay,
                )
                self._sleep(delay)
        raise RegistryUnavailable(
            f"ClinicalTrials.gov did not answer GET {request.url} after {self._retry.max_attempts} "
            f"attempt(s); the last one {problem}. Try again later; stored data is intact."
        )

    def _attempt(self, request: httpx.Request, not_found: RegistryError | None) -> Any:
        """Send ``request`` once; return its JSON or raise _TransientFailure or a RegistryError."""
        try:
            response = self._http.send(request)
        except httpx.TimeoutException:
            raise _TransientFailure(f"timed out (no answer within {self._http.timeout.read} s)") from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            # Includes a body cut short (RemoteProtocolError) and refused or reset connections.
            raise _TransientFailure(f"failed: {exc.__class__.__name__}: {exc}") from None
        except httpx.TooManyRedirects as exc:
            raise RegistryError(f"ClinicalTrials.gov redirected GET {request.url} in a loop: {exc}") from None
        status = response.status_code
        if status == 404 and not_found is not None:
            raise not_found
        if status in _RETRYABLE_4XX or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
            raise _TransientFailure(f"got HTTP {status} {response.reason_phrase}", retry_after)
        if 400 <= status < 500:
            raise RegistryRequestRejected(
                f"ClinicalTrials.gov rejected GET {request.url} (HTTP {status}): {_server_message(response)}"
            )
        if status != 200:
            raise RegistryError(
                f"ClinicalTrials.gov answered GET {request.url} with unexpected HTTP {status}."
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise _TransientFailure(
                f"got HTTP 200 with a body that is not valid JSON ({len(response.content)} bytes: {exc})"
            ) from None


def describe_query(params: Mapping[str, str]) -> str:
    """A /studies query as people read it in messages and the run log: its parameters, in order."""
    return "&".join(f"{name}={value}" for name, value in params.items()) or "every study"


def _parse_page(body: Any, page_number: int) -> StudyPage:
    """Check the shape of a GET /studies body and wrap it as a StudyPage."""
    studies = body.get("studies") if isinstance(body, dict) else None
    if not isinstance(studies, list) or not all(isinstance(study, dict) for study in studies):
        raise RegistryError(f"ClinicalTrials.gov page {page_number} has no list of studies: {body!r:.200}")
    token = body.get("nextPageToken")
    total = body.get("totalCount")
    if token is not None and (not isinstance(token, str) or not token):
        raise RegistryError(f"ClinicalTrials.gov page {page_number} has an unusable nextPageToken: {token!r}")
    if total is not None and (not isinstance(total, int) or isinstance(total, bool)):
        raise RegistryError(f"ClinicalTrials.gov page {page_number} has a non-integer totalCount: {total!r}")
    return StudyPage(studies=studies, next_page_token=token, total_count=total, page_number=page_number)


def _server_message(response: httpx.Response) -> str:
    """The error text the API sent (plain text, or JSON with a message), shortened for a log line."""
    text = response.text.strip()
    try:
        decoded = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        if isinstance(decoded, dict):
            text = str(decoded.get("message") or decoded.get("error") or text)
    text = " ".join(text.split()) or response.reason_phrase
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"
