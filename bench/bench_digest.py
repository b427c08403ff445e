"""Sending a day's e-mail digests: `send_due` against a real local SMTP server, beside a plain smtplib loop.

Run: python bench/bench_digest.py [--trackers 10000] [--changes 1000] [--trials 400] [--seed 1]

The day: `--changes` change events (status, enrollment and site changes, site lists as the registry
gives them) on `--trials` real records of the bundled test data, in a SQLite database. Trackers: most
follow one or two NCT ids out of a pool five times the changed trials (so about a quarter of them get a
digest), a few follow a disease or everything (their digests hold every change of the day). Every
tracker mails its own address.

The SMTP server is aiosmtpd (tests/alerts/servers.py) in a process of its own, so that its work does
not share a core with the sender's. hemewatch claims, renders and records each delivery through
`send_due`, exactly as `hemewatch alerts send` does. The floor, measured in the same run, sends the
same number of mails of the same sizes with a plain smtplib loop over one connection, with nothing to
render or record. Also printed: what encoding the largest digest's bodies costs with each transfer
encoding.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import smtplib
import sys
import tempfile
import time
from datetime import timedelta
from email.message import EmailMessage
from multiprocessing.connection import Connection as Pipe
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from hemewatch.alerts import TrackerSpec, create_tracker  # noqa: E402
from hemewatch.alerts.delivery import send_due  # noqa: E402
from hemewatch.alerts.notifications import load_digest  # noqa: E402
from hemewatch.alerts.renderers.mail import render_digest_mail  # noqa: E402
from hemewatch.history import ChangeEvent, EventType, Severity  # noqa: E402
from hemewatch.settings import load_settings  # noqa: E402
from hemewatch.storage.engine import open_database  # noqa: E402
from hemewatch.storage.tables import deliveries, tracker_events  # noqa: E402
from tests.alerts.servers import SmtpServer  # noqa: E402
from tests.alerts.world import CREATED, NOW, make_event, seed_trials, store_and_enqueue  # noqa: E402

SITES = [
    ("Hôpital Saint-Louis", "Paris", "France"),
    ("MD Anderson Cancer Center", "Houston", "United States"),
    ("Universitätsklinikum Carl Gustav Carus", "Dresden", "Germany"),
    ("Peking Union Medical College Hospital", "Beijing", "China"),
    ("Fred Hutchinson Cancer Center", "Seattle", "United States"),
    ("Ospedale San Raffaele", "Milano", "Italy"),
]
SENDER = "hemewatch <alerts@hemewatch.example.org>"


def serve(pipe: Pipe) -> None:
    """The SMTP server's process: answer "stats" with (connections, sizes) until "stop"."""
    with SmtpServer(keep=False) as server:
        pipe.send(server.port)
        while (command := pipe.recv()) != "stop":
            if command == "stats":
                pipe.send((server.connections, list(server.sizes)))
            elif command == "reset":
                server.connections, server.sizes[:] = 0, []
                server.envelopes.clear()
                pipe.send("ok")


def day_events(nct_ids: list[str], count: int, rnd: random.Random) -> list[ChangeEvent]:
    events: list[ChangeEvent] = []
    for n in range(count):
        nct_id = nct_ids[n % len(nct_ids)]
        detected = NOW - timedelta(minutes=rnd.randrange(0, 300))  # all in one daily period
        pick = rnd.random()
        if pick < 0.45:
            site = rnd.choice(SITES)
            events.append(
                make_event(
                    nct_id,
                    kind=EventType.SITE_ADDED,
                    severity=Severity.MINOR,
                    summary=f"New site: {site[0]}, {site[1]}",
                    before=None,
                    after=[*site, "RECRUITING", f"Contact: Principal Investigator {n}"],
                    detected_at=detected,
                )
            )
        elif pick < 0.75:
            before, after = rnd.randrange(20, 200), rnd.randrange(20, 200)
            events.append(
                make_event(
                    nct_id,
                    kind=EventType.ENROLLMENT_CHANGED,
                    severity=Severity.MINOR,
                    summary=f"Enrollment changed: {before} → {after}",
                    before={"count": before, "type": "ESTIMATED"},
                    after={"count": after, "type": "ESTIMATED"},
                    detected_at=detected,
                )
            )
        else:
            events.append(make_event(nct_id, detected_at=detected))
    return events


