"""The declared schema (SQLAlchemy Core). Alembic migrations must produce exactly this."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
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
from sqlalchemy.dialects.postgresql import JSONB

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
    Column("kind", String(16), nullable=False),  # full | incremental | import
    Column("status", String(16), nullable=False),  # running | completed | failed | skipped
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
    Column("in_scope", Boolean, nullable=False, default=True),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_checked_at", DateTime(timezone=True), nullable=False),
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
    Column("classified_at", DateTime(timezone=True), nullable=False),
)

# Every tag of every classified version, with its evidence.
trial_tags = Table(
    "trial_tags",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "version_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("study_versions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("nct_id", String(11), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(160), nullable=False),
    Column("evidence", Json, nullable=False),  # [{"path": …, "text": …}, …]
    Index(None, "kind", "value"),
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
