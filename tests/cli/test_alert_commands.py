"""Tracker and alert commands as a person runs them, including `kill -9` in the middle of a delivery."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hemewatch.storage.engine import open_database
from hemewatch.storage.tables import deliveries
from tests.alerts.servers import HttpReceiver, SmtpServer
from tests.alerts.world import add_tracker, make_event, seed_trials, store_and_enqueue
from tests.cli.runner import cli_env, hemewatch, start

PUBLIC = "https://hemewatch.example.org"


def _env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    return cli_env(
        tmp_path,
        db_url,
        HEMEWATCH_PUBLIC_URL=PUBLIC,
        HEMEWATCH_MAIL_FROM="hemewatch <alerts@hemewatch.example.org>",
        HEMEWATCH_WEBHOOK_ALLOW_PRIVATE="true",
        **extra,
    )


def delivery_statuses(db_url: str) -> list[str]:
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(deliveries.c.status).order_by(deliveries.c.id)).scalars())
    finally:
        engine.dispose()


def seed(db_url: str, *, events: int, **tracker_fields: object) -> None:
    """Real trials, one tracker, and `events` change events queued for it."""
    engine = open_database(db_url)
    try:
        with engine.begin() as conn:
            nct_ids = seed_trials(conn)
            add_tracker(conn, "Watch", **tracker_fields)
            store_and_enqueue(conn, [make_event(nct_ids[i % len(nct_ids)]) for i in range(events)])
    finally:
        engine.dispose()


def test_add_list_remove_trackers(tmp_path: Path, db_url: str) -> None:
    env = _env(tmp_path, db_url)
    added = hemewatch(
        "trackers", "add", "--name", "CD19 CAR-T", "--email", "reader@example.org",
        "--target", "cd19", "--modality", "CAR-T", "--phase", "2", "--country", "France",
        "--events", "status_changed,results_posted", "--min-severity", "notable", "--cadence", "weekly",
        "--webhook", "https://hooks.example.org/x", "--apprise", "ntfy://hemewatch-test",
        env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added tracker 'CD19 CAR-T' (#1) for reader@example.org" in added.stdout
    assert f"feed:    {PUBLIC}/feeds/" in added.stdout
    assert "X-Hemewatch-Signature signed with" in added.stdout
    everything = hemewatch(
        "trackers", "add", "--name", "All", "--email", "all@example.org", "--json", env=env
    )
    assert everything.returncode == 0, everything.stderr
    document = json.loads(everything.stdout)
    assert document["status"] == "active" and document["cadence"] == "daily"
    assert document["event_types"] == [] and document["min_severity"] == "minor"
    assert document["channels"]["email"] is True and document["channels"]["feed"].startswith(
        f"{PUBLIC}/feeds/"
    )

    listed = json.loads(hemewatch("trackers", "list", "--json", env=env).stdout)
    assert [t["name"] for t in listed] == ["All", "CD19 CAR-T"]
    cd19 = listed[1]
    assert cd19["filters"]["targets"] == ["CD19"] and cd19["filters"]["phases"] == ["PHASE2"]
    assert cd19["event_types"] == ["status_changed", "results_posted"] and cd19["cadence"] == "weekly"
    assert cd19["channels"]["apprise"] == ["ntfy://hemewatch-test"]
    table = hemewatch("trackers", "list", env=env)
    assert "CD19 CAR-T" in table.stdout and "every trial in the watch scope" in table.stdout

    removed = hemewatch("trackers", "remove", "CD19 CAR-T", env=env)
    assert removed.returncode == 0 and "removed tracker 'CD19 CAR-T' (#1)" in removed.stdout
    missing = hemewatch("trackers", "remove", "CD19 CAR-T", env=env)
    assert missing.returncode == 1 and "No tracker is named 'CD19 CAR-T'" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_an_invalid_tracker_is_a_message_and_exit_2(tmp_path: Path, sqlite_url: str) -> None:
    done = hemewatch(
        "trackers", "add", "--name", "x", "--email", "nope", "--disease", "AMLL", "--cadence", "hourly",
        env=_env(tmp_path, sqlite_url),
    )  # fmt: skip
    assert done.returncode == 2
    assert "'nope' is not an e-mail address" in done.stderr
    assert "unknown disease 'AMLL'" in done.stderr and "cadence 'hourly'" in done.stderr
    assert "Traceback" not in done.stderr


# Each trial filter `hemewatch trials` takes, in a spelling a person might type, and how a tracker keeps it.
FILTER_SPELLINGS = (
    ("--disease", "b-all", "diseases", ["B-ALL"]),
    ("--modality", "car-t", "modalities", ["CAR-T"]),
    ("--target", "cd19", "targets", ["CD19"]),
    ("--setting", "Relapsed/Refractory", "settings", ["relapsed/refractory"]),
    ("--population", "pediatric", "populations", ["pediatric"]),
    ("--agent", "Blincyto", "agents", ["blinatumomab"]),
    ("--phase", "phase 2", "phases", ["PHASE2"]),
    ("--status", "recruiting", "statuses", ["RECRUITING"]),
    ("--country", "  France ", "countries", ["France"]),
    ("--sponsor", " Children's  Oncology ", "sponsor", "Children's Oncology"),
    ("--text", " venetoclax ", "text", "venetoclax"),
)


def test_a_tracker_takes_the_trial_filters_as_trials_does(tmp_path: Path, sqlite_url: str) -> None:
    env = _env(tmp_path, sqlite_url)
    options = [part for flag, typed, _, _ in FILTER_SPELLINGS for part in (flag, typed)]
    added = hemewatch(
        "trackers", "add", "--name", "Every filter", "--email", "reader@example.org",
        "--disease", "AML", *options, "--json", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    filters = json.loads(added.stdout)["filters"]
    expected = {key: stored for _, _, key, stored in FILTER_SPELLINGS}
    assert filters == {**expected, "diseases": ["AML", "B-ALL"], "nct_ids": []}
    assert json.loads(hemewatch("trackers", "list", "--json", env=env).stdout)[0]["filters"] == filters

    # The options read the values `hemewatch trials` reads: unknown ones are refused, each named.
    checked = [
        flag for flag, _, key, stored in FILTER_SPELLINGS if isinstance(stored, list) and key != "countries"
    ]
    unknown = [part for flag in checked for part in (flag, f"no{flag}")]
    refused = hemewatch(
        "trackers", "add", "--name", "Bad", "--email", "reader@example.org", *unknown, env=env
    )
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert all(f"'no{flag}'" in refused.stderr for flag in checked), refused.stderr


def test_trackers_add_words_the_filters_as_trials_does() -> None:
    from typer.core import TyperGroup
    from typer.main import get_command

    from hemewatch.cli import load_commands

    commands = get_command(load_commands())
    assert isinstance(commands, TyperGroup)
    trackers = commands.commands["trackers"]
    assert isinstance(trackers, TyperGroup)

    def options(command: Any) -> dict[str, tuple[str | None, bool]]:
        return {param.opts[0]: (param.help, param.multiple) for param in command.params}

    tracker_options, trials_options = options(trackers.commands["add"]), options(commands.commands["trials"])
    for flag, _, _, _ in FILTER_SPELLINGS:
        assert tracker_options[flag] == trials_options[flag], flag


def test_failed_deliveries_are_listed_and_retried(tmp_path: Path, db_url: str) -> None:
    seed(db_url, events=2)
    with SmtpServer() as smtp:
        env = _env(tmp_path, db_url, HEMEWATCH_SMTP_URL=smtp.url, HEMEWATCH_DELIVERY_MAX_ATTEMPTS="1")
        smtp.refuse = "554 5.7.1 Relay access denied"
        refused = hemewatch("alerts", "send", env=env)
        assert refused.returncode == 1
        assert "failed delivery 1 (email to watch@example.org, attempt 1)" in refused.stderr
        assert "refused the message: 554 5.7.1 Relay access denied — gave up" in refused.stderr
        assert "gave up on 1" in refused.stdout
        failed = json.loads(hemewatch("alerts", "list", "--failed", "--json", env=env).stdout)
        assert [(d["id"], d["status"], d["attempts"]) for d in failed] == [(1, "dead", 1)]
        assert "Relay access denied" in failed[0]["last_error"]
        table = hemewatch("alerts", "list", "--failed", env=env)
        assert "dead" in table.stdout and "watch@example.org" in table.stdout

        smtp.refuse = None
        retried = hemewatch("alerts", "retry", env=env)
        assert retried.returncode == 0 and "queued 1 dead deliveries again" in retried.stdout
        sent = hemewatch("alerts", "send", env=env)
        assert sent.returncode == 0, sent.stderr
        assert "sent 1" in sent.stdout
        assert len(smtp.messages) == 1
        assert hemewatch("alerts", "list", "--failed", env=env).stdout.strip() == "no failed deliveries"
        everything = json.loads(hemewatch("alerts", "list", "--json", env=env).stdout)
        assert [d["status"] for d in everything] == ["sent"]


def test_without_smtp_mail_waits_and_is_not_lost(tmp_path: Path, sqlite_url: str) -> None:
    seed(sqlite_url, events=1)
    done = hemewatch("alerts", "send", env=_env(tmp_path, sqlite_url))
    assert done.returncode == 0
    assert "1 e-mail deliveries wait: set HEMEWATCH_SMTP_URL" in done.stderr
    assert delivery_statuses(sqlite_url) == ["pending"]


def test_kill_9_during_smtp_delivery_loses_nothing_and_resends_with_the_same_message_id(
    tmp_path: Path, db_url: str
) -> None:
    seed(db_url, events=3, cadence="immediate")
    with SmtpServer() as smtp:
        env = _env(tmp_path, db_url, HEMEWATCH_SMTP_URL=smtp.url)
        smtp.stall_on = 2  # the second message is received, then the server never answers
        worker = start("alerts", "send", env=env)
        assert smtp.stalled.wait(timeout=120), worker.communicate()
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        statuses = delivery_statuses(db_url)
        assert statuses[:2] == ["sent", "sending"] and statuses[2] in ("sending", "pending")
        smtp.stall_on = None
        smtp.release.set()
        again = hemewatch("alerts", "send", env=env)
        assert again.returncode == 0, again.stderr
        assert "deliveries left unfinished by a stopped run" in again.stderr
        assert "sent 2" in again.stdout
        ids = Counter(message["Message-ID"] for message in smtp.messages)
    assert delivery_statuses(db_url) == ["sent", "sent", "sent"]
    # Three notifications, each arrived; the interrupted one twice under the same Message-ID.
    assert len(ids) == 3 and sorted(ids.values()) == [1, 1, 2]
    assert hemewatch("alerts", "send", env=env).stdout.startswith("sent 0")


def test_kill_9_during_a_webhook_delivery_resends_with_the_same_delivery_id(
    tmp_path: Path, db_url: str
) -> None:
    with HttpReceiver(block_on=2) as receiver:
        seed(db_url, events=3, cadence="immediate", email_enabled=False, webhook_url=receiver.url())
        env = _env(tmp_path, db_url)
        worker = start("alerts", "send", env=env)
        assert receiver.blocked.wait(timeout=120), worker.communicate()
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        receiver.block_on = None
        receiver.release.set()
        again = hemewatch("alerts", "send", env=env)
        assert again.returncode == 0, again.stderr
        delivered = Counter(request.headers["x-hemewatch-delivery"] for request in receiver.requests)
    assert delivery_statuses(db_url) == ["sent", "sent", "sent"]
    # The receiver dedups on the delivery id: each notification exactly once, none lost.
    assert len(delivered) == 3 and sorted(delivered.values()) == [1, 1, 2]


@pytest.mark.parametrize("command", [["trackers", "list"], ["alerts", "list"], ["alerts", "send"]])
def test_empty_database(tmp_path: Path, sqlite_url: str, command: list[str]) -> None:
    done = hemewatch(*command, env=_env(tmp_path, sqlite_url))
    assert done.returncode == 0, done.stderr
