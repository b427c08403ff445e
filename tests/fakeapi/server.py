"""A real HTTP server on 127.0.0.1 that answers like the ClinicalTrials.gov Data API v2."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import orjson

from tests.fakeapi.api import API_PREFIX, Answer, Dataset, Version, answer, api_path
from tests.fakeapi.faults import Fault, FaultKind
from tests.fakeapi.history import HistoryArchive, is_history_path
from tests.fakeapi.paging import PageTokens, page_number

DEFAULT_DATA_TIMESTAMP = "2026-11-20T09:00:05"
API_VERSION = "2.0.5"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it, faulted or not."""

    method: str
    path: str  # relative to the base URL, e.g. "/studies" (in full if outside /api/v2)
    params: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]  # names in lower case
    fault: Fault | None
    page: int | None = None  # which page of a GET /studies list was asked for (1 without a pageToken)

    def param(self, name: str) -> str | None:
        """The value of query parameter ``name``, or None if it was not sent."""
        return next((value for key, value in self.params if key == name), None)


class FakeRegistryServer:
    """The fake API: serve a mutable dataset, inject faults, and record every request."""

    def __init__(
        self,
        studies: Iterable[dict[str, Any]] = (),
        *,
        data_timestamp: str = DEFAULT_DATA_TIMESTAMP,
        api_version: str = API_VERSION,
    ) -> None:
        self.data_timestamp = data_timestamp
        self.api_version = api_version
        self._dataset = Dataset.build(studies)
        self._faults: deque[Fault] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._tokens = PageTokens()
        self.history = HistoryArchive()  # the website's record-history endpoints (/api/int/…)
        self._http: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """What to give RegistryClient as base_url, e.g. http://127.0.0.1:54321/api/v2."""
        if self._http is None:
            raise RuntimeError("the fake API is not running; call start() or use it as a context manager")
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}{API_PREFIX}"

    def start(self) -> Self:
        """Listen on an ephemeral port and serve from a background thread."""
        self._stopping.clear()
        self._http = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._http.registry = self
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="fake-ctgov-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; delayed answers still pending are abandoned."""
        self._stopping.set()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._thread is not None:
            self._thread.join()
        self._http = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def studies(self) -> tuple[dict[str, Any], ...]:
        """The studies currently served, in the order GET /studies returns them."""
        return self._dataset.studies

    def set_studies(self, studies: Iterable[dict[str, Any]]) -> None:
        """Serve ``studies`` from now on (the next registry release); studies are served as given."""
        dataset = Dataset.build(studies)
        with self._lock:
            self._dataset = dataset

    def inject(self, fault: Fault, *, times: int = 1) -> None:
        """Make the next ``times`` matching requests fail with ``fault`` (after faults already queued)."""
        with self._lock:
            self._faults.extend([fault] * times)

    @property
    def pending_faults(self) -> list[Fault]:
        """Faults injected but not yet used."""
        with self._lock:
            return list(self._faults)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def wait_for_request(
        self, match: Callable[[RecordedRequest], bool], *, timeout: float = 60.0
    ) -> RecordedRequest:
        """Block until a request for which ``match`` is true has arrived (received, maybe not answered)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: any(match(r) for r in self._requests), timeout):
                raise TimeoutError(f"no matching request arrived within {timeout} s")
            return next(r for r in self._requests if match(r))

    def clear_requests(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self._requests.clear()

    def _receive(self, request: RecordedRequest) -> tuple[RecordedRequest, Dataset, Version]:
        """Take the first queued fault meant for ``request``, record it, and snapshot what to serve."""
        with self._lock:
            fault = next((f for f in self._faults if f.applies_to(request.path, request.page)), None)
            if fault is not None:
                self._faults.remove(fault)
            request = replace(request, fault=fault)
            self._requests.append(request)
            self._arrived.notify_all()
            return request, self._dataset, Version(self.api_version, self.data_timestamp)


def _miscount(result: Answer, fault: Fault) -> Answer:
    """A /studies page that lies: its list ends early, or its totalCount is off by ``fault.miscount``."""
    if result.status != 200:
        return result
    body = orjson.loads(result.body)
    if fault.kind is FaultKind.NO_NEXT_PAGE_TOKEN:
        body.pop("nextPageToken", None)
    elif "totalCount" in body:
        body["totalCount"] += fault.miscount
    return Answer.json(body)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    registry: FakeRegistryServer


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP into calls on the fake API and applies faults on the wire."""

    protocol_version = "HTTP/1.1"  # keep-alive, like the real server, so the client's pool is exercised
    server_version = "fake-ctgov"
    server: _HTTPServer

    def do_GET(self) -> None:
        registry = self.server.registry
        url = urlsplit(self.path)
        path = api_path(url.path)
        params = tuple(parse_qsl(url.query, keep_blank_values=True))
        request, dataset, version = registry._receive(
            RecordedRequest(
                method="GET",
                path=path,
                params=params,
                headers={name.lower(): value for name, value in self.headers.items()},
                fault=None,
                page=page_number(dict(params), registry._tokens) if path.rstrip("/") == "/studies" else None,
            )
        )
        fault = request.fault
        kind = fault.kind if fault is not None else None
        if kind is FaultKind.DISCONNECT:
            self.close_connection = True
            return
        if fault is not None and kind is FaultKind.STATUS:
            headers = (("Retry-After", fault.retry_after),) if fault.retry_after is not None else ()
            self._send(Answer(fault.status, b"The service is busy; try again later.", "text/plain", headers))
            return
        if fault is not None and kind is FaultKind.DELAY and registry._stopping.wait(fault.seconds):
            self.close_connection = True  # the server is stopping: abandon the answer
            return
        if is_history_path(url.path):
            result = registry.history.answer(url.path, request.params)
        else:
            result = answer(url.path, request.params, dataset, version, registry._tokens)
        if fault is not None and kind is FaultKind.RESHAPED:
            result = Answer(200, fault.body)
        if kind is FaultKind.TRUNCATED:
            self._send(result, send_bytes=len(result.body) // 2)
            self.close_connection = True
            return
        if kind is FaultKind.INVALID_JSON:
            result = Answer(200, result.body[: len(result.body) // 2], result.content_type, result.headers)
        if fault is not None and kind in (FaultKind.NO_NEXT_PAGE_TOKEN, FaultKind.WRONG_TOTAL):
            result = _miscount(result, fault)
        self._send(result)

    def _send(self, result: Answer, *, send_bytes: int | None = None) -> None:
        self.send_response(result.status)
        self.send_header("Content-Type", f"{result.content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(result.body)))
        for name, value in result.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(result.body if send_bytes is None else result.body[:send_bytes])

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests assert on ``requests`` instead of reading a log."""
