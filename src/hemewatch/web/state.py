"""What the app holds for its lifetime: settings, the database engine, caches and renderers."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from hemewatch.classification.lexicon import Lexicon
from hemewatch.settings import Settings
from hemewatch.storage.database import Engine
from hemewatch.web.cache import DataCache
from hemewatch.web.layouts import DiseasePages
from hemewatch.web.pages import Pages
from hemewatch.web.security import CsrfSigner


class PageSlots:
    """How many requests of one process compute their page at once; the others wait in the event loop.

    Python runs one thread of a process at a time. Eight pages computed at once each take eight times
    as long, the slow ones longest, and the threads contending for the interpreter cost about a third
    more CPU than the same pages computed in turn (docs/benchmarks.md, "Text search, uncached").
    A waiting request holds no thread: the pool's threads stay free for the pages being computed.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._held: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def current(self) -> asyncio.Semaphore:
        """The slots of the running event loop (a loop's semaphore cannot be awaited from another)."""
        loop = asyncio.get_running_loop()
        held = self._held
        if held is None or held[0] is not loop:
            held = self._held = (loop, asyncio.Semaphore(self.size))
        return held[1]


@dataclass(frozen=True)
class WebState:
    """One app's long-lived objects (kept on `app.state.web`, never in module globals)."""

    settings: Settings
    engine: Engine
    cache: DataCache
    lexicon: Lexicon
    disease_pages: DiseasePages
    pages: Pages
    csrf: CsrfSigner
    page_slots: PageSlots
    # Set when the app shuts down: what runs beside the requests (web.server's warm-up) stops.
    stopped: threading.Event = field(default_factory=threading.Event)
