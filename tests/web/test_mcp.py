"""`hemewatch mcp`: the five tools over real transports (a stdio process, streamable HTTP), SDK client."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import CallToolResult

from hemewatch.demo import demo_days
from hemewatch.pipeline.importing import import_files
from hemewatch.pipeline.prescreen import DISCLAIMER
from hemewatch.registry.scope import load_scope
from hemewatch.storage.engine import open_database
from hemewatch.web.mcp_server import EVIDENCE_CHARS, OUTPUT_BUDGET, is_loopback
from tests.cli.runner import cli_env
from tests.web.data import HOSTILE_ID, HOSTILE_TITLE

pytestmark = pytest.mark.anyio

PUBLIC = "http://hemewatch.test"
TOOLS = {"search_trials", "get_trial", "list_changes", "landscape", "prescreen"}
MANY_SITES = "NCT01949129"  # 119 sites in the demo data
PROFILE = {"age": 30, "diseases": ["B-ALL"], "settings": ["relapsed"], "antigens_positive": ["CD19"]}


def _env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return cli_env(tmp_path, db_url, HEMEWATCH_PUBLIC_URL=PUBLIC)


@pytest.fixture
def mirror_url(tmp_path: Path, mirror_folder: Path) -> str:
    """A private copy of the demo mirror."""
    shutil.copy(mirror_folder / "mirror.db", tmp_path / "mirror.db")
    return f"sqlite:///{tmp_path / 'mirror.db'}"


@asynccontextmanager
async def stdio_client(env: dict[str, str]) -> AsyncIterator[Client]:
    """A client of `python -m hemewatch mcp`, started as a process and spoken to over its stdin/stdout."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "hemewatch", "mcp"], env=env)
    async with Client(params, read_timeout_seconds=60) as client:
        yield client


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Async tests run on asyncio (one loop for the module: the stdio server is shared)."""
    return "asyncio"


@pytest.fixture(scope="module")
async def stdio(tmp_path_factory: pytest.TempPathFactory, mirror_folder: Path) -> AsyncIterator[Client]:
    """A stdio client of one server process on a copy of the demo mirror (the tools only read)."""
    folder = tmp_path_factory.mktemp("mcp-stdio")
    shutil.copy(mirror_folder / "mirror.db", folder / "mirror.db")
    async with stdio_client(_env(folder, f"sqlite:///{folder / 'mirror.db'}")) as client:
        yield client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_http(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "hemewatch", "mcp", "--http", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server stopped: {process.stderr.read() if process.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("the server did not listen within 60 s")


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    try:
        _, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """`hemewatch mcp --http` on a free loopback port, on its own copy of the demo mirror."""
    from tests.web.data import build_mirror

    folder = tmp_path_factory.mktemp("mcp-http")
    url = build_mirror(folder)
    process, port = _start_http(_env(folder, url))
    yield port
    _stop(process)


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's answer: the JSON text the model reads, the same as the structured content, in budget."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return _checked(result)


def _checked(result: CallToolResult) -> dict[str, Any]:
    (block,) = result.content
    text = block.text  # type: ignore[union-attr]
    assert len(text.encode()) <= OUTPUT_BUDGET
    data: dict[str, Any] = json.loads(text)
    assert result.structured_content == data
    return data


async def error_of(client: Client, tool: str, **arguments: Any) -> str:
    """The message of a tool error."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    return str(result.content[0].text)  # type: ignore[union-attr]


