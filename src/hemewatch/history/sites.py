"""Sites matched across versions by facility, city and country, never by list position."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from hemewatch.history.context import DiffContext
from hemewatch.history.events import ChangeEvent, JsonValue
from hemewatch.history.normalise import canonical, sort_token
from hemewatch.history.rules import Rules
from hemewatch.history.wording import quoted_list, site_label, status_label
from hemewatch.text import fold

SITES_PATH = "protocolSection.contactsLocationsModule.locations"
Site = Mapping[str, Any]
SiteKey = tuple[str, str, str]
_SUMMARY_FIELDS = ("facility", "city", "state", "zip", "country", "status")
_IDENTITY_AND_STATUS = frozenset({"facility", "city", "country", "status"})


def site_key(site: Site) -> SiteKey:
    """Identity of a site: facility, city and country, ignoring case and spacing."""
    return (fold(site.get("facility")), fold(site.get("city")), fold(site.get("country")))


def diff_sites(old_sites: Sequence[Site], new_sites: Sequence[Site], ctx: DiffContext) -> list[ChangeEvent]:
    """site_added, site_removed and site_status_changed events, plus one for changed site details."""
    old_groups, new_groups = _group(old_sites), _group(new_sites)
    pairs: list[tuple[Site, Site]] = []
    removed: list[Site] = []
    added: list[Site] = []
    for key in sorted(old_groups.keys() | new_groups.keys()):
        matched, gone, came = _pair_group(old_groups.get(key, []), new_groups.get(key, []))
        pairs += matched
        removed += gone
        added += came
    renamed = _pair_placeholders(removed, added, ctx.rules)
    renamed_ids = {id(site) for pair in renamed for site in pair}
    events = [_status_event(old, new, ctx, renamed=False) for old, new in pairs]
    events += [_status_event(old, new, ctx, renamed=True) for old, new in renamed]
    events += [_added_event(site, ctx) for site in added if id(site) not in renamed_ids]
    events += [_removed_event(site, ctx) for site in removed if id(site) not in renamed_ids]
    found = _unique_paths([event for event in events if event is not None])
    details = [(old, new) for old, new in pairs + renamed if old != new and not _same_details(old, new)]
    if details:
        found.append(_details_event(details, ctx))
    return found


def _group(sites: Sequence[Site]) -> dict[SiteKey, list[Site]]:
    groups: dict[SiteKey, list[Site]] = defaultdict(list)
    for site in sites:
        groups[site_key(site)].append(site)
    return groups


def _pair_group(olds: list[Site], news: list[Site]) -> tuple[list[tuple[Site, Site]], list[Site], list[Site]]:
    if not olds or not news:
        # Duplicates keep a stable order, so their numbered paths do not follow list positions.
        return [], _stable(olds), _stable(news)
    if len(olds) == 1 and len(news) == 1:
        return [(olds[0], news[0])], [], []
    # Sponsors list one facility several times ("Research Site", Berlin, two zip codes): pair the
    # duplicates on ever looser evidence, in an order that does not depend on list positions.
    old_left = sorted(olds, key=_token)
    new_left = sorted(news, key=_token)
    pairs: list[tuple[Site, Site]] = []
    criteria: tuple[Callable[[Site], object], ...] = (
        _token,
        lambda site: (fold(site.get("zip")), site.get("status")),
        lambda site: fold(site.get("zip")),
        lambda site: site.get("status"),
        lambda site: None,
    )
    for criterion in criteria:
        for old in list(old_left):
            wanted = criterion(old)
            match = next((new for new in new_left if criterion(new) == wanted), None)
            if match is not None:
                pairs.append((old, match))
                old_left.remove(old)
                new_left.remove(match)
    return pairs, old_left, new_left


def _pair_placeholders(removed: list[Site], added: list[Site], rules: Rules) -> list[tuple[Site, Site]]:
    olds: dict[tuple[str, str], list[Site]] = defaultdict(list)
    for site in removed:
        match = rules.placeholder_facility.match(fold(site.get("facility")))
        if match:
            olds[(fold(site.get("country")), match.group("site").casefold())].append(site)
    if not olds:
        return []
    news: dict[tuple[str, str], list[Site]] = defaultdict(list)
    for site in added:
        if rules.placeholder_facility.match(fold(site.get("facility"))):
            continue
        numbers = {
            match.group("site").casefold()
            for contact in site.get("contacts") or []
            if (match := rules.placeholder_contact.search(str(contact.get("name") or "")))
        }
        for number in numbers:
            news[(fold(site.get("country")), number)].append(site)
    # Only an unambiguous one-to-one match counts as the same site renamed.
    return [
        (olds[key][0], news[key][0]) for key in sorted(olds) if len(olds[key]) == 1 and len(news[key]) == 1
    ]


def _status_event(old: Site, new: Site, ctx: DiffContext, *, renamed: bool) -> ChangeEvent | None:
    before, after = old.get("status"), new.get("status")
    if before == after:
        return None
    label = site_label(new)
    if renamed:
        label += f" (listed before as {old.get('facility')})"
    if after is None:
        rule, summary = "site_status_changed.status_dropped", f"Site status no longer given: {label}"
    elif after == "RECRUITING":
        rule, summary = "site_status_changed.to.RECRUITING", f"New enrolling site: {label}"
    else:
        rule, summary = f"site_status_changed.to.{after}", f"Site now {status_label(after)}: {label}"
    summary += f" (was {status_label(before)})" if before else " (no status given before)"
    return ctx.event(rule, _path(new), _summary_value(old), _summary_value(new), summary)


def _added_event(site: Site, ctx: DiffContext) -> ChangeEvent:
    if site.get("status") == "RECRUITING":
        rule, summary = "site_added.recruiting", f"New enrolling site: {site_label(site)} (site added)"
    else:
        rule = "site_added"
        summary = f"Site added: {site_label(site)} ({status_label(site.get('status'))})"
    return ctx.event(rule, _path(site), None, _summary_value(site), summary)


def _removed_event(site: Site, ctx: DiffContext) -> ChangeEvent:
    summary = f"Site removed: {site_label(site)} (was {status_label(site.get('status'))})"
    return ctx.event("site_removed", _path(site), _summary_value(site), None, summary)


def _details_event(pairs: list[tuple[Site, Site]], ctx: DiffContext) -> ChangeEvent:
    forms = sorted(
        ((canonical(old), canonical(new), site_label(new)) for old, new in pairs), key=_by_new_form
    )
    labels = [label for _, _, label in forms]
    summary = f"Contacts or address changed at {len(forms)} site(s): {quoted_list(labels)}"
    before: JsonValue = [old for old, _, _ in forms]
    after: JsonValue = [new for _, new, _ in forms]
    return ctx.event("other_changed.site_details", SITES_PATH, before, after, summary)


def _by_new_form(forms: tuple[JsonValue, JsonValue, str]) -> bytes:
    return sort_token(forms[1])


def _unique_paths(events: list[ChangeEvent]) -> list[ChangeEvent]:
    # Duplicated sites share a key; a numbered path keeps each event addressable.
    seen: Counter[tuple[str, str]] = Counter()
    unique = []
    for event in events:
        seen[(event.type, event.path)] += 1
        count = seen[(event.type, event.path)]
        if count > 1:
            event = replace(event, path=f"{event.path}#{count}")
        unique.append(event)
    return unique


def _path(site: Site) -> str:
    return f"{SITES_PATH}[{'|'.join(site_key(site))}]"


def _summary_value(site: Site) -> dict[str, JsonValue]:
    return {field: site[field] for field in _SUMMARY_FIELDS if site.get(field)}


def _same_details(old: Site, new: Site) -> bool:
    # Identity fields compare folded, as the match did: a facility name re-cased is not news.
    if site_key(old) != site_key(new):
        return False
    old_rest = {key: value for key, value in old.items() if key not in _IDENTITY_AND_STATUS}
    new_rest = {key: value for key, value in new.items() if key not in _IDENTITY_AND_STATUS}
    return old_rest == new_rest or canonical(old_rest) == canonical(new_rest)


def _stable(sites: list[Site]) -> list[Site]:
    return sites if len(sites) < 2 else sorted(sites, key=_token)


def _token(site: Site) -> bytes:
    return sort_token(canonical(site))
