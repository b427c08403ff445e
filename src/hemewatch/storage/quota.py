"""Hourly mail quotas kept in the database, so every process and thread shares one count.

Each quota is a counter row per (scope, hashed key, hour). Taking one is a conditional
`UPDATE … SET sent = sent + 1 WHERE sent < limit`: on PostgreSQL concurrent updates of a row wait
for each other and re-check the condition, on SQLite the single writer serialises them, so at most
`limit` takes succeed in an hour whatever the concurrency. Quotas are taken in a fixed order
(address, client, total) inside the caller's transaction: a refused one rolls back the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from hemewatch.errors import MailLimitReached
from hemewatch.storage.tables import mail_quota

WINDOW: Final = timedelta(hours=1)
SCOPE_ORDER: Final = ("address", "client", "total", "feed_tracker")
_MESSAGES: Final = {
    "address": "Several mails were sent to this address within the hour; try again later.",
    "client": "Several mails were requested from your network address within the hour; try again later.",
    "total": "This site has sent as many mails as it may this hour; try again later.",
    # Not a mail: feed-only trackers made from the web when no mail server is set up, per client.
    "feed_tracker": "Several trackers were made from your network address within the hour; try again later.",
}


@dataclass(frozen=True)
class Quota:
    """At most `limit` mails an hour for one key of a scope (address, client or total)."""

    scope: str
    key: str
    limit: int

    @property
    def key_hash(self) -> str:
        """The key as stored: addresses and client addresses are never kept in clear."""
        text = f"{self.scope}\x00{self.key.strip().casefold()}"
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def window_start(now: datetime) -> datetime:
    """The start of the hour `now` falls in."""
    return now.replace(minute=0, second=0, microsecond=0)


def _insert(conn: Connection) -> Any:
    return postgresql.insert(mail_quota) if conn.dialect.name == "postgresql" else sqlite.insert(mail_quota)


def _take_one(conn: Connection, quota: Quota, window: datetime) -> bool:
    """Count one mail against the quota; False (nothing counted) when it is used up."""
    key = and_(
        mail_quota.c.scope == quota.scope,
        mail_quota.c.key_hash == quota.key_hash,
        mail_quota.c.window_start == window,
    )
    conn.execute(
        _insert(conn)
        .values(scope=quota.scope, key_hash=quota.key_hash, window_start=window, sent=0)
        .on_conflict_do_nothing()
    )
    taken = conn.execute(
        update(mail_quota).where(key, mail_quota.c.sent < quota.limit).values(sent=mail_quota.c.sent + 1)
    )
    return bool(taken.rowcount)


def take_mail_quota(conn: Connection, quotas: Sequence[Quota], *, now: datetime) -> None:
    """Count one mail against every quota, in the caller's transaction; MailLimitReached when one is used up.

    The caller must roll back on MailLimitReached (leaving the `with engine.begin()` block by the
    exception does): the quotas taken before the refused one are then not counted either.
    """
    window = window_start(now)
    for quota in sorted(quotas, key=lambda q: (SCOPE_ORDER.index(q.scope), q.key_hash)):
        if not _take_one(conn, quota, window):
            raise MailLimitReached(_MESSAGES[quota.scope])
    # Windows before the current one are never counted again; whoever holds the total row prunes them.
    if any(quota.scope == "total" for quota in quotas):
        conn.execute(delete(mail_quota).where(mail_quota.c.window_start < window - WINDOW))


def mails_counted(conn: Connection, quota: Quota, *, now: datetime) -> int:
    """How many mails were counted against a quota in the current hour (for tests and status)."""
    row = conn.execute(
        mail_quota.select().where(
            mail_quota.c.scope == quota.scope,
            mail_quota.c.key_hash == quota.key_hash,
            mail_quota.c.window_start == window_start(now),
        )
    ).first()
    return int(row.sent) if row is not None else 0
