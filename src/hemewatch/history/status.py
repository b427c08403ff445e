"""status_changed and results_posted events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hemewatch.history.context import DiffContext
from hemewatch.history.events import ChangeEvent, JsonValue
from hemewatch.history.normalise import canonical, get_path
from hemewatch.history.wording import shorten, status_label
from hemewatch.text import loose

_STATUS = "protocolSection.statusModule"


def diff_status(
    old_status: Mapping[str, Any], new_status: Mapping[str, Any], ctx: DiffContext
) -> list[ChangeEvent]:
    """A status_changed event for a new overall status, or for a new reason for stopping."""
    before, after = _status_value(old_status), _status_value(new_status)
    old_code, new_code = old_status.get("overallStatus"), new_status.get("overallStatus")
    why = new_status.get("whyStopped")
    if old_code != new_code:
        summary = f"Overall status: {status_label(old_code)} → {status_label(new_code)}"
        if why:
            summary += f" (why stopped: {shorten(why)})"
        if new_status.get("lastKnownStatus"):
            summary += f" (last known: {status_label(new_status['lastKnownStatus'])})"
        return [
            ctx.event(f"status_changed.to.{new_code}", f"{_STATUS}.overallStatus", before, after, summary)
        ]
    events = []
    if loose(old_status.get("whyStopped")) != loose(why):
        summary = (
            f"Reason for stopping {'changed' if old_status.get('whyStopped') else 'given'}: {shorten(why)}"
        )
        events.append(
            ctx.event("status_changed.why_stopped", f"{_STATUS}.whyStopped", before, after, summary)
        )
    old_known, new_known = old_status.get("lastKnownStatus"), new_status.get("lastKnownStatus")
    if old_known != new_known:
        summary = f"Last known status: {status_label(old_known)} → {status_label(new_known)}"
        events.append(
            ctx.event(
                "status_changed.last_known_status", f"{_STATUS}.lastKnownStatus", before, after, summary
            )
        )
    return events


def _status_value(status: Mapping[str, Any]) -> dict[str, JsonValue]:
    return {
        key: status[key]
        for key in ("overallStatus", "whyStopped", "lastKnownStatus")
        if status.get(key) is not None
    }


def diff_results(old: Mapping[str, Any], new: Mapping[str, Any], ctx: DiffContext) -> list[ChangeEvent]:
    """A results_posted event when results first appear, change or disappear."""
    had, has = bool(old.get("hasResults")), bool(new.get("hasResults"))
    old_results, new_results = old.get("resultsSection") or {}, new.get("resultsSection") or {}
    if had == has and old_results == new_results:
        return []
    posted = get_path(new, f"{_STATUS}.resultsFirstPostDateStruct.date")
    if has and not had:
        after: JsonValue = {"resultsFirstPostDate": posted, "modules": sorted(new_results)}
        summary = f"Results posted{f' on {posted}' if posted else ''}"
        return [ctx.event("results_posted.first", "resultsSection", None, after, summary)]
    if had and not has:
        before: JsonValue = {"modules": sorted(old_results)}
        return [
            ctx.event("results_posted.removed", "resultsSection", before, None, "Posted results withdrawn")
        ]
    ignored = ctx.rules.ignored_keys
    changed = sorted(
        name
        for name in old_results.keys() | new_results.keys()
        if old_results.get(name) != new_results.get(name)
        and canonical(old_results.get(name), ignored) != canonical(new_results.get(name), ignored)
    )
    if not changed:
        return []
    summary = f"Posted results updated: {', '.join(changed)}"
    return [ctx.event("results_posted.updated", "resultsSection", None, {"modules": changed}, summary)]
