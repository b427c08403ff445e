"""Webhook: the notification as a JSON document, one entry per event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from hemewatch.alerts.digest import Digest, TrialChanges
from hemewatch.storage.events import StoredEvent

SCHEMA_VERSION = 1


def _event(stored: StoredEvent, trial: TrialChanges) -> dict[str, Any]:
    return {
        **stored.to_dict(),
        "title": trial.title,
        "tags": list(trial.tags),
        "url": trial.web_url,
        "registry_url": trial.registry_url,
    }


def render_webhook_body(digest: Digest, events: Sequence[StoredEvent], *, sent_at: datetime) -> bytes:
    """The JSON body: delivery id, tracker, period and every event with its trial's title and links."""
    trials = {trial.nct_id: trial for trial in digest.trials}
    by_id = {stored.id: stored for stored in events}
    ordered = [by_id[change.event_id] for trial in digest.trials for change in trial.changes]
    document = {
        "version": SCHEMA_VERSION,
        "delivery_id": digest.idempotency_key,
        "sent_at": sent_at.isoformat(),
        "tracker": {"id": digest.tracker_id, "name": digest.tracker_name, "cadence": digest.cadence},
        "period": digest.period,
        "trial_count": digest.trial_count,
        "event_count": digest.change_count,
        "events": [_event(stored, trials[stored.event.nct_id]) for stored in ordered],
    }
    return orjson.dumps(document)
