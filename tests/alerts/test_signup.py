"""Tracker sign-up from the web forms: no mail is sent while a write transaction holds the database.

SQLite has one writer. The SMTP server below, on receiving each mail, checks that another connection
can take the write lock at that moment (BEGIN IMMEDIATE, no waiting): a mail sent from inside a write
transaction fails that check.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from hemewatch.alerts import DeliveryFailed, TrackerSpec, get_tracker
from hemewatch.alerts.signup import change_tracker, confirm, start_tracker
from hemewatch.settings import Settings
from hemewatch.storage.engine import open_database
from tests.alerts.servers import SmtpServer

SPEC = TrackerSpec(name="CD19 CAR-T", email="reader@example.org", targets=("CD19",))


class WriterProbingSmtp(SmtpServer):
    """An SMTP server that, as each mail arrives, tries to write to the SQLite database from elsewhere."""

    def __init__(self, database: str) -> None:
        super().__init__()
        self.database = database
        self.writable: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        probe = sqlite3.connect(self.database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            self.writable.append(True)
        except sqlite3.OperationalError:  # "database is locked": a write transaction is open
            self.writable.append(False)
        finally:
            probe.close()
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = open_database(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def smtp(sqlite_url: str) -> Iterator[WriterProbingSmtp]:
    database = make_url(sqlite_url).database
    assert database
    with WriterProbingSmtp(database) as server:
        yield server


@pytest.fixture
def settings(make_settings: Callable[..., Settings], smtp: WriterProbingSmtp) -> Settings:
    return make_settings(smtp_url=smtp.url)


def test_the_confirmation_mail_is_sent_after_the_tracker_is_committed(
    engine: Engine, settings: Settings, smtp: WriterProbingSmtp
) -> None:
    start_tracker(engine, SPEC, settings=settings, client="203.0.113.7")
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "reader@example.org"
    assert smtp.writable == [True]
    # Asked again for the same tracker, the owner gets a notice: also sent outside any transaction.
    start_tracker(engine, SPEC, settings=settings, client="203.0.113.7")
    assert len(smtp.messages) == 2 and "already have" in str(smtp.messages[1]["Subject"])
    assert smtp.writable == [True, True]


def test_a_new_address_is_mailed_after_the_change_is_committed(
    engine: Engine, settings: Settings, smtp: WriterProbingSmtp
) -> None:
    tracker = _confirmed_tracker(engine, settings, smtp)
    assert tracker.manage_token is not None
    change = change_tracker(
        engine,
        tracker.manage_token,
        replace(SPEC, email="new@example.org"),
        settings=settings,
        client="203.0.113.7",
    )
    assert change.mailed_to == "new@example.org"
    assert smtp.messages[-1]["To"] == "new@example.org"
    assert smtp.writable == [True, True]
    with engine.connect() as conn:
        stored = get_tracker(conn, tracker.id)
    assert stored is not None and stored.email == "new@example.org" and stored.status == "unconfirmed"


def test_a_new_address_that_cannot_be_mailed_leaves_the_tracker_as_it_was(
    engine: Engine, settings: Settings, smtp: WriterProbingSmtp
) -> None:
    tracker = _confirmed_tracker(engine, settings, smtp)
    assert tracker.manage_token is not None
    with engine.connect() as conn:
        before = get_tracker(conn, tracker.id)
    smtp.refuse = "554 5.7.1 refused by the test"
    with pytest.raises(DeliveryFailed):
        change_tracker(
            engine,
            tracker.manage_token,
            replace(SPEC, email="new@example.org", targets=("CD22",)),
            settings=settings,
            client="203.0.113.7",
        )
    with engine.connect() as conn:
        after = get_tracker(conn, tracker.id)
    assert before is not None and after is not None
    assert after.email == "reader@example.org" and after.spec == before.spec
    assert after.status == "active" and after.confirmed_at == before.confirmed_at


def test_a_tracker_whose_mail_fails_is_not_kept(
    engine: Engine, settings: Settings, smtp: WriterProbingSmtp
) -> None:
    smtp.refuse = "554 5.7.1 refused by the test"
    with pytest.raises(DeliveryFailed):
        start_tracker(engine, SPEC, settings=settings, client="203.0.113.7")
    smtp.refuse = None
    # Nothing was kept: the same tracker can be asked for again, and gets a confirmation, not a notice.
    start_tracker(engine, SPEC, settings=settings, client="203.0.113.7")
    assert (
        "Confirm" in str(smtp.messages[-1]["Subject"])
        or "confirm" in smtp.messages[-1].get_body(("plain",)).get_content()
    )


def _confirmed_tracker(engine: Engine, settings: Settings, smtp: WriterProbingSmtp) -> Any:
    """A tracker made through the form and confirmed by its link (read from the mail it sent)."""
    start_tracker(engine, SPEC, settings=settings, client="203.0.113.7")
    body = smtp.messages[-1].get_body(("plain",)).get_content()
    confirm_token = body.split("/trackers/confirm/")[1].split()[0]
    manage_token = body.split("/trackers/manage/")[1].split()[0]
    tracker = confirm(engine, confirm_token)
    assert tracker.status == "active"
    return replace(tracker, manage_token=manage_token)
