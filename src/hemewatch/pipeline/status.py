"""What `hemewatch status`, the /status page and GET /api/v1/status say: one read-only look at the service.

How fresh the data are (the registry release of the last completed sync, its age, the last look at
the registry), the last run of each kind with its problems, what waits in the outbox, and which
scheduler acts. `system_status` returns plain JSON-ready values; each caller only presents them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from hemewatch.settings import Settings
from hemewatch.storage.backlog import backlog_counts, waiting_deliveries
from hemewatch.storage.locks import LockHolder, lock_holder
from hemewatch.storage.quarantine import count_quarantined
from hemewatch.storage.runs import (
    COMPLETED_STATUSES,
    CYCLE_KIND,
    FAILED_STATUSES,
    SYNC_KINDS,
    Heartbeat,
    SyncRun,
    last_run,
    last_run_of_each,
    list_heartbeats,
    mirror_summary,
    utc_now,
)
from hemewatch.storage.states import DeliveryStatus, RunStatus

# The runs status reports, by name: the last of each.
RUN_GROUPS: dict[str, tuple[str, ...]] = {
    "sync": SYNC_KINDS,
    "cycle": (CYCLE_KIND,),
    "reconcile": ("reconcile",),
    "import": ("import",),
    "backfill": ("backfill",),
}
CHANNELS = ("email", "webhook", "apprise")
WAITING_STATES = ("pending", "retrying", "sending", "dead")
# The registry publishes on weekdays: data older than this (a long weekend included) are stale.
STALE_DATA = timedelta(days=4)
# A scheduler that has not beaten this long after it said it would is silent.
HEARTBEAT_GRACE = timedelta(minutes=2)
# Heartbeats older than this are not shown.
HEARTBEAT_HORIZON = timedelta(days=7)


def email_enabled(settings: Settings) -> bool:
    """Whether e-mail deliveries can be sent (the sender skips them otherwise)."""
    return bool(settings.smtp_url)


def sendable_channels(settings: Settings) -> tuple[str, ...]:
    """The channels the sender delivers on with these settings."""
    return tuple(c for c in CHANNELS if c != "email" or email_enabled(settings))


def next_delivery_due(conn: Connection, channels: Collection[str]) -> datetime | None:
    """When the next delivery on these channels falls due (it may be past), or None when none waits."""
    found: datetime | None = None
    for row in waiting_deliveries(conn, channels):
        when: datetime | None
        if row.status == DeliveryStatus.SENDING:
            # Claimed by a sender: due again only if its lease runs out.
            when = _utc(row.lease_expires_at)
        else:
            when = max(_as_utc(row.next_attempt_at), _as_utc(row.due_at))
        if when is not None and (found is None or when < found):
            found = when
    return found


def outbox_summary(conn: Connection, settings: Settings, *, now: datetime) -> dict[str, Any]:
    """Deliveries waiting, by channel and state (retrying: pending after a failed attempt); the next due."""
    channels: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(WAITING_STATES, 0))
    for channel, state, count in backlog_counts(conn):
        channels[channel][state] = count
    due = next_delivery_due(conn, sendable_channels(settings))
    waiting_for_smtp = 0
    if not email_enabled(settings):
        waiting_for_smtp = (
            sum(channels["email"][s] for s in ("pending", "retrying")) if "email" in channels else 0
        )
    return {
        "channels": {name: channels[name] for name in CHANNELS if name in channels},
        "waiting": sum(n for counts in channels.values() for s, n in counts.items() if s != "dead"),
        "dead": sum(counts["dead"] for counts in channels.values()),
        "next_due_at": _iso(due),
        "due_now": due is not None and due <= now,
        "waiting_for_smtp": waiting_for_smtp,
    }


def system_status(
    engine: Engine, settings: Settings, *, now: datetime | None = None, private: bool = True
) -> dict[str, Any]:
    """Everything status shows, JSON-ready.

    The keys of `mirror_summary` (`trials`, `versions`, `last_sync`, …) come first, unchanged;
    then `freshness`, `runs`, `outbox`, `scheduler`, `public_url`, `problems`. With
    `private=False` (the web), delivery targets and error texts that name them are left out.
    """
    now = now or utc_now()
    with engine.connect() as conn:
        summary = mirror_summary(conn)
        summary["quarantined"] = count_quarantined(conn)
        runs = last_run_of_each(conn, RUN_GROUPS)
        last_sync_attempt = last_run(conn, kinds=SYNC_KINDS)
        last_completed = last_run(conn, kinds=SYNC_KINDS, status=COMPLETED_STATUSES)
        beats = list_heartbeats(conn, since=now - HEARTBEAT_HORIZON)
        outbox = outbox_summary(conn, settings, now=now)
    holder = lock_holder(engine, "scheduler")
    scheduler = _scheduler(beats, holder, now)
    freshness = _freshness(last_completed, last_sync_attempt, beats, now)
    summary.update(
        checked_at=_iso(now),
        freshness=freshness,
        runs={name: _run(run, private=private) for name, run in runs.items()},
        outbox=outbox,
        scheduler=scheduler,
        public_url={"value": settings.public_url, "set": settings.public_url_is_set},
    )
    summary["problems"] = _problems(summary, runs, settings)
    return summary


def _run(run: SyncRun | None, *, private: bool) -> dict[str, Any] | None:
    if run is None:
        return None
    shown = run.to_dict()
    if not private:
        # Delivery errors name their targets (addresses, webhook URLs); import sources name files.
        details = dict(shown.get("details") or {})
        if isinstance(details.get("deliveries"), dict):
            details["deliveries"] = {k: v for k, v in details["deliveries"].items() if k != "errors"}
        shown["details"] = details or None
        if run.kind not in SYNC_KINDS:
            shown["source"] = None
    return shown


def _freshness(
    completed: SyncRun | None, attempted: SyncRun | None, beats: list[Heartbeat], now: datetime
) -> dict[str, Any]:
    polls = [(b.last_poll_at, b.registry_timestamp) for b in beats if b.last_poll_at is not None]
    if attempted is not None:
        polls.append((attempted.started_at, attempted.data_timestamp))
    last_poll, seen = max(polls, key=lambda p: p[0]) if polls else (None, None)
    data_timestamp = completed.data_timestamp if completed else None
    released = registry_time(data_timestamp)
    return {
        "data_timestamp": data_timestamp,
        "data_age_seconds": _seconds(now - released) if released else None,
        "synced_at": _iso(completed.finished_at) if completed else None,
        "last_polled_at": _iso(last_poll),
        "last_poll_age_seconds": _seconds(now - last_poll) if last_poll else None,
        "registry_timestamp": seen,
        "behind": bool(seen and data_timestamp and seen != data_timestamp),
    }


def _scheduler(beats: list[Heartbeat], holder: LockHolder | None, now: datetime) -> dict[str, Any]:
    def holds(beat: Heartbeat) -> bool:
        return holder is not None and beat.pid == holder.pid and (holder.host in (None, beat.host))

    active = next((b for b in beats if b.role == "active" and holds(b)), None)
    if active is None and holder is not None:
        active = next((b for b in beats if b.role == "active" and b.stopped_at is None), None)
    live = [b for b in beats if b.role == "standby" and not _silent(b, now)]
    last_seen = beats[0] if beats else None
    # Since when it acts: its own word (a PostgreSQL lock session's time moves with each check).
    since = (
        active.active_since
        if active is not None and active.active_since
        else holder.since
        if holder
        else None
    )
    return {
        "running": holder is not None,
        "lock": None if holder is None else {"pid": holder.pid, "host": holder.host, "since": _iso(since)},
        "active": _beat(active, now) if active is not None else None,
        "standby": [_beat(b, now) for b in live],
        "last_seen": _beat(last_seen, now) if last_seen is not None else None,
    }


def _beat(beat: Heartbeat, now: datetime) -> dict[str, Any]:
    shown = beat.to_dict()
    shown["beat_age_seconds"] = _seconds(now - beat.beat_at)
    shown["silent"] = _silent(beat, now)
    return shown


def _silent(beat: Heartbeat, now: datetime) -> bool:
    if beat.role == "stopped":
        return False
    if beat.next_beat_at is None:  # in a long step (a cycle): silent only after a long while
        return now - beat.beat_at > timedelta(hours=6)
    return now > beat.next_beat_at + HEARTBEAT_GRACE


def _problems(summary: dict[str, Any], runs: dict[str, SyncRun | None], settings: Settings) -> list[str]:
    found: list[str] = []
    fresh, outbox, scheduler = summary["freshness"], summary["outbox"], summary["scheduler"]
    sync = runs["sync"]
    if sync is not None and sync.status in FAILED_STATUSES:
        found.append(f"the last sync (#{sync.id}) {sync.status}: {sync.error or 'no reason recorded'}")
    if summary["quarantined"]:
        found.append(
            f"{summary['quarantined']} records could not be stored (`hemewatch quarantine` lists them)"
        )
    if summary["last_completed_sync"] is None and summary["last_import"] is None:
        found.append("nothing is mirrored yet: no sync or import has completed")
    age = fresh["data_age_seconds"]
    if age is not None and age > STALE_DATA.total_seconds():
        found.append(f"the registry data are {describe_age(age)} old (release {fresh['data_timestamp']})")
    if fresh["behind"]:
        found.append(
            f"the registry has newer data ({fresh['registry_timestamp']}) than the last completed sync "
            f"({fresh['data_timestamp']})"
        )
    cycle = runs["cycle"]
    if cycle is not None and cycle.status not in (*COMPLETED_STATUSES, RunStatus.RUNNING):
        found.append(f"the last cycle (#{cycle.id}) {cycle.status}: {cycle.error or 'no reason recorded'}")
    elif cycle is not None and cycle.status != RunStatus.COMPLETED and cycle.error:
        found.append(f"the last cycle (#{cycle.id}): {cycle.error}")
    for name in ("reconcile", "backfill"):
        run = runs[name]
        if run is not None and run.status in FAILED_STATUSES:
            found.append(f"the last {name} (#{run.id}) {run.status}: {run.error or 'no reason recorded'}")
    if outbox["dead"]:
        found.append(
            f"{outbox['dead']} deliveries gave up after every attempt "
            "(`hemewatch alerts list --failed`, `hemewatch alerts retry`)"
        )
    if outbox["waiting_for_smtp"]:
        found.append(
            f"{outbox['waiting_for_smtp']} e-mail deliveries wait: set HEMEWATCH_SMTP_URL to send them"
        )
    active, last_seen = scheduler["active"], scheduler["last_seen"]
    if scheduler["running"] and active is not None and active["silent"]:
        found.append(f"the scheduler has not reported for {describe_age(active['beat_age_seconds'])}")
    if scheduler["running"] and active is not None:
        found.extend(active["warnings"])
        if active["poll_error"]:
            found.append(f"the scheduler's last look at the registry failed: {active['poll_error']}")
    if not scheduler["running"] and last_seen is not None and last_seen["role"] != "stopped":
        found.append(
            f"no scheduler is running: the last one (pid {last_seen['pid']} on {last_seen['host']}) "
            f"stopped without a word {describe_age(last_seen['beat_age_seconds'])} ago"
        )
    return found


def registry_time(data_timestamp: str | None) -> datetime | None:
    """The registry's dataTimestamp as a time (read as UTC; it carries no zone), or None."""
    if not data_timestamp:
        return None
    try:
        parsed = datetime.fromisoformat(data_timestamp)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def describe_age(seconds: float | None) -> str:
    """'40 s', '12 min', '3 h 5 min', '2 days 4 h'."""
    if seconds is None:
        return "—"
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    value = _utc(value)
    return value.isoformat(timespec="seconds") if value is not None else None


def _seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 1)
