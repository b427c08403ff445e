"""E-mail: a multipart (plain text and HTML) digest, and the double opt-in confirmation."""

from __future__ import annotations

from datetime import datetime
from email.charset import BASE64, Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr

from hemewatch.alerts.digest import MAX_DIGEST_CHANGES, Digest, bounded
from hemewatch.alerts.renderers.templating import render
from hemewatch.alerts.spec import TrackerSpec
from hemewatch.alerts.trackers import Tracker
from hemewatch.history.wording import shorten

MAX_MAIL_BYTES = 200 * 1024  # no digest mail is larger, whatever the trials' text
_ENVELOPE_BYTES = 8 * 1024  # headers and MIME boundaries, well above what a digest's take
_MAX_LINE = 998  # octets per line that SMTP allows

SEVERITY_COLOURS = {
    "critical": "#b3261e",
    "notable": "#9a5b00",
    "minor": "#3d4b5c",
    "administrative": "#5b6675",
}


def message_domain(sender: str) -> str:
    """The domain of the sender address, for Message-IDs ("localhost" when it has none)."""
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def message_id(key: str, sender: str) -> str:
    """The Message-ID of a notification: the same on every re-send, so mail clients drop duplicates."""
    return f"<{key}@{message_domain(sender)}>"


def digest_subject(digest: Digest) -> str:
    """The subject line: how many trials changed, for which tracker and period."""
    if digest.cadence == "immediate" and digest.trial_count == 1 and digest.change_count == 1:
        trial = digest.trials[0]
        return f"[hemewatch] {digest.tracker_name}: {trial.nct_id} {shorten(trial.changes[0].summary, 90)}"
    trials = "1 trial changed" if digest.trial_count == 1 else f"{digest.trial_count} trials changed"
    return f"[hemewatch] {digest.tracker_name}: {trials} ({digest.period_label})"


def _plural(count: int, word: str) -> str:
    return f"1 {word}" if count == 1 else f"{count:,} {word}s"


def _heading(digest: Digest) -> str:
    return f"{_plural(digest.change_count, 'change')} in {_plural(digest.trial_count, 'trial')}"


def _more_line(digest: Digest) -> str:
    """What a bounded digest leaves out, in words ("" when it shows everything)."""
    if not digest.more_count:
        return ""
    more = f"{_plural(digest.more_count, 'more change')} not shown here"
    return f"{digest.shown_count:,} of {digest.change_count:,} changes shown: {more}."


def body_encoding(text: str) -> str:
    """The Content-Transfer-Encoding of a body: 7bit for ASCII with no line over 998 octets, else base64,
    which is encoded in C and needs no 8BITMIME from the server (quoted-printable, the standard
    library's choice for these bodies, costs the most to encode: bench/bench_digest.py)."""
    if text.isascii() and max((len(line) for line in text.splitlines()), default=0) <= _MAX_LINE:
        return "7bit"
    return "base64"


def _header(value: str) -> str:
    # A Header (RFC 2047 words, folded where it stands) for non-ASCII text; Message's stub says str.
    return value if value.isascii() else Header(value, "utf-8", header_name="Subject")  # type: ignore[return-value]


def _address(value: str) -> str:
    if value.isascii():
        return value
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8")


def _utf8_base64() -> Charset:
    # Its own Charset: libraries may register another default encoding for utf-8 (email.charset).
    charset = Charset("utf-8")
    charset.body_encoding = BASE64
    return charset


def _part(body: str, subtype: str, encoding: str) -> MIMEText:
    if encoding == "7bit":
        return MIMEText(body, subtype, "us-ascii")
    return MIMEText(body, subtype, _utf8_base64())  # type: ignore[arg-type]  # base64 in C (binascii)


def _wire_size(body: str, encoding: str) -> int:
    """Octets of an encoded body on the wire, CRLF line ends included."""
    size = len(body.encode())
    if encoding == "base64":
        return size * 4 // 3 + 2 * (size // 57 + 1) + 4  # lines of 76 characters (57 octets) and CRLF
    return size + body.count("\n")


def render_digest_mail(
    digest: Digest,
    *,
    sender: str,
    recipient: str,
    now: datetime,
    max_changes: int = MAX_DIGEST_CHANGES,
    max_bytes: int = MAX_MAIL_BYTES,
) -> Message:
    """The digest as a multipart e-mail with List-Unsubscribe (one-click) and a stable Message-ID.

    It shows at most `max_changes` changes (the most serious, then the newest) and says how many more
    there are, with links to the trials and the tracker's feed; fewer when that is needed to stay under
    `max_bytes`. Built with the MIME classes of the standard library, whose headers cost a tenth of
    EmailMessage's: a run sends thousands of these.
    """
    subject = digest_subject(digest)
    limit = max_changes
    while True:
        shown = bounded(digest, limit)
        context = {
            "digest": shown,
            "subject": subject,
            "heading": _heading(shown),
            "more_line": _more_line(shown),
            "colours": SEVERITY_COLOURS,
        }
        text, html = render("digest.txt", **context), render("digest.html", **context)
        encodings = body_encoding(text), body_encoding(html)
        size = _ENVELOPE_BYTES + sum(
            _wire_size(body, encoding) for body, encoding in zip((text, html), encodings, strict=True)
        )
        if size <= max_bytes or shown.shown_count <= 1:
            break
        limit = max(1, min(shown.shown_count - 1, shown.shown_count * max_bytes * 9 // (size * 10)))
    message = MIMEMultipart("alternative", _subparts=[_part(text, "plain", encodings[0])])
    message.attach(_part(html, "html", encodings[1]))
    message["From"] = _address(sender)
    message["To"] = _address(recipient)
    message["Subject"] = _header(subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(digest.idempotency_key, sender)
    message["List-Id"] = f"hemewatch tracker {digest.tracker_id} <tracker-{digest.tracker_id}.hemewatch>"
    message["List-Unsubscribe"] = f"<{digest.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Hemewatch-Delivery"] = digest.idempotency_key
    return message


def describe_follows(spec: TrackerSpec) -> str:
    """What a tracker follows, in a few words."""
    parts = [*spec.diseases, *spec.modalities, *spec.targets, *spec.settings, *spec.populations, *spec.agents]
    parts += [*spec.phases, *spec.statuses, *spec.countries, *spec.nct_ids]
    if spec.sponsor:
        parts.append(f"sponsor “{spec.sponsor}”")
    if spec.text:
        parts.append(f"“{spec.text}”")
    return "trials matching " + ", ".join(parts) if parts else "every trial in the watch scope"


def render_confirmation_mail(
    tracker: Tracker, *, sender: str, public_url: str, confirm_token: str, manage_token: str, now: datetime
) -> EmailMessage:
    """The double opt-in mail with the confirm link and the manage link."""
    base = public_url.rstrip("/")
    context = {
        "tracker": tracker,
        "cadence": tracker.spec.cadence,
        "follows": describe_follows(tracker.spec),
        "confirm_url": f"{base}/trackers/confirm/{confirm_token}",
        "manage_url": f"{base}/trackers/manage/{manage_token}",
    }
    message = EmailMessage()
    message["From"] = sender
    message["To"] = tracker.email
    message["Subject"] = f"[hemewatch] Confirm the tracker “{tracker.name}”"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(f"hw-{tracker.uid}-confirm-{int(now.timestamp())}", sender)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render("confirm.txt", **context))
    message.add_alternative(render("confirm.html", **context), subtype="html")
    return message
