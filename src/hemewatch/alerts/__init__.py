"""Trackers and alert delivery: match change events to saved filters, queue, render, deliver.

For the pipeline: `enqueue_deliveries` (in the transaction that stored the events).
For the web app: `create_tracker`, `get_tracker_by_manage_token`, `update_tracker`, `delete_tracker`,
`confirm_tracker`, `unsubscribe_tracker`, `send_confirmation_mail`, `get_tracker_by_feed_token`,
`render_tracker_feed`. For the command line: `send_due` and the queue functions.
docs/alerts.md describes them.
"""

from hemewatch.alerts.confirmation import send_confirmation_mail
from hemewatch.alerts.delivery import SendReport, send_due
from hemewatch.alerts.errors import (
    AmbiguousTracker,
    DeliveryFailed,
    InvalidTracker,
    MailNotConfigured,
    TrackerNotFound,
    UnsafeTarget,
)
from hemewatch.alerts.feeds import render_tracker_feed
from hemewatch.alerts.outbox import enqueue_deliveries
from hemewatch.alerts.queue import list_deliveries, retry_deliveries
from hemewatch.alerts.spec import CADENCES, EVENT_TYPES, MIN_SEVERITIES, TrackerSpec
from hemewatch.alerts.trackers import (
    Tracker,
    confirm_tracker,
    create_tracker,
    delete_tracker,
    find_tracker,
    get_tracker,
    get_tracker_by_feed_token,
    get_tracker_by_manage_token,
    list_trackers,
    reissue_manage_token,
    unsubscribe_tracker,
    update_tracker,
)

__all__ = [
    "CADENCES",
    "EVENT_TYPES",
    "MIN_SEVERITIES",
    "AmbiguousTracker",
    "DeliveryFailed",
    "InvalidTracker",
    "MailNotConfigured",
    "SendReport",
    "Tracker",
    "TrackerNotFound",
    "TrackerSpec",
    "UnsafeTarget",
    "confirm_tracker",
    "create_tracker",
    "delete_tracker",
    "enqueue_deliveries",
    "find_tracker",
    "get_tracker",
    "get_tracker_by_feed_token",
    "get_tracker_by_manage_token",
    "list_deliveries",
    "list_trackers",
    "reissue_manage_token",
    "render_tracker_feed",
    "retry_deliveries",
    "send_confirmation_mail",
    "send_due",
    "unsubscribe_tracker",
    "update_tracker",
]
