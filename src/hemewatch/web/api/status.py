"""/api/v1/status: how fresh the mirror is, the last runs and their problems, the outbox and the scheduler."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from hemewatch.pipeline.status import system_status
from hemewatch.web.deps import State

router = APIRouter(prefix="/status", tags=["status"])


class FreshnessOut(BaseModel):
    """How fresh the mirrored data are."""

    data_timestamp: str | None = Field(description="The registry's dataTimestamp of the last completed sync.")
    data_age_seconds: float | None = Field(description="Age of that release (its timestamp read as UTC).")
    synced_at: str | None = Field(description="When the last completed sync finished.")
    last_polled_at: str | None = Field(description="When the registry was last asked for its data timestamp.")
    last_poll_age_seconds: float | None
    registry_timestamp: str | None = Field(description="The data timestamp the registry gave then.")
    behind: bool = Field(description="The registry has a newer release than the last completed sync.")


class OutboxOut(BaseModel):
    """Deliveries waiting to be sent."""

    channels: dict[str, dict[str, int]] = Field(
        description="Per channel (email, webhook, apprise): pending, retrying, sending and dead deliveries."
    )
    waiting: int = Field(description="Deliveries not yet sent and not given up.")
    dead: int = Field(description="Deliveries given up after every attempt.")
    next_due_at: str | None = Field(description="When the next delivery falls due.")
    due_now: bool
    waiting_for_smtp: int = Field(description="E-mail deliveries that wait for HEMEWATCH_SMTP_URL.")


class PublicUrlOut(BaseModel):
    """The address links in mails and feeds use."""

    value: str
    set: bool = Field(description="Configured (HEMEWATCH_PUBLIC_URL), not the served address.")


class StatusOut(BaseModel):
    """The service at a glance (the same facts as `hemewatch status --json`, without delivery targets)."""

    trials: int
    trials_in_scope: int
    versions: int
    quarantined: int
    last_sync: dict[str, Any] | None
    last_completed_sync: dict[str, Any] | None
    last_import: dict[str, Any] | None
    checked_at: str
    freshness: FreshnessOut
    runs: dict[str, dict[str, Any] | None] = Field(
        description="The last run of each kind: sync, cycle, reconcile, import, backfill (null: never)."
    )
    outbox: OutboxOut
    scheduler: dict[str, Any] = Field(
        description="Whether a scheduler runs (holds the lock), the acting one's heartbeat, those on standby."
    )
    public_url: PublicUrlOut
    problems: list[str] = Field(description="What needs attention, in words.")


@router.get("", summary="Service status")
def api_status(state: State, response: Response) -> StatusOut:
    """How fresh the data are, the last runs with their problems, what waits to be sent, the scheduler."""
    response.headers["cache-control"] = "no-cache"
    return StatusOut.model_validate(system_status(state.engine, state.settings, private=False))
