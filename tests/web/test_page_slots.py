"""A web process computes at most `web_pages_at_once` pages at once; the other requests wait their turn
in the event loop, holding no thread and no connection."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
import pytest

from hemewatch.settings import Settings
from hemewatch.web.app import create_app
from hemewatch.web.deps import get_view
from hemewatch.web.state import WebState

pytestmark = pytest.mark.anyio


async def _most_at_once(state: WebState, requests: int, expected: int) -> int:
    """How many views were open at once when `requests` ask for one together.

    Each view is kept until `expected` are open (or 5 s have passed), so that a slow machine, opening
    connections slowly, cannot make fewer overlap than the slots allow.
    """
    open_now = most = 0

    async def one() -> None:
        nonlocal open_now, most
        views = get_view(state)
        view = await anext(views)
        assert not view.conn.closed
        open_now += 1
        most = max(most, open_now)
        with anyio.move_on_after(5):
            while open_now < expected:
                await anyio.sleep(0.005)
        await anyio.sleep(0.01)
        open_now -= 1
        await views.aclose()
        assert view.conn.closed

    async with anyio.create_task_group() as group:
        for _ in range(requests):
            group.start_soon(one)
    return most


@pytest.mark.parametrize("slots", [1, 2, 6])
async def test_views_open_at_once_are_the_slots(make_settings: Callable[..., Settings], slots: int) -> None:
    app = create_app(make_settings(web_pages_at_once=slots))
    state: WebState = app.state.web
    try:
        assert await _most_at_once(state, 6, expected=slots) == slots
        # Every connection went back to the pool.
        assert state.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        state.engine.dispose()


async def test_more_waiting_requests_than_threads_all_get_their_page(
    make_settings: Callable[..., Settings],
) -> None:
    # One slot, and more requests at once than the thread pool has threads (40): had the waiting
    # requests held threads, the one with the slot could not get one to compute its page.
    app = create_app(make_settings(web_pages_at_once=1))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    statuses: list[int] = []
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:

            async def ask(index: int) -> None:
                # Different addresses: no cached answer stands in for computing the page.
                response = await http.get(f"/api/v1/trials?limit={1 + index % 25}&offset={index}")
                statuses.append(response.status_code)

            with anyio.fail_after(60):
                async with anyio.create_task_group() as group:
                    for index in range(60):
                        group.start_soon(ask, index)
            # A page that fails frees its slot and its connection too.
            assert (await http.get("/trials/NCT99999999")).status_code == 404
            assert (await http.get("/api/v1/trials?limit=3")).status_code == 200
    finally:
        app.state.web.engine.dispose()
    assert statuses == [200] * 60


def test_the_setting_is_bounded(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="web_pages_at_once"):
        make_settings(web_pages_at_once=0)
