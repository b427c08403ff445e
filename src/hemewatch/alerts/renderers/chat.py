"""Chat (Apprise: Slack, Teams, Telegram, ntfy, Discord…): a short markdown message."""

from __future__ import annotations

import re

from hemewatch.alerts.digest import Digest
from hemewatch.alerts.renderers.mail import digest_subject
from hemewatch.history.wording import shorten

MAX_TRIALS = 5
MAX_CHANGES = 3
_MARKDOWN = re.compile(r"([\\`*_\[\]()<>#|~])")


def escape_markdown(text: str) -> str:
    """Trial text with markdown control characters escaped, so it cannot add links or formatting."""
    return _MARKDOWN.sub(r"\\\1", text)


def render_chat(digest: Digest) -> tuple[str, str]:
    """The title and markdown body of a chat message: the first trials and changes, then a count."""
    lines: list[str] = []
    for trial in digest.trials[:MAX_TRIALS]:
        title = escape_markdown(shorten(trial.title, 90))
        lines.append(f"**[{trial.nct_id}]({trial.web_url})** {title}")
        for change in trial.changes[:MAX_CHANGES]:
            summary = escape_markdown(shorten(change.summary, 140))
            lines.append(f"- *{change.label}* ({change.severity}): {summary}")
        hidden = len(trial.changes) - MAX_CHANGES
        if hidden > 0:
            lines.append(f"- … and {hidden} more {'change' if hidden == 1 else 'changes'}")
        lines.append("")
    more = digest.trial_count - MAX_TRIALS
    if more > 0:
        lines.append(f"… and {more} more {'trial' if more == 1 else 'trials'}.")
    if digest.feed_url:
        lines.append(f"[All changes (Atom feed)]({digest.feed_url})")
    title = digest_subject(digest).removeprefix("[hemewatch] ")
    return f"hemewatch · {title}", "\n".join(lines).strip() + "\n"
