"""The state columns hold only their enum's values (CHECK constraints); migration 0012 keeps every row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hemewatch.alerts import TrackerSpec, create_tracker
from hemewatch.storage import engine as storage_engine
from hemewatch.storage.engine import current_revision, head_revision, migrate
from hemewatch.storage.runs import start_run
from hemewatch.storage.states import ChannelKind, DeliveryStatus, RunStatus
from hemewatch.storage.tables import (
    change_events,
    deliveries,
    delivery_attempts,
    study_versions,
    sync_runs,
    tracker_notifications,
    trials,
)

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _seed(engine: Engine) -> dict[str, int]:
    """A run referenced by a version and an event, and a delivery with an attempt."""
    with engine.begin() as conn:
        run_id = start_run(conn, kind="full", source="test")
        conn.execute(
            insert(trials).values(
                nct_id="NCT00000012", version_count=1, in_scope=True, first_seen_at=NOW, last_checked_at=NOW
            )
        )
        version_id = conn.execute(
            insert(study_versions)
            .values(
                nct_id="NCT00000012",
                content_hash="h",
                fetched_at=NOW,
                source="sync",
                raw_size=2,
                raw_zstd=b"",
                sync_run_id=run_id,
            )
            .returning(study_versions.c.id)
        ).scalar_one()
        conn.execute(
            insert(change_events).values(
                nct_id="NCT00000012",
                new_version_id=version_id,
                sync_run_id=run_id,
                type="new_trial",
                severity="info",
                path="",
                summary="New trial",
                detected_at=NOW,
                alertable=True,
            )
        )
        spec = TrackerSpec(name="States", email="states@example.org")
        tracker = create_tracker(conn, spec, now=NOW, confirmed=True)
        notification_id = conn.execute(
            insert(tracker_notifications)
            .values(
                tracker_id=tracker.id,
                period="p",
                part=1,
                idempotency_key="k",
                due_at=NOW,
                sealed=False,
                created_at=NOW,
            )
            .returning(tracker_notifications.c.id)
        ).scalar_one()
        delivery_id = conn.execute(
            insert(deliveries)
            .values(**_delivery(notification_id, status=DeliveryStatus.SENT, channel=ChannelKind.WEBHOOK))
            .returning(deliveries.c.id)
        ).scalar_one()
        conn.execute(
            insert(delivery_attempts).values(
                delivery_id=delivery_id, started_at=NOW, finished_at=NOW, ok=True, worker="w"
            )
        )
    return {"run": run_id, "notification": notification_id, "delivery": delivery_id}


def _delivery(
    notification_id: int, *, status: str, channel: str, target: str = "https://example.org/h"
) -> Any:
    return {
        "notification_id": notification_id,
        "channel": channel,
        "target": target,
        "target_hash": target[-64:],
        "status": status,
        "attempts": 0,
        "next_attempt_at": NOW,
        "created_at": NOW,
    }


def _refused(engine: Engine, statement: Any) -> bool:
    try:
        with engine.begin() as conn:
            conn.execute(statement)
    except IntegrityError:
        return True
    return False


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (sync_runs, study_versions, change_events, deliveries, delivery_attempts)
        }


def test_every_enum_value_is_accepted_and_an_unknown_state_is_refused(engine: Engine) -> None:
    ids = _seed(engine)
    with engine.begin() as conn:
        for status in RunStatus:
            conn.execute(update(sync_runs).where(sync_runs.c.id == ids["run"]).values(status=status))
        pairs = [(state, channel) for state in DeliveryStatus for channel in ChannelKind]
        for n, (state, channel) in enumerate(pairs):
            row = _delivery(ids["notification"], status=state, channel=channel, target=f"t{n}")
            conn.execute(insert(deliveries).values(**row))
    assert _refused(engine, update(sync_runs).values(status="done"))
    assert _refused(engine, update(deliveries).values(status="retrying"))
    assert _refused(engine, update(deliveries).values(channel="sms"))
    assert _refused(engine, insert(sync_runs).values(kind="full", status="Running", started_at=NOW))
    assert not _refused(engine, update(sync_runs).values(status=RunStatus.ABANDONED))


def _to(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        config = storage_engine._alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_migration_0012_downgrades_and_upgrades_with_existing_rows(engine: Engine) -> None:
    ids = _seed(engine)
    before = _counts(engine)
    assert before == {
        "sync_runs": 1,
        "study_versions": 1,
        "change_events": 1,
        "deliveries": 1,
        "delivery_attempts": 1,
    }
    _to(engine, "0011")
    with engine.connect() as conn:
        assert current_revision(conn) == "0011"
    assert _counts(engine) == before
    # Without the constraints an unknown state goes in; it is taken out before upgrading again.
    assert not _refused(engine, update(deliveries).values(status="retrying"))
    with engine.begin() as conn:
        conn.execute(update(deliveries).values(status=DeliveryStatus.PENDING))
    migrate(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        assert conn.execute(select(delivery_attempts.c.delivery_id)).scalars().all() == [ids["delivery"]]
        assert conn.execute(select(study_versions.c.sync_run_id)).scalars().all() == [ids["run"]]
        assert conn.execute(select(deliveries.c.status)).scalars().all() == ["pending"]
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    assert _counts(engine) == before
    assert _refused(engine, update(deliveries).values(status="retrying"))
    assert _refused(engine, update(sync_runs).values(status="done"))
    # The references still cascade to the rebuilt tables.
    with engine.begin() as conn:
        conn.execute(deliveries.delete())
    assert _counts(engine)["delivery_attempts"] == 0


def test_an_existing_unknown_state_stops_the_upgrade(engine: Engine) -> None:
    _seed(engine)
    _to(engine, "0011")
    with engine.begin() as conn:
        conn.execute(update(sync_runs).values(status="weird"))
    with pytest.raises(IntegrityError):
        migrate(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == "0011"
        assert conn.execute(select(sync_runs.c.status)).scalars().all() == ["weird"]
