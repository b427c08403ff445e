"""Trackers, the events each tracker was matched to, and the delivery outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "trackers",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(16), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("criteria", Json, nullable=False),
        sa.Column("cadence", sa.String(16), nullable=False),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column("webhook_url", sa.Text()),
        sa.Column("webhook_secret", sa.String(64), nullable=False),
        sa.Column("apprise_urls", Json, nullable=False),
        sa.Column("feed_enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.Column("confirmed_at", Moment),
        sa.Column("unsubscribed_at", Moment),
        sa.Column("manage_token_hash", sa.String(64), nullable=False),
        sa.Column("confirm_token_hash", sa.String(64)),
        sa.Column("unsubscribe_token", sa.String(64), nullable=False),
        sa.Column("unsubscribe_token_hash", sa.String(64), nullable=False),
        sa.Column("feed_token", sa.String(64), nullable=False),
        sa.Column("feed_token_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trackers"),
        sa.UniqueConstraint("uid", name="uq_trackers_uid"),
        sa.UniqueConstraint("email", "name", name="uq_trackers_email_name"),
        sa.UniqueConstraint("manage_token_hash", name="uq_trackers_manage_token_hash"),
        sa.UniqueConstraint("confirm_token_hash", name="uq_trackers_confirm_token_hash"),
        sa.UniqueConstraint("unsubscribe_token_hash", name="uq_trackers_unsubscribe_token_hash"),
        sa.UniqueConstraint("feed_token_hash", name="uq_trackers_feed_token_hash"),
    )
    op.create_table(
        "tracker_notifications",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tracker_id", Id, nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(80), nullable=False),
        sa.Column("due_at", Moment, nullable=False),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_notifications"),
        sa.ForeignKeyConstraint(
            ["tracker_id"],
            ["trackers.id"],
            name="fk_tracker_notifications_tracker_id_trackers",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("idempotency_key", name="uq_tracker_notifications_idempotency_key"),
        sa.UniqueConstraint(
            "tracker_id", "period", "part", name="uq_tracker_notifications_tracker_id_period_part"
        ),
    )
    op.create_table(
        "tracker_events",
        sa.Column("tracker_id", Id, nullable=False),
        sa.Column("event_id", Id, nullable=False),
        sa.Column("notification_id", Id, nullable=False),
        sa.PrimaryKeyConstraint("tracker_id", "event_id", name="pk_tracker_events"),
        sa.ForeignKeyConstraint(
            ["tracker_id"], ["trackers.id"], name="fk_tracker_events_tracker_id_trackers", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["change_events.id"],
            name="fk_tracker_events_event_id_change_events",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["tracker_notifications.id"],
            name="fk_tracker_events_notification_id_tracker_notifications",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_tracker_events_notification_id", "tracker_events", ["notification_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("notification_id", Id, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("target_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Moment, nullable=False),
        sa.Column("lease_expires_at", Moment),
        sa.Column("claimed_by", sa.String(160)),
        sa.Column("claim_token", sa.String(32)),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("sent_at", Moment),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["tracker_notifications.id"],
            name="fk_deliveries_notification_id_tracker_notifications",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "notification_id",
            "channel",
            "target_hash",
            name="uq_deliveries_notification_id_channel_target_hash",
        ),
    )
    op.create_index("ix_deliveries_status_next_attempt_at", "deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", Id, nullable=False),
        sa.Column("started_at", Moment, nullable=False),
        sa.Column("finished_at", Moment, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("worker", sa.String(160)),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name="fk_delivery_attempts_delivery_id_deliveries",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_delivery_attempts_delivery_id", "delivery_attempts", ["delivery_id"])


def downgrade() -> None:
    op.drop_table("delivery_attempts")
    op.drop_table("deliveries")
    op.drop_table("tracker_events")
    op.drop_table("tracker_notifications")
    op.drop_table("trackers")
