"""The scheduler: the daily cycle, due deliveries and periodic tasks, without cron.

One process at a time acts: the one holding the "scheduler" lock (a PostgreSQL advisory lock, or a
lock file beside a SQLite database). Any other stands by, says so, and tries the lock again every
poll interval, so it takes over within one interval when the acting one stops or dies.

The acting scheduler
- looks at the registry's `/version` every `poll_interval` seconds and runs the cycle
  (pipeline.cycle) as soon as its `dataTimestamp` differs from the last completed sync's;
- between cycles, sends deliveries as they fall due (weekly digests when their week ends, retries
  when their backoff is over): it wakes at the next due time computed from the outbox, and looks
  at the outbox at least every minute for deliveries queued by other processes;
- runs periodic tasks (reconciliation) when their interval has passed;
- writes a heartbeat (storage.runs.scheduler_heartbeats) that status reads.

A registry outage or a 429 is a logged notice, never a crash: the next poll comes after a backoff
that doubles up to 8 poll intervals. A stop request (SIGTERM, Ctrl-C) ends the current step at its
next safe point — between two pages of a sync, two batches of re-tagging, or during a wait — and
every step resumes where it stopped next time.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from hemewatch.alerts import send_due
from hemewatch.alerts.queue import worker_identity
from hemewatch.errors import HemewatchError, JobAlreadyRunning
from hemewatch.pipeline.cycle import CycleReport, daily_cycle, registry_client, who_runs
from hemewatch.pipeline.progress import Progress
from hemewatch.pipeline.reconcile import last_reconciled, reconcile
from hemewatch.pipeline.status import describe_age, next_delivery_due, sendable_channels
from hemewatch.registry.backoff import RetryPolicy
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.scope import Scope, load_scope
from hemewatch.settings import Settings
from hemewatch.storage.locks import Lease, LockHolder, job_lock, try_lock
from hemewatch.storage.runs import (
    COMPLETED_STATUSES,
    SYNC_KINDS,
    Heartbeat,
    last_run,
    prune_heartbeats,
    record_heartbeat,
    utc_now,
)
from hemewatch.storage.states import RunStatus

Clock = Callable[[], datetime]
logger = logging.getLogger("hemewatch.scheduler")

# The outbox is looked at least this often, for deliveries other processes queue.
OUTBOX_CHECK = 60.0
# A failing poll or task waits at most this many poll intervals before the next try.
MAX_BACKOFF_INTERVALS = 8
# An unexpected error (the database went away) is retried at most this many seconds later.
MAX_ERROR_PAUSE = 60.0
# Heartbeats of schedulers silent this long are deleted.
HEARTBEAT_KEPT = timedelta(days=7)


class StopRequested(BaseException):
    """The scheduler was asked to stop; raised at the next safe point of the current step."""


@dataclass(frozen=True)
class Notice:
    """One thing the scheduler did or saw, for its log."""

    at: datetime
    action: str  # started | active | standby | poll | cycle | send | task | busy | problem | note | stopped
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def is_problem(self) -> bool:
        """Whether a person should look at it."""
        return self.action == "problem"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"at": self.at.isoformat(), "action": self.action, "message": self.message, **self.data}


OnNotice = Callable[[Notice], None]


def log_notice(notice: Notice) -> None:
    """Write a notice to the `hemewatch.scheduler` logger (warnings for problems)."""
    logger.log(
        logging.WARNING if notice.is_problem else logging.INFO, "%s: %s", notice.action, notice.message
    )


@dataclass(frozen=True)
class TaskContext:
    """What a periodic task runs with."""

    engine: Engine
    settings: Settings
    client: RegistryClient
    scope: Scope
    progress: Progress
    now: datetime


@dataclass(frozen=True)
class PeriodicTask:
    """Work done every `interval` (under the sync lock), e.g. the weekly reconciliation.

    `last_done` reads from the database when it last completed (None: never, so it is due);
    `run` does it and returns a one-line summary for the log.
    """

    name: str
    interval: timedelta
    last_done: Callable[[Connection], datetime | None]
    run: Callable[[TaskContext], str]


def default_tasks(settings: Settings) -> list[PeriodicTask]:
    """The periodic tasks these settings ask for."""
    tasks: list[PeriodicTask] = []
    if settings.reconcile_interval > timedelta(0):
        tasks.extend(_reconcile_task(settings.reconcile_interval))
    return tasks


def _reconcile_task(interval: timedelta) -> list[PeriodicTask]:
    """The reconciliation (pipeline.reconcile): every followed trial checked upstream."""

    def run(context: TaskContext) -> str:
        report = reconcile(
            context.engine, context.client, context.scope, progress=context.progress, now=context.now
        )
        return f"run #{report.run_id} {report.status}: {report.summary()}"

    return [PeriodicTask("reconcile", interval, last_reconciled, run)]


@dataclass
class OnceResult:
    """What `Scheduler.run_once` did: nothing when another scheduler acts (`holder`), else its problems."""

    holder: LockHolder | None = None
    problems: list[str] = field(default_factory=list)
    cycles: list[CycleReport] = field(default_factory=list)

    @property
    def acted(self) -> bool:
        """Whether this process acted (held the scheduler lock)."""
        return self.holder is None


class _StopAwareProgress:
    """A Progress that stops a sync or a re-tagging at its next page or batch once a stop is asked."""

    def __init__(self, stop: threading.Event, on_note: Callable[[str], None]) -> None:
        self._stop = stop
        self._on_note = on_note

    def _check(self) -> None:
        if self._stop.is_set():
            raise StopRequested

    def start(self, description: str, total: float | None) -> None:
        """A phase begins: a safe point."""
        self._check()

    def advance(self, amount: float) -> None:
        """A page or batch is committed: a safe point."""
        self._check()

    def set_total(self, total: float) -> None:
        """Ignored."""

    def note(self, message: str) -> None:
        """Passed to the log."""
        self._on_note(message)


class Scheduler:
    """The scheduler of one process. `run()` until `stop` is set; `run_once()` for one pass."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        stop: threading.Event | None = None,
        on_notice: OnNotice | None = None,
        tasks: Sequence[PeriodicTask] | None = None,
        clock: Clock = utc_now,
        public_url_guessed: bool = False,
        outbox_check: float = OUTBOX_CHECK,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.stop = stop or threading.Event()
        self.identity = worker_identity()
        self._notify = on_notice or log_notice
        self._tasks = list(default_tasks(settings) if tasks is None else tasks)
        self._clock = clock
        self._public_url_guessed = public_url_guessed
        self._interval = settings.poll_interval
        self._outbox_check = outbox_check
        self._client: RegistryClient | None = None
        self._scope: Scope | None = None
        self._progress = _StopAwareProgress(self.stop, lambda m: self._notice("note", m))
        self._started_at = clock()
        self._active_since: datetime | None = None
        self._standing_by_for: tuple[int | None, str | None] | None = None
        self._failures = 0
        self._next_poll_at = self._started_at
        self._last_poll_at: datetime | None = None
        self._poll_error: str | None = None
        self._registry_timestamp: str | None = None
        self._next_due: datetime | None = None
        self._task_due: dict[str, datetime] = {}
        self._task_failures: dict[str, int] = {}
        self._waiting_for_smtp = 0
        self._pruned_at: datetime | None = None
        self._pass_problems: list[str] = []
        self._cycles: list[CycleReport] = []

    # --- running -----------------------------------------------------------------------------

    def run(self) -> None:
        """Act or stand by until `stop` is set; never raises for registry or database trouble."""
        self._announce()
        try:
            while not self.stop.is_set():
                try:
                    with try_lock(self.engine, "scheduler") as got:
                        if isinstance(got, LockHolder):
                            self._stand_by(got)
                        else:
                            self._act(got)
                except StopRequested:
                    break
                except Exception as exc:
                    self._failures += 1
                    pause = min(self._backoff(self._failures), MAX_ERROR_PAUSE)
                    self._notice("problem", f"{_describe(exc)}; trying again in {_seconds(pause)}")
                    self.stop.wait(pause)
        finally:
            self._finish()

    def run_once(self) -> OnceResult:
        """One pass if no other scheduler acts: look at the registry (and run the cycle if it moved),
        send what is due, run due periodic tasks. Returns who acts instead, or the problems met."""
        self._announce()
        try:
            with try_lock(self.engine, "scheduler") as got:
                if isinstance(got, LockHolder):
                    self._notice("standby", self._standby_message(got))
                    return OnceResult(holder=got)
                self._active_since = self._clock()
                self._notice("active", "acting for one pass (holding the scheduler lock)")
                self._step()
                return OnceResult(problems=list(self._pass_problems), cycles=list(self._cycles))
        finally:
            self._finish()

    def _announce(self) -> None:
        self._notice(
            "started",
            f"scheduler {self.identity} started: registry {self.settings.registry_url}, "
            f"looked at every {_seconds(self._interval)}",
        )
        if self._public_url_guessed:
            self._notice("note", self._public_url_warning())

    def _act(self, lease: Lease) -> None:
        self._active_since = self._clock()
        if self._standing_by_for is not None:
            self._notice("active", "taking over: the scheduler that acted has stopped (holding the lock now)")
        else:
            self._notice("active", "acting (holding the scheduler lock)")
        self._standing_by_for = None
        self._next_poll_at = self._clock()
        while not self.stop.is_set():
            if not lease.held():
                self._notice("problem", "lost the scheduler lock (its database session ended); standing down")
                self._active_since = None
                return
            self._step()
            if self.stop.is_set():
                return
            wake_at, action = self._plan()
            self._beat("active", next_action=action, next_action_at=wake_at, next_beat_at=wake_at)
            self._wait_until(wake_at)

    def _stand_by(self, holder: LockHolder) -> None:
        self._active_since = None
        key = (holder.pid, holder.host)
        if key != self._standing_by_for:
            self._standing_by_for = key
            self._notice("standby", self._standby_message(holder))
        retry_at = self._clock() + timedelta(seconds=self._interval)
        self._beat(
            "standby",
            next_action="take over if the acting scheduler stops",
            next_action_at=retry_at,
            next_beat_at=retry_at,
        )
        self._wait_until(retry_at)

    def _standby_message(self, holder: LockHolder) -> str:
        who = ", ".join(
            part
            for part in (
                f"pid {holder.pid}" if holder.pid is not None else "",
                f"on host {holder.host}" if holder.host else "",
            )
            if part
        )
        return (
            f"standing by: another scheduler acts ({who or 'holder unknown'}); "
            f"trying to take over every {_seconds(self._interval)}"
        )

    # --- one pass ----------------------------------------------------------------------------

    def _step(self) -> None:
        now = self._clock()
        if now >= self._next_poll_at:
            self._poll(now)
        if self.stop.is_set():
            return
        self._send()
        if self.stop.is_set():
            return
        self._run_tasks()
        self._prune()

    def _poll(self, now: datetime) -> None:
        try:
            version = self._registry().get_version()
        except HemewatchError as exc:
            self._poll_failed(now, f"the registry did not answer GET /version: {exc.message}")
            return
        self._last_poll_at = now
        self._poll_error = None
        self._registry_timestamp = version.data_timestamp
        with self.engine.connect() as conn:
            last = last_run(conn, kinds=SYNC_KINDS, status=COMPLETED_STATUSES)
        synced = last.data_timestamp if last is not None else None
        if synced == version.data_timestamp:
            self._failures = 0
            self._next_poll_at = now + timedelta(seconds=self._interval)
            self._notice("poll", f"registry data unchanged ({version.data_timestamp})")
            return
        self._notice(
            "cycle",
            f"registry data {version.data_timestamp} differ from the last completed sync's "
            f"({synced or 'none yet'}): running the cycle",
        )
        self._beat("active", next_action="running the cycle", next_action_at=now, next_beat_at=None)
        try:
            report = daily_cycle(
                self.engine,
                self.settings,
                client=self._registry(),
                scope=self._watch_scope(),
                who=who_runs("scheduler"),
                progress=self._progress,
                clock=self._clock,
            )
        except JobAlreadyRunning as exc:
            self._next_poll_at = now + timedelta(seconds=self._interval)
            self._notice("busy", f"not now: {exc.message.split(';')[0]}; trying again at the next poll")
            return
        self._cycles.append(report)
        self._cycle_done(now, report)

    def _cycle_done(self, now: datetime, report: CycleReport) -> None:
        run = report.run
        sync = report.sync
        parts = [f"cycle #{run.id} {run.status}"]
        if sync is not None:
            counts = sync.counts
            parts.append(
                f"{sync.kind} sync #{sync.id} {sync.status} (registry data {sync.data_timestamp}): "
                f"{counts['stored']} new versions, {counts['new_trials']} new trials, "
                f"{counts['events']} events"
            )
        if report.retagged:
            parts.append(f"re-tagged {report.retagged} versions")
        sent = report.deliveries
        parts.append(
            f"sent {sent.sent}, will retry {sent.retrying}, gave up on {sent.dead}, "
            f"cancelled {sent.cancelled}"
        )
        self._notice(
            "problem" if run.status == RunStatus.FAILED else "cycle", "; ".join(parts), run.to_dict()
        )
        for error in sent.errors:
            self._notice("problem", f"failed {error}")
            self._pass_problems.append(error)
        if report.retag_skipped:
            self._notice("note", f"not re-tagging: {report.retag_skipped}")
        if report.sync_error is not None:
            self._poll_failed(now, f"the sync failed: {run.error}")
            return
        if run.error:
            self._pass_problems.append(run.error)
        self._failures = 0
        self._next_poll_at = self._clock() + timedelta(seconds=self._interval)

    def _poll_failed(self, now: datetime, message: str) -> None:
        self._failures += 1
        delay = self._backoff(self._failures)
        self._next_poll_at = now + timedelta(seconds=delay)
        self._poll_error = message
        self._pass_problems.append(message)
        self._notice("problem", f"{message}; next look in {_seconds(delay)}")

    def _send(self) -> None:
        channels = sendable_channels(self.settings)
        with self.engine.connect() as conn:
            due = next_delivery_due(conn, channels)
        now = self._clock()
        if due is not None and due <= now:
            report = send_due(self.engine, self.settings, clock=self._clock)
            self._waiting_for_smtp = report.waiting_for_smtp
            if report.sent or report.failed or report.cancelled or report.released:
                self._notice(
                    "send",
                    f"sent {report.sent}, will retry {report.retrying}, gave up on {report.dead}, "
                    f"cancelled {report.cancelled}",
                    report.to_dict(),
                )
            for error in report.errors:
                self._notice("problem", f"failed {error}")
                self._pass_problems.append(error)
            with self.engine.connect() as conn:
                due = next_delivery_due(conn, channels)
        self._next_due = due

    def _run_tasks(self) -> None:
        for task in self._tasks:
            if self.stop.is_set():
                return
            now = self._clock()
            waiting_until = self._task_due.get(task.name)
            if waiting_until is not None and now < waiting_until:
                continue
            with self.engine.connect() as conn:
                last = task.last_done(conn)
            due = last + task.interval if last is not None else now
            if due > now:
                self._task_due[task.name] = due
                continue
            self._run_task(task, now)

    def _run_task(self, task: PeriodicTask, now: datetime) -> None:
        self._notice("task", f"{task.name}: starting (last done more than {_seconds(task.interval)} ago)")
        self._beat("active", next_action=f"running {task.name}", next_action_at=now, next_beat_at=None)
        context = TaskContext(
            self.engine, self.settings, self._registry(), self._watch_scope(), self._progress, now
        )
        try:
            with job_lock(self.engine, "sync"):
                summary = task.run(context)
        except JobAlreadyRunning as exc:
            self._task_due[task.name] = now + timedelta(seconds=self._interval)
            self._notice("busy", f"{task.name} not now: {exc.message.split(';')[0]}; trying again later")
            return
        except Exception as exc:
            failures = self._task_failures.get(task.name, 0) + 1
            self._task_failures[task.name] = failures
            delay = self._backoff(failures)
            self._task_due[task.name] = now + timedelta(seconds=delay)
            message = f"{task.name} failed: {_describe(exc)}"
            self._pass_problems.append(message)
            self._notice("problem", f"{message}; trying again in {_seconds(delay)}")
            return
        self._task_failures.pop(task.name, None)
        # Not before one poll interval, even if the task records no completion.
        self._task_due[task.name] = self._clock() + timedelta(seconds=self._interval)
        self._notice("task", f"{task.name}: {summary}")

    def _prune(self) -> None:
        now = self._clock()
        if self._pruned_at is not None and now - self._pruned_at < timedelta(hours=1):
            return
        with self.engine.begin() as conn:
            prune_heartbeats(conn, before=now - HEARTBEAT_KEPT)
        self._pruned_at = now

    # --- planning and waiting ----------------------------------------------------------------

    def _plan(self) -> tuple[datetime, str]:
        now = self._clock()
        candidates = [(self._next_poll_at, "look at the registry")]
        if self._next_due is not None:
            candidates.append((self._next_due, "send the deliveries falling due"))
        candidates.extend((due, f"run {name}") for name, due in self._task_due.items())
        candidates.append((now + timedelta(seconds=self._outbox_check), "look at the outbox"))
        at, action = min(candidates, key=lambda c: c[0])
        # Never spin: wait at least a moment (a second, or the poll interval when shorter).
        return max(at, now + timedelta(seconds=min(1.0, self._interval))), action

    def _wait_until(self, at: datetime) -> None:
        self.stop.wait(max(0.0, (at - self._clock()).total_seconds()))

    def _backoff(self, failures: int) -> float:
        # The poll interval after the first failure, doubling with each one, at most 8 intervals.
        policy = RetryPolicy(base=self._interval, cap=self._interval * MAX_BACKOFF_INTERVALS, jitter=False)
        return policy.delay(failures - 1)

    def _sleep(self, seconds: float) -> None:
        # The registry client waits here (rate limit, retries): a stop request ends the wait and the step.
        if self.stop.wait(seconds):
            raise StopRequested

    # --- resources, heartbeat, notices -------------------------------------------------------

    def _registry(self) -> RegistryClient:
        if self._client is None:
            self._client = registry_client(self.settings, sleep=self._sleep)
        return self._client

    def _watch_scope(self) -> Scope:
        if self._scope is None:
            self._scope = load_scope(self.settings.scope_file)
        return self._scope

    def _public_url_warning(self) -> str:
        return (
            f"HEMEWATCH_PUBLIC_URL is not set: links in mails, feeds and webhooks use "
            f"{self.settings.public_url} (from web_host and web_port); set it to the address readers use"
        )

    def _warnings(self) -> list[str]:
        found = []
        if self._public_url_guessed:
            found.append(self._public_url_warning())
        if self._waiting_for_smtp:
            found.append(
                f"{self._waiting_for_smtp} e-mail deliveries wait: set HEMEWATCH_SMTP_URL to send them"
            )
        return found

    def _beat(
        self,
        role: str,
        *,
        next_action: str | None = None,
        next_action_at: datetime | None = None,
        next_beat_at: datetime | None = None,
        stopped: bool = False,
    ) -> None:
        now = self._clock()
        beat = Heartbeat(
            worker=self.identity,
            host=socket.gethostname()[:120],
            pid=os.getpid(),
            role=role,
            started_at=self._started_at,
            beat_at=now,
            active_since=self._active_since,
            next_beat_at=next_beat_at,
            last_poll_at=self._last_poll_at,
            poll_error=self._poll_error,
            registry_timestamp=self._registry_timestamp,
            next_action=next_action,
            next_action_at=next_action_at,
            public_url=self.settings.public_url,
            warnings=self._warnings(),
            stopped_at=now if stopped else None,
        )
        with self.engine.begin() as conn:
            record_heartbeat(conn, beat)

    def _finish(self) -> None:
        try:
            self._beat("stopped", stopped=True)
        except Exception as exc:  # the database may be what failed; stopping must not
            self._notice("problem", f"could not record the stop: {_describe(exc)}")
        if self._client is not None:
            self._client.close()
            self._client = None
        self._notice("stopped", "scheduler stopped")

    def _notice(self, action: str, message: str, data: dict[str, Any] | None = None) -> None:
        self._notify(Notice(self._clock(), action, message, data or {}))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, HemewatchError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _seconds(value: float | timedelta) -> str:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if seconds < 10:
        return f"{seconds:g} s"
    return describe_age(seconds)
