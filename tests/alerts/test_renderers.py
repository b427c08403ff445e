"""Every channel renders the same digest: mail (text + HTML), chat markdown, webhook JSON, Atom."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import feedparser
import orjson

from hemewatch.alerts import Tracker, TrackerSpec
from hemewatch.alerts.digest import Digest, TrialInfo, build_digest, describe_value
from hemewatch.alerts.renderers.chat import MAX_TRIALS, render_chat
from hemewatch.alerts.renderers.feed import render_feed
from hemewatch.alerts.renderers.mail import render_confirmation_mail, render_digest_mail
from hemewatch.alerts.renderers.webhook import render_webhook_body
from hemewatch.alerts.signing import sign, verify
from hemewatch.history import EventType, Severity
from hemewatch.storage.events import StoredEvent
from tests.alerts.world import make_event

NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
PUBLIC = "https://hemewatch.example.org"
EVIL = "<script>alert('x')</script> CAR-T [click](https://evil.example) *now*"
SENDER = "hemewatch <alerts@hemewatch.example.org>"


def a_tracker(cadence: str = "daily") -> Tracker:
    return Tracker(
        id=7,
        uid="0123456789abcdef",
        spec=TrackerSpec(name="AML watch", email="reader@example.org", cadence=cadence),
        created_at=NOW - timedelta(days=3),
        updated_at=NOW - timedelta(days=3),
        confirmed_at=NOW - timedelta(days=3),
        unsubscribed_at=None,
        webhook_secret="s3cret",
        unsubscribe_token="unsub-token",
        feed_token="feed-token",
    )


EVENTS = [
    StoredEvent(1, make_event("NCT00000001", summary="Status changed: recruiting → active"), None),
    StoredEvent(
        2,
        make_event(
            "NCT00000002",
            kind=EventType.RESULTS_POSTED,
            severity=Severity.CRITICAL,
            summary="Results posted",
            before=None,
            after={"firstPosted": "2026-11-20"},
        ),
        None,
    ),
    StoredEvent(
        3,
        make_event(
            "NCT00000001",
            kind=EventType.SITE_ADDED,
            severity=Severity.MINOR,
            summary="New site: Hôpital Saint-Louis, Paris",
            before=None,
            after=["Hôpital Saint-Louis", "Paris", "France"],
        ),
        None,
    ),
]
TRIALS = {
    "NCT00000001": TrialInfo(EVIL, ("AML", "CAR-T")),
    "NCT00000002": TrialInfo("Blinatumomab for MRD-positive B-ALL", ("B-ALL",)),
}


def a_digest(cadence: str = "daily", events: list[StoredEvent] = EVENTS) -> Digest:
    return build_digest(
        tracker=a_tracker(cadence),
        period="2026-11-21",
        idempotency_key="hw-0123456789abcdef-2026-11-21",
        events=events,
        trials=TRIALS,
        public_url=PUBLIC,
    )


def test_digest_groups_by_trial_most_serious_first() -> None:
    digest = a_digest()
    assert [t.nct_id for t in digest.trials] == ["NCT00000002", "NCT00000001"]
    assert [c.event_id for c in digest.trials[1].changes] == [1, 3]
    assert digest.trial_count == 2 and digest.change_count == 3
    assert digest.trials[1].web_url == f"{PUBLIC}/trials/NCT00000001"
    assert digest.trials[1].registry_url == "https://clinicaltrials.gov/study/NCT00000001"
    assert digest.unsubscribe_url == f"{PUBLIC}/trackers/unsubscribe/unsub-token"
    assert digest.feed_url == f"{PUBLIC}/feeds/feed-token.atom"
    assert digest.period_label == "21 November 2026"


def test_values_are_described_on_one_line() -> None:
    assert describe_value(None) is None and describe_value([]) is None
    assert describe_value(["a", None, "b"]) == "a, b"
    assert describe_value({"city": "Paris", "status": "RECRUITING"}) == "city: Paris; status: RECRUITING"
    assert describe_value(True) == "yes"
    assert describe_value("x" * 500).endswith("…")  # type: ignore[union-attr]


def parsed(message: email.message.EmailMessage) -> email.message.EmailMessage:
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def test_mail_is_multipart_with_unsubscribe_headers_and_escaped_html() -> None:
    message = parsed(render_digest_mail(a_digest(), sender=SENDER, recipient="reader@example.org", now=NOW))
    assert message["Subject"] == "[hemewatch] AML watch: 2 trials changed (21 November 2026)"
    assert message["To"] == "reader@example.org"
    assert message["Message-ID"] == "<hw-0123456789abcdef-2026-11-21@hemewatch.example.org>"
    assert message["List-Unsubscribe"].strip() == f"<{PUBLIC}/trackers/unsubscribe/unsub-token>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for part in (text, html):
        assert "https://clinicaltrials.gov/study/NCT00000001" in part
        assert f"{PUBLIC}/trials/NCT00000002" in part
        assert f"{PUBLIC}/trackers/unsubscribe/unsub-token" in part
        assert "Results posted" in part and "Hôpital Saint-Louis, Paris, France" in part
        assert "AML" in part and "CAR-T" in part
    assert EVIL in text  # plain text shows the title as it is
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "recruiting → active" in text


def test_the_same_notification_keeps_its_message_id() -> None:
    first = render_digest_mail(a_digest(), sender=SENDER, recipient="r@example.org", now=NOW)
    again = render_digest_mail(
        a_digest(), sender=SENDER, recipient="r@example.org", now=NOW + timedelta(hours=3)
    )
    assert first["Message-ID"] == again["Message-ID"]


def test_immediate_subject_names_the_change() -> None:
    digest = a_digest("immediate", events=[EVENTS[1]])
    message = render_digest_mail(digest, sender=SENDER, recipient="r@example.org", now=NOW)
    assert message["Subject"] == "[hemewatch] AML watch: NCT00000002 Results posted"


def test_chat_is_short_markdown_with_trial_text_escaped() -> None:
    title, body = render_chat(a_digest())
    assert title == "hemewatch · AML watch: 2 trials changed (21 November 2026)"
    assert f"**[NCT00000001]({PUBLIC}/trials/NCT00000001)**" in body
    assert "[click](https://evil.example)" not in body
    assert r"\[click\]\(https://evil.example\) \*now\*" in body
    assert "- *Results posted* (critical): Results posted" in body
    many = [StoredEvent(i, make_event(f"NCT{i:08d}"), None) for i in range(1, MAX_TRIALS + 4)]
    _, long_body = render_chat(a_digest(events=many))
    assert "… and 3 more trials." in long_body


def test_webhook_body_carries_every_event_with_its_trial() -> None:
    document = orjson.loads(render_webhook_body(a_digest(), EVENTS, sent_at=NOW))
    assert document["delivery_id"] == "hw-0123456789abcdef-2026-11-21"
    assert document["tracker"] == {"id": 7, "name": "AML watch", "cadence": "daily"}
    assert [e["id"] for e in document["events"]] == [2, 1, 3]
    assert document["events"][1]["title"] == EVIL
    assert document["events"][0]["type"] == "results_posted"
    assert document["events"][0]["url"] == f"{PUBLIC}/trials/NCT00000002"


def test_feed_is_valid_atom_with_one_entry_per_change() -> None:
    atom = render_feed(a_tracker(), EVENTS, TRIALS, public_url=PUBLIC)
    feed = feedparser.parse(atom)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == "hemewatch: AML watch"
    assert len(feed.entries) == 3
    assert len({entry.id for entry in feed.entries}) == 3
    entry = next(e for e in feed.entries if "Results posted" in e.title)
    # The type's label leads each title once, even when the summary already opens with it.
    assert entry.title == "NCT00000002 · Results posted"
    status = next(e for e in feed.entries if "recruiting" in e.title)
    assert status.title.count("Status change") == 1, status.title
    assert entry.link == f"{PUBLIC}/trials/NCT00000002"
    evil = next(e for e in feed.entries if "New site" in e.title)
    content = evil.content[0].value
    assert "<script>" not in content and "&lt;script&gt;" in content


def test_empty_feed_is_still_valid() -> None:
    feed = feedparser.parse(render_feed(a_tracker(), [], {}, public_url=PUBLIC))
    assert not feed.bozo and feed.entries == []


def test_confirmation_mail_has_confirm_and_manage_links() -> None:
    message = render_confirmation_mail(
        a_tracker(), sender=SENDER, public_url=PUBLIC, confirm_token="c-tok", manage_token="m-tok", now=NOW
    )
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"{PUBLIC}/trackers/confirm/c-tok" in text and f"{PUBLIC}/trackers/manage/m-tok" in text
    assert "every trial in the watch scope" in text


def test_signature_round_trip_and_replay_window() -> None:
    body = b'{"a":1}'
    signature = sign("s3cret", 1_700_000_000, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify("s3cret", "1700000000", body, signature, now=1_700_000_100)
    assert not verify("s3cret", "1700000000", body + b" ", signature, now=1_700_000_100)
    assert not verify("other", "1700000000", body, signature, now=1_700_000_100)
    assert not verify("s3cret", "1700000000", body, signature, now=1_700_001_000)