async def walk(client: Client, tool: str, **arguments: Any) -> tuple[list[dict[str, Any]], int, int]:
    """Every item of a paged tool, following next_cursor; with the total and the number of pages."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await call(client, tool, **arguments, **({"cursor": cursor} if cursor else {}))
        pages += 1
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items, page["total"], pages
        assert pages < 100


# ---------------------------------------------------------------- stdio


async def test_the_tools_are_listed_read_only_with_their_bounds(stdio: Client) -> None:
    tools = {t.name: t for t in (await stdio.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True and tool.annotations.destructive_hint is False
        assert tool.output_schema is not None
    limit = tools["search_trials"].input_schema["properties"]["limit"]
    assert limit["default"] == 20 and limit["maximum"] == 50
    assert "cursor" in tools["list_changes"].input_schema["properties"]
    # The long lists of accepted values stay out of the listing (unknown values are refused by name).
    assert len(json.dumps(tools["prescreen"].input_schema)) < 8_000


async def test_a_cd19_search_finds_cd19_directed_trials_as_the_api_does(
    stdio: Client, client: httpx.AsyncClient
) -> None:
    found = await call(stdio, "search_trials", target=["cd19"], limit=50)
    api = (await client.get("/api/v1/trials", params={"target": "CD19", "limit": 500})).json()
    assert found["total"] == api["total"] > 5
    assert [t["nct_id"] for t in found["items"]] == [t["nct_id"] for t in api["trials"]]
    for item in found["items"]:
        assert "CD19" in item["targets"]
        assert item["url"] == f"{PUBLIC}/trials/{item['nct_id']}"
    assert found["url"] == f"{PUBLIC}/search?target=CD19"


async def test_target_and_modality_are_one_therapy_as_in_the_api(
    stdio: Client, client: httpx.AsyncClient
) -> None:
    paired = await call(stdio, "search_trials", target=["CD19"], modality=["CAR-T"], limit=50)
    api = (await client.get("/api/v1/trials", params={"target": "CD19", "modality": "CAR-T"})).json()
    assert paired["total"] == api["total"] >= 1
    cd19 = await call(stdio, "search_trials", target=["CD19"], limit=50)
    assert paired["total"] < cd19["total"]
    for item in paired["items"]:
        assert "CD19" in item["targets"] and "CAR-T" in item["modalities"] and "CAR-T)" in item["therapies"]
    # Filters combine: phase and status narrow the same search.
    recruiting = await call(stdio, "search_trials", target=["CD19"], status=["recruiting"], phase=["1"])
    assert 0 < recruiting["total"] < cd19["total"]
    assert all(t["status"] == "RECRUITING" and "PHASE1" in t["phases"] for t in recruiting["items"])


async def test_the_cursor_walks_every_trial_once(stdio: Client) -> None:
    items, total, pages = await walk(stdio, "search_trials", limit=20, sort="nct_id")
    ids = [t["nct_id"] for t in items]
    assert len(ids) == len(set(ids)) == total > 40
    assert pages == -(-total // 20)
    assert ids == sorted(ids, reverse=True)


async def test_search_refuses_unknown_values_and_suggests_names(stdio: Client) -> None:
    assert "unknown target 'CDxx'" in await error_of(stdio, "search_trials", target=["CDxx"])
    assert "cursor" in await error_of(stdio, "search_trials", cursor="abc")
    assert "limit" in await error_of(stdio, "search_trials", limit=51)
    missed = await call(stdio, "search_trials", q="blinatumomb")
    assert missed["total"] == 0 and "blinatumomab" in missed["suggestions"]


async def test_one_trial_with_therapies_tags_facts_and_sites(stdio: Client) -> None:
    trial = await call(stdio, "get_trial", nct_id="nct05645718")
    assert trial["nct_id"] == "NCT05645718"
    assert trial["url"] == f"{PUBLIC}/trials/NCT05645718"
    blina = next(t for t in trial["therapies"] if t["agent"] == "blinatumomab")
    assert blina["modality"] == "T-cell engager" and blina["targets"] == ["CD19"]
    assert blina["role"] == "investigational"
    assert trial["tags"] and all(t["evidence_total"] >= len(t["evidence"]) for t in trial["tags"])
    evidence = [e["text"] for t in trial["tags"] for e in t["evidence"]]
    assert evidence and all(len(text) <= EVIDENCE_CHARS for text in evidence)
    assert trial["eligibility"]["facts"] and trial["eligibility"]["fact_total"] >= 1
    assert trial["sites"]["total"] == 1 and trial["sites"]["countries"][0]["country"] == "United States"


async def test_sites_are_bounded_with_a_total_and_a_country_filter(stdio: Client) -> None:
    everything = await call(stdio, "get_trial", nct_id=MANY_SITES, site_limit=100)
    assert everything["sites"]["total"] == 119 and len(everything["sites"]["items"]) == 100
    few = await call(stdio, "get_trial", nct_id=MANY_SITES, site_limit=3)
    assert few["sites"]["total"] == 119 and len(few["sites"]["items"]) == 3
    country = everything["sites"]["countries"][0]
    there = await call(stdio, "get_trial", nct_id=MANY_SITES, site_country=[country["country"]])
    assert there["sites"]["total"] == country["sites"]
    assert {s["country"] for s in there["sites"]["items"]} == {country["country"]}


async def test_an_invalid_or_unknown_nct_id_is_a_tool_error(stdio: Client) -> None:
    assert "not a ClinicalTrials.gov identifier" in await error_of(stdio, "get_trial", nct_id="NCT123")
    assert "NCT00000001 is not in the local mirror" in await error_of(
        stdio, "get_trial", nct_id="NCT00000001"
    )


async def test_untrusted_titles_come_back_as_data(stdio: Client) -> None:
    trial = await call(stdio, "get_trial", nct_id=HOSTILE_ID)
    assert trial["title"] == HOSTILE_TITLE


async def test_changes_walk_by_cursor_as_the_api_lists_them(stdio: Client, client: httpx.AsyncClient) -> None:
    items, total, pages = await walk(stdio, "list_changes", include_administrative=True, limit=7)
    api = (
        await client.get("/api/v1/changes", params={"include_administrative": "true", "limit": 1000})
    ).json()
    ids = [c["id"] for c in items]
    assert ids == [c["id"] for c in api["changes"]] and len(ids) == total > 7
    assert pages == -(-total // 7)
    first = await call(stdio, "list_changes", include_administrative=True, limit=7)
    assert first["remaining"] == total - 7 and first["next_cursor"] == str(ids[6])
    after = await call(stdio, "list_changes", include_administrative=True, after_id=ids[9], limit=100)
    assert [c["id"] for c in after["items"]] == ids[10:] and after["total"] == total - 10


async def test_changes_since_a_date_and_for_a_target(stdio: Client) -> None:
    everything, _, _ = await walk(stdio, "list_changes", include_administrative=True, limit=100)
    dates = sorted(c["registry_date"] for c in everything if c["registry_date"])
    middle = dates[len(dates) // 2]
    since = await call(stdio, "list_changes", include_administrative=True, since=middle, limit=100)
    assert 0 < since["total"] < len(everything)
    assert all(c["registry_date"] >= middle for c in since["items"])
    cd22 = await call(stdio, "list_changes", include_administrative=True, target=["CD22"], limit=100)
    tagged = await call(stdio, "search_trials", target=["CD22"], limit=50)
    assert cd22["total"] >= 1
    assert {c["nct_id"] for c in cd22["items"]} <= {t["nct_id"] for t in tagged["items"]}
    assert "YYYY-MM-DD" in await error_of(stdio, "list_changes", since="last week")


async def test_landscape_counts_agree_with_search(stdio: Client) -> None:
    b_all = await call(stdio, "landscape", disease=["b-all"])
    assert b_all["diseases"] == ["B-ALL"]
    searched = await call(stdio, "search_trials", disease=["B-ALL"])
    assert b_all["trials"] == searched["total"]
    cells = {(c["row"], c["column"]): c["trials"] for c in b_all["target_modality"]["cells"]}
    car_t = await call(stdio, "search_trials", disease=["B-ALL"], target=["CD19"], modality=["CAR-T"])
    assert cells[("CD19", "CAR-T")] == car_t["total"] >= 1
    assert sum(c["trials"] for c in b_all["phase_status"]["cells"]) == b_all["trials"]
    everything = await call(stdio, "landscape")
    assert everything["trials"] > b_all["trials"]


async def test_prescreen_ranks_open_trials_as_the_api_does(stdio: Client, client: httpx.AsyncClient) -> None:
    screened = await call(stdio, "prescreen", profile={**PROFILE, "limit": 5, "failing_limit": 3})
    api = (await client.post("/api/v1/prescreen", json={**PROFILE, "limit": 5, "failing_limit": 3})).json()
    assert screened["disclaimer"] == DISCLAIMER == api["disclaimer"]
    assert [c["nct_id"] for c in screened["candidates"]] == [c["nct_id"] for c in api["candidates"]]
    assert screened["candidate_total"] == api["candidate_total"] > 5
    assert len(screened["candidates"]) == 5 and len(screened["failing"]) == 3
    for candidate in screened["candidates"]:
        assert candidate["outcome"] == "candidate" and candidate["status"] in (
            "RECRUITING",
            "NOT_YET_RECRUITING",
            "ENROLLING_BY_INVITATION",
        )
        assert all(v["verdict"] != "fails" for v in candidate["verdicts"])
    for trial in screened["failing"]:
        assert trial["outcome"] == "fails" and trial["verdicts"]
        assert {v["verdict"] for v in trial["verdicts"]} == {"fails"}


async def test_prescreen_errors_name_the_problem(stdio: Client) -> None:
    assert "Did you mean" in await error_of(stdio, "prescreen", profile={"near": "Nowhereville"})
    assert "limit" in await error_of(stdio, "prescreen", profile={"limit": 26})
    assert "diseases" in await error_of(stdio, "prescreen", profile={"diseases": ["not a disease"]})


async def test_every_answer_over_the_demo_data_stays_under_the_budget(stdio: Client) -> None:
    trials, total, _ = await walk(stdio, "search_trials", limit=50)
    sizes = []
    for trial in trials:
        result = await stdio.call_tool("get_trial", {"nct_id": trial["nct_id"], "site_limit": 100})
        _checked(result)
        sizes.append(len(result.content[0].text))  # type: ignore[union-attr]
    assert len(sizes) == total and max(sizes) > 10_000  # the budget is met by bounds, not by small data
    await call(stdio, "list_changes", include_administrative=True, limit=100)
    await call(stdio, "landscape")
    largest = await call(
        stdio, "prescreen", profile={"diseases": ["B-ALL"], "limit": 25, "failing_limit": 25}
    )
    assert largest["candidates"] and largest["failing"]
    assert len(json.dumps(largest, separators=(",", ":"))) <= OUTPUT_BUDGET


async def test_the_server_reads_postgresql(tmp_path: Path, postgres_url: str) -> None:
    engine = open_database(postgres_url)
    try:
        scope = load_scope()
        for day in demo_days():
            import_files(engine, [day], scope=scope, in_scope_only=True, source="demo")
    finally:
        engine.dispose()
    async with stdio_client(_env(tmp_path, postgres_url)) as client:
        found = await call(client, "search_trials", target=["CD19"], modality=["CAR-T"])
        assert found["total"] >= 1 and all("CD19" in t["targets"] for t in found["items"])
        trial = await call(client, "get_trial", nct_id=found["items"][0]["nct_id"])
        assert any("CD19" in t["targets"] for t in trial["therapies"])
        changes, total, _ = await walk(client, "list_changes", include_administrative=True, limit=10)
        assert len({c["id"] for c in changes}) == total > 10


# ---------------------------------------------------------------- streamable HTTP


async def test_streamable_http_serves_the_same_tools(http_server: int) -> None:
    async with Client(f"http://127.0.0.1:{http_server}/mcp", read_timeout_seconds=60) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        found = await call(client, "search_trials", target=["CD19"], limit=5)
        assert found["total"] > 5 and len(found["items"]) == 5 and found["next_cursor"] == "5"
        assert all("CD19" in t["targets"] for t in found["items"])
        items, total, _ = await walk(client, "search_trials", target=["CD19"], limit=4)
        assert len({t["nct_id"] for t in items}) == total == found["total"]
        trial = await call(client, "get_trial", nct_id=found["items"][0]["nct_id"])
        assert trial["nct_id"] == found["items"][0]["nct_id"]
        assert "identifier" in await error_of(client, "get_trial", nct_id="12345")
        changes = await call(client, "list_changes", limit=3)
        assert changes["total"] >= len(changes["items"]) >= 1
        assert (await call(client, "landscape", disease=["AML"]))["trials"] >= 1
        screened = await call(client, "prescreen", profile=PROFILE)
        assert screened["disclaimer"] == DISCLAIMER and screened["candidates"]


async def test_streamable_http_refuses_another_host_header(http_server: int) -> None:
    # A page on another site cannot reach the loopback server through DNS rebinding.
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"http://127.0.0.1:{http_server}/mcp",
            headers={"host": "evil.example", "content-type": "application/json"},
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        )
    assert response.status_code == 421


def test_binding_a_non_loopback_host_is_warned_about(tmp_path: Path, mirror_url: str) -> None:
    process, _ = _start_http(_env(tmp_path, mirror_url), "--host", "0.0.0.0")
    err = _stop(process)
    assert "warning: serving MCP on 0.0.0.0" in err
    quiet, _ = _start_http(_env(tmp_path, mirror_url))
    assert "warning" not in _stop(quiet)


def test_loopback_hosts() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.4", "example.org", "::"))


def test_version_and_help_do_not_import_the_sdk(tmp_path: Path) -> None:
    probe = (
        "import sys\nfrom hemewatch.cli import main\nsys.argv = ['hemewatch', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', *sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))\n"
    )
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'probe.db'}")
    for args in (["--version"], ["--help"], ["mcp", "--help"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout.rstrip().endswith("LOADED"), (args, done.stdout[-300:])
