"""Run the app under uvicorn, with the scheduler beside it (`hemewatch serve`; `hemewatch demo`).

The scheduler (pipeline.scheduler) runs in a child process of the service, so a long sync never
competes with the web app for the interpreter, and one scheduler runs however many web worker
processes uvicorn starts. Stopping the service (SIGTERM, Ctrl-C) stops the web app, then asks the
scheduler to stop and waits for it; a child that dies unexpectedly is started again; a child whose
parent is gone (kill -9) stops on its own.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from hemewatch.settings import Settings, load_settings
from hemewatch.web.app import create_app
from hemewatch.web.state import WebState
from hemewatch.web.views.context import ViewContext, facet_index

logger = logging.getLogger("hemewatch.serve")

# How long the scheduler may take to finish its current step once asked to stop.
STOP_TIMEOUT = 75.0
# How long after an unexpected exit the scheduler is started again.
RESTART_DELAY = 10.0
# How often a served app looks whether the data changed, to rebuild its facet index before a visitor asks.
WARM_EVERY = 30.0
# The import string of the app factory the web worker processes call (`serve --workers N`).
APP_FACTORY = "hemewatch.web.server:app_from_environment"


def serve(settings: Settings, *, host: str, port: int, workers: int = 1, scheduler: bool = True) -> None:
    """Serve the web app and JSON API (and run the scheduler, unless told not to) until interrupted.

    public_url, unless configured, becomes the address served (host and port) for the app and the
    scheduler alike. With several workers, each web process reads the settings from the environment
    and the configuration file as this one did.
    """
    served = settings.served_at(host, port)
    children = SchedulerProcess(served) if scheduler else None
    server: uvicorn.Server | None = None

    def interrupted(signum: int, frame: FrameType | None) -> None:
        # Called before uvicorn runs (stop at once), or when uvicorn passes on the signal it
        # handled after its graceful shutdown (nothing left to do: the scheduler is stopped below).
        if server is None or not server.should_exit:
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if children is not None:
            children.start()
        if workers <= 1:
            server = uvicorn.Server(_config(served_app(served), served, host=host, port=port))
            server.run()
        else:
            # The worker processes build their own app from the environment: the address served
            # reaches them as web_host and web_port (public_url, unless configured, follows).
            os.environ["HEMEWATCH_WEB_HOST"] = host
            os.environ["HEMEWATCH_WEB_PORT"] = str(port)
            uvicorn.run(
                APP_FACTORY,
                factory=True,
                workers=workers,
                host=host,
                port=port,
                server_header=False,
                proxy_headers=bool(served.forwarded_allow_ips),
                forwarded_allow_ips=served.forwarded_allow_ips or None,
                log_level="info",
            )
    finally:
        if children is not None:
            children.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _config(app: FastAPI, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        server_header=False,
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        log_level="info",
    )


def served_app(settings: Settings, *, warm_every: float = WARM_EVERY) -> FastAPI:
    """The app as a server process runs it: built, what lives as long as the process set aside, kept warm.

    Python's cycle collector otherwise walks every long-lived object (the libraries, the lexicon:
    ~150,000) at each full collection, ~80 ms in the middle of a request: those are the slowest
    requests of a busy server. Frozen, they are left out of its walks (`gc.freeze`).

    A thread rebuilds the facet index every search and listing starts from as soon as the data
    change (looked at every `warm_every` seconds), so the first visitor after a sync does not wait
    for it (0.5–1 s for 20,000 trials).
    """
    app = create_app(settings)
    gc.collect()
    gc.freeze()
    state = app.state.web
    threading.Thread(
        target=_keep_warm, args=(state, warm_every), name="hemewatch-facet-index", daemon=True
    ).start()
    return app


def _keep_warm(state: WebState, every: float) -> None:
    while not state.stopped.is_set():
        try:
            with state.engine.connect() as conn:
                facet_index(ViewContext(conn, state.cache, state.lexicon))
        except Exception:  # the database may be away for a while: requests report it, this tries again
            logger.debug("the facet index could not be built in advance", exc_info=True)
        state.stopped.wait(every)


def app_from_environment() -> FastAPI:
    """The app of one web worker process (`serve --workers N`): settings from the environment."""
    return served_app(load_settings())


class SchedulerProcess:
    """The scheduler in a child process: started, watched (restarted after a crash), stopped."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        """Start the scheduler and the thread that watches it."""
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="hemewatch-scheduler-watch", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        """Ask the scheduler to stop, wait for it (at most STOP_TIMEOUT, then kill it)."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()

    def _spawn(self) -> None:
        self._process = self._context.Process(
            target=run_scheduler_process, args=(self._settings,), name="hemewatch-scheduler"
        )
        self._process.start()

    def _watch(self) -> None:
        # The only thread that waits for the child (two waiting threads would race to reap it).
        while True:
            process = self._process
            while process.is_alive() and not self._stopping.is_set():
                multiprocessing.connection.wait([process.sentinel], timeout=0.5)
            if self._stopping.is_set():
                if process.is_alive():
                    process.terminate()
                    process.join(STOP_TIMEOUT)
                if process.is_alive():
                    logger.warning("the scheduler did not stop within %.0f s; killing it", STOP_TIMEOUT)
                    process.kill()
                    process.join()
                return
            if process.exitcode == 0:
                return  # it stopped on a signal of its own (Ctrl-C reaches the whole process group)
            logger.warning(
                "the scheduler process exited with code %s; starting it again in %.0f s",
                process.exitcode,
                RESTART_DELAY,
            )
            if self._stopping.wait(RESTART_DELAY):
                return
            self._spawn()


def run_scheduler_process(settings: Settings) -> None:
    """The scheduler child's main: log to stderr, stop on SIGTERM or SIGINT, or when the parent is gone."""
    # Imported here: the web worker processes never run a scheduler.
    from hemewatch.pipeline.scheduler import Scheduler
    from hemewatch.storage.engine import open_database

    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s hemewatch scheduler[%(process)d]: %(message)s",
    )
    stop = threading.Event()
    on_signal: Callable[[int, FrameType | None], None] = lambda signum, frame: stop.set()  # noqa: E731
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    parent = multiprocessing.parent_process()
    if parent is not None:

        def orphaned() -> None:
            parent.join()  # returns when the parent process is gone
            stop.set()

        threading.Thread(target=orphaned, name="hemewatch-parent-watch", daemon=True).start()
    engine = open_database(settings.effective_database_url)
    try:
        Scheduler(engine, settings, stop=stop).run()
    finally:
        engine.dispose()
