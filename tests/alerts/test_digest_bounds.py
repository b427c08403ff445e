"""A digest mail shows a bounded number of changes, says how many more there are and where, stays small."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import Message

from hemewatch.alerts import Tracker, TrackerSpec
from hemewatch.alerts.digest import MAX_LISTED_TRIALS, Digest, TrialInfo, bounded, build_digest
from hemewatch.alerts.renderers.mail import MAX_MAIL_BYTES, body_encoding, render_digest_mail
from hemewatch.history import EventType, Severity
from hemewatch.storage.events import StoredEvent
from tests.alerts.world import make_event

NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
PUBLIC = "https://hemewatch.example.org"
SENDER = "hemewatch <alerts@hemewatch.example.org>"
EVIL = "<script>alert('x')</script> & \"CAR-T\""
FEED = f"{PUBLIC}/feeds/feed-token.atom"


def a_tracker(*, feed: bool = True) -> Tracker:
    return Tracker(
        id=7,
        uid="0123456789abcdef",
        spec=TrackerSpec(name="AML watch", email="reader@example.org", cadence="daily", feed_enabled=feed),
        created_at=NOW - timedelta(days=3),
        updated_at=NOW - timedelta(days=3),
        confirmed_at=NOW - timedelta(days=3),
        unsubscribed_at=None,
        webhook_secret="s3cret",
        unsubscribe_token="unsub-token",
        feed_token="feed-token",
    )


def nct(number: int) -> str:
    return f"NCT{number:08d}"


def many_events(trials: int, per_trial: int) -> list[StoredEvent]:
    """per_trial changes on each trial: notable status changes, each an hour older than the one before."""
    events = []
    for t in range(trials):
        for c in range(per_trial):
            event_id = t * per_trial + c + 1
            detected = NOW - timedelta(hours=event_id)
            events.append(
                StoredEvent(
                    event_id, make_event(nct(t + 1), summary=f"Change {event_id}", detected_at=detected), None
                )
            )
    return events


def digest_of(
    events: list[StoredEvent], trials: dict[str, TrialInfo] | None = None, *, feed: bool = True
) -> Digest:
    return build_digest(
        tracker=a_tracker(feed=feed),
        period="2026-11-21",
        idempotency_key="hw-0123456789abcdef-2026-11-21",
        events=events,
        trials=trials or {},
        public_url=PUBLIC,
    )


def bodies(message: Message) -> tuple[str, str]:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def test_a_mail_shows_at_most_the_bound_and_says_how_many_more_there_are() -> None:
    digest = digest_of(many_events(30, 4))  # 120 changes in 30 trials
    message = render_digest_mail(
        digest, sender=SENDER, recipient="reader@example.org", now=NOW, max_changes=50
    )
    assert message["Subject"] == "[hemewatch] AML watch: 30 trials changed (21 November 2026)"
    text, html = bodies(message)
    assert text.count("[notable] Status changed:") == 50
    assert html.count('<li style="margin:0 0 8px;">') == 50
    for part in (text, html):
        assert "120 changes in 30 trials" in part
        assert "50 of 120 changes shown: 70 more changes not shown here." in part
        assert FEED in part
    assert "Every change is in the tracker's Atom feed: " + FEED in text
    # The newest 50 changes: those of the first 13 trials (4 each, the 13th with 2 of its 4).
    shown = bounded(digest, 50)
    assert [t.nct_id for t in shown.trials] == [nct(n) for n in range(1, 14)]
    assert shown.trials[-1].more == 2 and "+ 2 more changes of this trial" in text
    assert [link.nct_id for link in shown.left_out] == [nct(n) for n in range(14, 31)]
    for link in shown.left_out:
        assert f"{PUBLIC}/trials/{link.nct_id}" in text and f"{PUBLIC}/trials/{link.nct_id}" in html
    assert (shown.shown_count, shown.more_count, shown.change_count, shown.trial_count) == (50, 70, 120, 30)


def test_a_digest_within_the_bound_is_shown_whole() -> None:
    digest = digest_of(many_events(3, 2))
    message = render_digest_mail(
        digest, sender=SENDER, recipient="reader@example.org", now=NOW, max_changes=50
    )
    text, html = bodies(message)
    assert text.count("[notable]") == 6
    assert "not shown here" not in text and "not shown here" not in html
    assert bounded(digest, 50) == digest


def test_most_serious_first_then_newest_grouped_by_trial() -> None:
    old, new = NOW - timedelta(days=1), NOW
    events = [
        StoredEvent(1, make_event(nct(1), summary="old notable", detected_at=old), None),
        StoredEvent(
            2, make_event(nct(1), summary="new minor", severity=Severity.MINOR, detected_at=new), None
        ),
        StoredEvent(3, make_event(nct(1), summary="new notable", detected_at=new), None),
        StoredEvent(4, make_event(nct(2), summary="old notable 2", detected_at=old), None),
        StoredEvent(
            5,
            make_event(
                nct(3),
                kind=EventType.RESULTS_POSTED,
                severity=Severity.CRITICAL,
                summary="results",
                detected_at=old,
            ),
            None,
        ),
        StoredEvent(
            6, make_event(nct(4), summary="admin", severity=Severity.ADMINISTRATIVE, detected_at=new), None
        ),
    ]
    digest = digest_of(events)
    # Trials: the critical one, then the notable ones, the newest first; within a trial, severity then newest.
    assert [t.nct_id for t in digest.trials] == [nct(3), nct(1), nct(2), nct(4)]
    assert [c.event_id for c in digest.trials[1].changes] == [3, 1, 2]
    shown = bounded(digest, 3)  # the critical change, the newest notable one, then the earlier trial's
    assert [(t.nct_id, [c.event_id for c in t.changes], t.more) for t in shown.trials] == [
        (nct(3), [5], 0),
        (nct(1), [3, 1], 1),
    ]
    assert [(link.nct_id, link.changes) for link in shown.left_out] == [(nct(2), 1), (nct(4), 1)]
    assert shown.more_count == 3 and shown.change_count == 6


def test_left_out_trials_beyond_the_list_are_counted_and_linked_through_each_trial_page() -> None:
    digest = digest_of(many_events(80, 1), feed=False)
    shown = bounded(digest, 10)
    assert len(shown.trials) == 10 and len(shown.left_out) == MAX_LISTED_TRIALS
    assert (shown.unlisted_trials, shown.unlisted_changes) == (80 - 10 - MAX_LISTED_TRIALS, 50)
    text, html = bodies(
        render_digest_mail(digest, sender=SENDER, recipient="r@example.org", now=NOW, max_changes=10)
    )
    for part in (text, html):
        assert "10 of 80 changes shown: 70 more changes not shown here." in part
        assert "… and 50 changes in 50 more trials." in part
        assert "Each trial's page in hemewatch lists all of its changes." in part
        assert "/feeds/" not in part  # the tracker has no feed
        assert "/trackers/manage/" not in part  # the manage link stays secret


def test_trial_text_in_the_left_out_list_stays_escaped() -> None:
    events = many_events(5, 1)
    trials = {nct(n): TrialInfo(f"{EVIL} {n}", ("<b>tag</b>",)) for n in range(1, 6)}
    text, html = bodies(
        render_digest_mail(
            digest_of(events, trials), sender=SENDER, recipient="r@example.org", now=NOW, max_changes=2
        )
    )
    assert "<script>" not in html and "<b>tag</b>" not in html
    assert html.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;CAR-T&#34;") == 5
    assert f"{EVIL} 5" in text


def worst_case() -> Digest:
    """Long hostile titles and tags, summaries and values full of sites, non-ASCII and markup characters."""
    site = 'Hôpital Saint-Louis <&> "Service d\'hématologie" 🩸 ' * 4
    trials = {
        nct(n): TrialInfo((EVIL + " Ünïcødé 🧬 ") * 60, tuple(f"<tag {i}> ü" * 10 for i in range(40)))
        for n in range(1, 301)
    }
    events = [
        StoredEvent(
            n,
            make_event(
                nct(n % 300 + 1),
                kind=EventType.SITE_ADDED,
                severity=Severity.MINOR,
                summary="New sites: " + "; ".join([site] * 30),
                before=[site] * 50,
                after=[site] * 120,
                detected_at=NOW - timedelta(minutes=n),
            ),
            None,
        )
        for n in range(1, 1201)
    ]
    return digest_of(events, trials)


def test_no_digest_mail_is_over_200_kb_even_in_the_worst_case() -> None:
    digest = worst_case()
    for max_changes in (50, 500):
        message = render_digest_mail(
            digest, sender=SENDER, recipient="reader@example.org", now=NOW, max_changes=max_changes
        )
        size = len(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))  # as sent
        assert size <= MAX_MAIL_BYTES, (max_changes, size)
        text, html = bodies(message)
        assert "<script>" not in html
        assert "of 1,200 changes shown" in text and "not shown here" in html
        assert text.count("[minor] Site added:") >= 5  # still a useful digest, not an empty one
    # Without the size limit the same digest would be far larger.
    unbounded = render_digest_mail(
        digest, sender=SENDER, recipient="r@example.org", now=NOW, max_changes=500, max_bytes=10**9
    )
    assert len(unbounded.as_bytes()) > 4 * MAX_MAIL_BYTES


def test_bodies_go_as_7bit_when_they_can_else_base64() -> None:
    assert body_encoding("plain ascii\n") == "7bit"
    assert body_encoding("Hôpital\n") == "base64"
    assert body_encoding("a" * 1200 + "\n") == "base64"  # a line over 998 octets
    digest = digest_of(many_events(2, 1), {nct(1): TrialInfo("Hôpital trial", ())})
    message = render_digest_mail(
        digest, sender="hémewatch <alerts@hemewatch.example.org>", recipient="r@example.org", now=NOW
    )
    assert [part["Content-Transfer-Encoding"] for part in message.get_payload()] == ["base64"] * 2  # type: ignore[union-attr]
    text, html = bodies(message)
    assert "Hôpital trial" in text and "Hôpital trial" in html
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["From"] == "hémewatch <alerts@hemewatch.example.org>"
    ascii_only = digest_of(many_events(1, 1), {nct(1): TrialInfo("Plain trial", ())})
    plain = render_digest_mail(ascii_only, sender=SENDER, recipient="r@example.org", now=NOW)
    assert plain.as_bytes().isascii()


def test_a_non_ascii_subject_is_encoded_and_reads_back_whole() -> None:
    name = "Leucémies aiguës — suivi des essais CAR-T au nom bien trop long pour une ligne"
    digest = replace(digest_of(many_events(3, 1)), tracker_name=name)
    raw = render_digest_mail(digest, sender=SENDER, recipient="r@example.org", now=NOW).as_bytes()
    assert raw.isascii()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == f"[hemewatch] {name}: 3 trials changed (21 November 2026)"