def build_day(url: str, *, trackers: int, changes: int, trials: int, seed: int) -> int:
    """The database: trials, trackers and a day of changes with its deliveries queued; their count."""
    rnd = random.Random(seed)
    engine = open_database(url)
    with engine.begin() as conn:
        nct_ids = seed_trials(conn, count=trials)
    pool = nct_ids + [f"NCT9{n:07d}" for n in range(4 * len(nct_ids))]
    with engine.begin() as conn:
        for n in range(trackers):
            if n < 5:
                spec = TrackerSpec(name=f"Everything {n}", email=f"all-{n}@example.org")
            elif n < 10:
                spec = TrackerSpec(name=f"AML {n}", email=f"aml-{n}@example.org", diseases=("AML",))
            else:
                chosen = tuple(rnd.sample(pool, 1 if rnd.random() < 0.8 else 2))
                spec = TrackerSpec(name=f"Watch {n}", email=f"reader-{n}@example.org", nct_ids=chosen)
            create_tracker(conn, spec, now=CREATED, confirmed=True)
    with engine.begin() as conn:
        store_and_enqueue(conn, day_events(nct_ids, changes, rnd))
    with engine.connect() as conn:
        queued = int(conn.execute(select(func.count()).select_from(deliveries)).scalar_one())
    engine.dispose()
    return queued


def floor(port: int, sizes: list[int]) -> float:
    """A plain smtplib loop: one connection, one prepared message of each size."""
    body = (b"x" * 75 + b"\r\n") * (max(sizes) // 77 + 1)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for n, size in enumerate(sizes):
            client.sendmail("alerts@hemewatch.example.org", [f"reader-{n}@example.org"], body[:size])
    return time.perf_counter() - started


def encodings(url: str) -> None:
    """Encoding cost of the largest digest's bodies with each Content-Transfer-Encoding."""
    engine = open_database(url)
    with engine.connect() as conn:
        biggest = conn.execute(
            select(tracker_events.c.notification_id)
            .group_by(tracker_events.c.notification_id)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
        digest = load_digest(conn, biggest, public_url="https://hemewatch.example.org")
    engine.dispose()
    assert digest is not None
    message = render_digest_mail(digest, sender=SENDER, recipient="r@example.org", now=NOW)
    text, html = (
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in message.walk()
        if part.get_content_maintype() == "text"
    )
    chars = len(text) + len(html)
    print(f"largest digest: {digest.change_count:,} changes; its mail bodies ({chars:,} characters) as:")
    for cte in ("quoted-printable", "base64", "8bit"):
        started = time.perf_counter()
        for _ in range(50):
            mail = EmailMessage()
            mail.set_content(text, cte=cte)
            mail.add_alternative(html, subtype="html", cte=cte)
            size = len(mail.as_bytes())
        took = (time.perf_counter() - started) / 50
        print(f"  {cte:17} {size / 1024:7.1f} KB  {took * 1000:6.2f} ms per mail")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trackers", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=1_000)
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    here, there = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(there,), daemon=True)
    server.start()
    port = here.recv()
    with tempfile.TemporaryDirectory(prefix="hemewatch-bench-digest-") as folder:
        url = f"sqlite:///{Path(folder) / 'hemewatch.db'}"
        started = time.perf_counter()
        queued = build_day(
            url, trackers=args.trackers, changes=args.changes, trials=args.trials, seed=args.seed
        )
        setup = time.perf_counter() - started
        print(f"setup: {args.trackers:,} trackers, {args.changes:,} changes, {queued:,} deliveries queued")
        print(f"       ({setup:.1f} s)")
        settings = load_settings(
            home=Path(folder) / "home",
            public_url="https://hemewatch.example.org",
            mail_from=SENDER,
            smtp_url=f"smtp://127.0.0.1:{port}",
        )
        engine = open_database(url)
        started = time.perf_counter()
        report = send_due(engine, settings, clock=lambda: NOW + timedelta(days=2))
        took = time.perf_counter() - started
        engine.dispose()
        here.send("stats")
        connections, sizes = here.recv()
        here.send("reset")
        here.recv()
        floor_took = floor(port, sizes)
        here.send("stats")
        floor_connections, floor_sizes = here.recv()
        mb, largest = sum(sizes) / 1e6, max(sizes) / 1024
        print(f"hemewatch: {report.sent:,} mails sent ({report.failed} failed), {mb:.1f} MB,")
        print(f"           largest {largest:.0f} KB,")
        print(f"           {connections} SMTP connection(s): {took:.1f} s")
        floor_mb = sum(floor_sizes) / 1e6
        print(f"floor:     {len(floor_sizes):,} mails, {floor_mb:.1f} MB, {floor_connections} connection(s):")
        print(f"           {floor_took:.1f} s")
        print(f"ratio:     {took / floor_took:.1f}x the floor")
        encodings(url)
    here.send("stop")
    server.join(timeout=10)


if __name__ == "__main__":
    main()
