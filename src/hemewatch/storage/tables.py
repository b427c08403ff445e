"""The declared schema (SQLAlchemy Core), which Alembic migrations must produce exactly, and `chunks`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

from hemewatch.storage.states import ChannelKind, DeliveryStatus, RunStatus, allowed_values_sql

# Named constraints make migrations reproducible on SQLite (batch mode) and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
Json = JSON().with_variant(JSONB(), "postgresql")

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # full | incremental | import | cycle | …
    Column("status", String(16), nullable=False),  # a RunStatus
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("data_timestamp", String(40)),  # the registry's /version dataTimestamp, as sent
    Column("since", Date),  # lower bound of LastUpdatePostDate for incremental runs
    Column("baseline", Boolean, nullable=False, default=False),
    Column("fetched", Integer, nullable=False, default=0),
    Column("stored", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("new_trials", Integer, nullable=False, default=0),
    Column("out_of_scope", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("events", Integer, nullable=False, default=0),  # alertable change events detected
    Column("error", Text),
    Column("source", Text),  # the query or files this run read
    Column("details", Json),  # what else a run reports (a cycle: its sync, re-tagging and deliveries)
    CheckConstraint(allowed_values_sql("status", RunStatus), name="status"),
)

# One row per scheduler process (`hemewatch worker`, `hemewatch serve`): what it did last and plans next.
scheduler_heartbeats = Table(
    "scheduler_heartbeats",
    metadata,
    Column("worker", String(160), primary_key=True),  # host:pid:random
    Column("host", String(120), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("role", String(16), nullable=False),  # active | standby | stopped
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("active_since", DateTime(timezone=True)),
    Column("beat_at", DateTime(timezone=True), nullable=False),
    Column("next_beat_at", DateTime(timezone=True)),  # None while a long step (a cycle) runs
    Column("last_poll_at", DateTime(timezone=True)),
    Column("poll_error", Text),
    Column("registry_timestamp", String(40)),  # dataTimestamp seen at the last poll
    Column("next_action", Text),
    Column("next_action_at", DateTime(timezone=True)),
    Column("public_url", Text),  # the address links in its mails use
    Column("warnings", Json, nullable=False),
    Column("stopped_at", DateTime(timezone=True)),
)

trials = Table(
    "trials",
    metadata,
    Column("nct_id", String(11), primary_key=True),
    Column("current_version_id", BigInteger().with_variant(Integer(), "sqlite")),
    Column("version_count", Integer, nullable=False, default=0),
    Column("brief_title", Text),
    Column("overall_status", String(40)),
    Column("last_update_post_date", Date),
    # Denormalised from the current version for listing and filtering without decompressing it.
    Column("phases", String(64)),  # "PHASE1|PHASE2"
    Column("study_type", String(32)),
    Column("lead_sponsor", Text),
    Column("countries", Text),  # "|France|United States|" so a LIKE '%|France|%' finds one
    Column("start_date", String(10)),
    Column("primary_completion_date", String(10)),
    Column("enrollment", Integer),
    Column("has_results", Boolean),
    Column("conditions", Text),  # conditions and keywords, one per line, for text search
    Column("in_scope", Boolean, nullable=False, default=True),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_checked_at", DateTime(timezone=True), nullable=False),
    # What reconciliation found upstream: the record deleted, or its NCT id now an alias of another record.
    Column("removed_at", DateTime(timezone=True)),
    Column("merged_into", String(11)),
    Index(None, "current_version_id"),
    Index(None, "last_update_post_date"),
)

study_versions = Table(
    "study_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("nct_id", String(11), ForeignKey("trials.nct_id", ondelete="CASCADE"), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("last_update_post_date", Date),
    Column("version_holder", Date),
    Column("fetched_at", DateTime(timezone=True), nullable=False),
    Column("source", String(16), nullable=False),  # sync | import | demo
    Column("sync_run_id", BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("sync_runs.id")),
    Column("raw_size", Integer, nullable=False),
    Column("raw_zstd", LargeBinary, nullable=False),
    UniqueConstraint("nct_id", "content_hash"),
    Index(None, "nct_id", "last_update_post_date"),
)


def _version_of_row() -> Column[int]:
    """The version a tag or therapy row belongs to (deleted with it)."""
    return Column(
        "version_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("study_versions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


# One row per classified version: the headline labels, for fast listing and filtering.
classifications = Table(
    "classifications",
    metadata,
    Column(
        "version_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("study_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("nct_id", String(11), nullable=False, index=True),
    Column("lexicon_version", String(80), nullable=False),
    Column("acute_leukemia", Boolean, nullable=False),
    Column("immunotherapy", Boolean, nullable=False),
    Column("labels", Json, nullable=False),  # the guideline vocabulary, without evidence
    Column("classified_at", DateTime(timezone=True), nullable=False, index=True),  # the data stamp's
)

# Every tag of every classified version, with its evidence.
trial_tags = Table(
    "trial_tags",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _version_of_row(),
    Column("nct_id", String(11), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(160), nullable=False),
    Column("value_folded", String(160), nullable=False),  # lower case, for case-insensitive filters
    Column("evidence", Json, nullable=False),  # [{"path": …, "text": …}, …]
    Index(None, "kind", "value_folded", "version_id"),
)

# The therapies of every classified version: each studied intervention as agent -> modality -> targets,
# with its role in the trial and its evidence. `agent` is NULL for a product no lexicon names.
trial_therapies = Table(
    "trial_therapies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _version_of_row(),
    Column("nct_id", String(11), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("name_folded", Text, nullable=False),
    Column("agent", String(160)),
    Column("modality", String(64)),
    Column("drug_class", String(64)),
    Column("targets", Json, nullable=False),  # ["CD19", "CD22"]
    Column("role", String(16), nullable=False),
    Column("unresolved", Boolean, nullable=False),  # a product no lexicon names (see Therapy)
    Column("evidence", Json, nullable=False),  # [{"path": …, "text": …}, …]
    Index(None, "agent", "version_id"),
)

# The eligibility facts of every classified version (eligibility/model.py): what its criteria require,
# allow or exclude, in the order the criteria give them, each with its evidence sentence.
eligibility_facts = Table(
    "eligibility_facts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _version_of_row(),
    Column("nct_id", String(11), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(160), nullable=False),
    Column("polarity", String(16), nullable=False),  # required | excluded | allowed
    Column("section", String(16), nullable=False),  # inclusion | exclusion | unsectioned | record
    Column("low", Float),
    Column("high", Float),
    Column("evidence", Text, nullable=False),
    Index(None, "kind", "value", "version_id"),
)

# Trials followed by NCT id (`hemewatch add`, the web's "watch this trial"): kept in every sync, even
# outside the watch scope, with events and alerts like any trial in scope.
watched_trials = Table(
    "watched_trials",
    metadata,
    Column("nct_id", String(11), primary_key=True),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("added_by", String(16), nullable=False),  # cli | web
    Column("note", Text),
)

# The words a text search finds each trial by, from its current version (storage/text_index.py): title,
# conditions and keywords, interventions as written, its agents' lexicon names, sponsor and NCT id.
# `id` is the NCT number (the full-text row id). SQLite indexes `document` in the FTS5 table
# trial_search_fts (external content, kept by triggers); PostgreSQL indexes `words` (a tsvector) with GIN.
trial_search = Table(
    "trial_search",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column(
        "nct_id", String(11), ForeignKey("trials.nct_id", ondelete="CASCADE"), nullable=False, unique=True
    ),
    Column("document", Text, nullable=False),
    Column("words", Text().with_variant(TSVECTOR(), "postgresql")),
    Index(None, "words", postgresql_using="gin"),
)

# The registry's record history of a trial (its past versions, numbered from 0, with their dates and the
# modules each changed), and the stored version each became once fetched (`hemewatch backfill`).
record_history = Table(
    "record_history",
    metadata,
    Column("nct_id", String(11), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("version_date", Date),
    Column("overall_status", String(40)),
    Column("module_labels", Json),
    Column(
        "version_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("study_versions.id", ondelete="SET NULL"),
    ),
    Column("listed_at", DateTime(timezone=True), nullable=False),
    Column("fetched_at", DateTime(timezone=True)),
)

# Records set aside because they could not be stored: the raw JSON as received, why, and when.
# A record that later stores cleanly is marked resolved; the next run never stops on one.
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("nct_id", String(32)),  # as the record gives it (may be missing or invalid)
    Column("source", String(16), nullable=False),  # sync | import
    Column("location", Text, nullable=False),  # file and line or member, or the query page
    Column("field", Text),  # the field at fault, when known ("protocolSection.designModule.phases")
    Column("reason", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("raw_size", Integer, nullable=False),
    Column("raw_zstd", LargeBinary, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("seen_count", Integer, nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("sync_run_id", BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("sync_runs.id")),
    UniqueConstraint("content_hash"),
    Index(None, "nct_id"),
)

# Typed change events between consecutive versions of a trial.
change_events = Table(
    "change_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("nct_id", String(11), ForeignKey("trials.nct_id", ondelete="CASCADE"), nullable=False),
    Column("type", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("alertable", Boolean, nullable=False),
    Column("path", Text, nullable=False),
    Column("before", Json),
    Column("after", Json),
    Column("summary", Text, nullable=False),
    Column("old_version_id", BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("study_versions.id")),
    Column("new_version_id", BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("study_versions.id")),
    Column("registry_date", Date),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("sync_run_id", BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("sync_runs.id")),
    Index(None, "registry_date"),
    Index(None, "nct_id", "id"),
    Index(None, "type"),
)

# --- Alerts: trackers, what each tracker is told, and the delivery outbox ---

# A saved filter plus delivery channels. Secrets that must appear in every message (unsubscribe and
# feed links) are kept as they are and looked up by their SHA-256, so a lookup never compares the
# secret itself; manage and confirm tokens are shown once and only their hash is kept.
trackers = Table(
    "trackers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("uid", String(16), nullable=False, unique=True),  # random, part of every idempotency key
    Column("name", String(120), nullable=False),
    Column("email", String(320), nullable=False),
    Column("criteria", Json, nullable=False),  # filters, event types, minimum severity
    Column("cadence", String(16), nullable=False),  # immediate | daily | weekly
    Column("email_enabled", Boolean, nullable=False),
    Column("webhook_url", Text),
    Column("webhook_secret", String(64), nullable=False),
    Column("apprise_urls", Json, nullable=False),
    Column("feed_enabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),  # None: waiting for double opt-in
    Column("unsubscribed_at", DateTime(timezone=True)),
    Column("manage_token_hash", String(64), nullable=False, unique=True),
    Column("confirm_token_hash", String(64), unique=True),
    Column("unsubscribe_token", String(64), nullable=False),
    Column("unsubscribe_token_hash", String(64), nullable=False, unique=True),
    Column("feed_token", String(64), nullable=False),
    Column("feed_token_hash", String(64), nullable=False, unique=True),
    UniqueConstraint("email", "name"),
)

# What one tracker is told for one period (an event, a day, an ISO week). A part is sealed once a
# delivery of it is claimed; events found later in the same period go into the next part.
tracker_notifications = Table(
    "tracker_notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "tracker_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("trackers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("period", String(32), nullable=False),  # event-123 | 2026-11-21 | 2026-W47
    Column("part", Integer, nullable=False),
    Column("idempotency_key", String(80), nullable=False, unique=True),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("sealed", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tracker_id", "period", "part"),
)

# Every event each tracker was matched to, once (the feed reads this; digests group it).
tracker_events = Table(
    "tracker_events",
    metadata,
    Column(
        "tracker_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("trackers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "event_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("change_events.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "notification_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("tracker_notifications.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)

# The outbox: one row per notification and channel target, with its retry state.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "notification_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("tracker_notifications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("channel", String(16), nullable=False),  # a ChannelKind
    Column("target", Text, nullable=False),
    Column("target_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # a DeliveryStatus
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_expires_at", DateTime(timezone=True)),
    Column("claimed_by", String(160)),
    Column("claim_token", String(32)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("notification_id", "channel", "target_hash"),
    Index(None, "status", "next_attempt_at"),
    CheckConstraint(allowed_values_sql("channel", ChannelKind), name="channel"),
    CheckConstraint(allowed_values_sql("status", DeliveryStatus), name="status"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("error", Text),
    Column("worker", String(160)),
)

# Mail the web forms send, counted per hour: per recipient address, per client and in total.
# Keys are hashed (no address is kept in clear); old windows are pruned as new ones open.
mail_quota = Table(
    "mail_quota",
    metadata,
    Column("scope", String(16), primary_key=True),  # address | client | total
    Column("key_hash", String(64), primary_key=True),
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("sent", Integer, nullable=False),
)


_Item = TypeVar("_Item")

# How many values one `IN (…)` holds: well under SQLite's and psycopg's parameter limits.
IN_CHUNK = 500


def chunks(items: Sequence[_Item], size: int = IN_CHUNK) -> Iterator[Sequence[_Item]]:
    """The items in consecutive slices of `size`, for queries that take them in an `IN (…)`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
