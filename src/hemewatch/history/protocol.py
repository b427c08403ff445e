"""protocol_amended events: which of arms, interventions, eligibility, outcomes, design, conditions
and descriptions changed, and what was added, removed or modified."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hemewatch.eligibility.model import Fact
from hemewatch.history.context import DiffContext
from hemewatch.history.events import ChangeEvent, JsonValue
from hemewatch.history.normalise import canonical, module
from hemewatch.history.wording import quoted_list
from hemewatch.text import criteria_lines, fold, loose

Study = Mapping[str, Any]
_ELIGIBILITY_FIELDS = (
    "sex", "genderBased", "genderDescription", "minimumAge", "maximumAge",
    "healthyVolunteers", "studyPopulation", "samplingMethod",
)  # fmt: skip
_OUTCOME_KINDS = (
    ("primaryOutcomes", "primary"),
    ("secondaryOutcomes", "secondary"),
    ("otherOutcomes", "other"),
)
_DESIGN_EXCLUDED = frozenset({"phases", "enrollmentInfo"})  # their own event types


@dataclass(frozen=True, slots=True)
class Item:
    """One comparable piece of a protocol part: same key, different signature means modified."""

    key: str
    signature: str
    label: str
    value: JsonValue


@dataclass(frozen=True, slots=True)
class Part:
    """A part of the protocol: the module (and member) it lives in and how to cut it into items."""

    name: str
    module_name: str
    member: str | None
    items: Callable[[Study], list[Item]]
    excluded: frozenset[str] = frozenset()

    @property
    def path(self) -> str:
        """Dotted path of the part in a study record."""
        return f"protocolSection.{self.module_name}" + (f".{self.member}" if self.member else "")

    def source(self, study: Study) -> object:
        """The raw value of the part, compared first so that unchanged parts cost nothing."""
        found = module(study, self.module_name)
        if self.member:
            return found.get(self.member)
        return {key: value for key, value in found.items() if key not in self.excluded}


def diff_protocol(
    old: Study, new: Study, changed_modules: frozenset[str], ctx: DiffContext
) -> list[ChangeEvent]:
    """One protocol_amended event per part whose content changed."""
    events = []
    for part in PARTS:
        if part.module_name not in changed_modules:
            continue
        old_source, new_source = part.source(old), part.source(new)
        if old_source == new_source:
            continue
        event = _diff_part(part, old, new, ctx)
        ignored = ctx.rules.ignored_keys
        if event is None and canonical(old_source, ignored) != canonical(new_source, ignored):
            # Only case, punctuation or Markdown changed: recorded, not alerted.
            summary = f"Protocol wording reformatted ({part.name}), no change in content"
            event = ctx.event(
                "protocol_amended.formatting",
                part.path,
                canonical(old_source, ignored),
                canonical(new_source, ignored),
                summary,
            )
        if event is not None:
            events.append(event)
    return events


def _diff_part(part: Part, old: Study, new: Study, ctx: DiffContext) -> ChangeEvent | None:
    old_items, new_items = _by_key(part.items(old)), _by_key(part.items(new))
    removed = [old_items[k] for k in sorted(old_items.keys() - new_items.keys())]
    added = [new_items[k] for k in sorted(new_items.keys() - old_items.keys())]
    modified = sorted(
        k for k in old_items.keys() & new_items.keys() if old_items[k].signature != new_items[k].signature
    )
    if not (removed or added or modified):
        return None
    clauses = [
        f"{verb} {quoted_list(labels)}"
        for verb, labels in (
            ("added", [item.label for item in added]),
            ("removed", [item.label for item in removed]),
            ("modified", [new_items[k].label for k in modified]),
        )
        if labels
    ]
    before: JsonValue = [item.value for item in removed] + [old_items[k].value for k in modified]
    after: JsonValue = [item.value for item in added] + [new_items[k].value for k in modified]
    rule = f"protocol_amended.{part.name}"
    touched = removed + added + [new_items[k] for k in modified]
    if part.name == "outcomes" and any(item.key.startswith("primary\x1f") for item in touched):
        rule += ".primary"
    summary = f"Protocol amended ({part.name}): " + "; ".join(clauses)
    if part.name == "eligibility":
        gone, came = fact_changes(old, new)
        if gone or came:
            summary += ". " + facts_sentence(gone, came)
            assert isinstance(before, list) and isinstance(after, list)
            before.append({"field": FACTS_FIELD, "value": [fact.to_dict() for fact in gone]})
            after.append({"field": FACTS_FIELD, "value": [fact.to_dict() for fact in came]})
    return ctx.event(rule, part.path, before, after, summary)


# The item of an eligibility amendment's before / after that lists the facts it removed / added.
FACTS_FIELD = "eligibility facts"


def fact_changes(old: Study, new: Study) -> tuple[list[Fact], list[Fact]]:
    """The eligibility facts only the old version states, and those only the new one states."""
    # Imported here: the parser reads criteria with this package's splitter (history.normalise).
    from hemewatch.eligibility.parse import parse_eligibility

    old_facts, new_facts = parse_eligibility(old), parse_eligibility(new)
    old_keys, new_keys = {fact.key() for fact in old_facts}, {fact.key() for fact in new_facts}
    gone = [fact for fact in old_facts if fact.key() not in new_keys]
    came = [fact for fact in new_facts if fact.key() not in old_keys]
    return gone, came


def facts_sentence(gone: list[Fact], came: list[Fact]) -> str:
    """ "Now excludes prior CD19 CAR-T; no longer requires ECOG at most 2"."""
    parts = []
    if came:
        parts.append("Now " + ", ".join(_phrase(fact) for fact in came))
    if gone:
        parts.append(("no longer " if came else "No longer ") + ", ".join(_phrase(fact) for fact in gone))
    return "; ".join(parts)


def _phrase(fact: Fact) -> str:
    text = fact.describe()
    if text.split(" ", 1)[0] in ("Requires", "Excludes", "Allows"):
        return text[0].lower() + text[1:]
    # "Age 18–65 years" reads "requires age …"; scale names ("ECOG", "Karnofsky") keep their capitals.
    return "requires " + (text[0].lower() + text[1:] if fact.kind == "age" else text)


def _by_key(items: list[Item]) -> dict[str, Item]:
    keyed: dict[str, Item] = {}
    for item in sorted(items, key=lambda item: (item.key, item.signature)):
        # Two items with one key (an outcome listed twice with two time frames) stay distinct.
        key = item.key if item.key not in keyed else f"{item.key}\x1f{item.signature}"
        keyed[key] = item
    return keyed


def _field_item(name: str, value: object) -> Item:
    form = canonical(value)
    shown = ", ".join(map(str, form)) if isinstance(form, list) else str(form)
    return Item(f"field\x1f{name}", loose(shown), f"{name}: {shown}", {"field": name, "value": form})


def _arm_items(study: Study) -> list[Item]:
    items = []
    for arm in module(study, "armsInterventionsModule").get("armGroups") or []:
        label = str(arm.get("label") or "")
        signature = loose(
            [arm.get("type"), arm.get("description"), sorted(map(fold, arm.get("interventionNames") or []))]
        )
        items.append(Item(fold(label), signature, label, canonical(arm)))
    return items


def _intervention_items(study: Study) -> list[Item]:
    items = []
    for intervention in module(study, "armsInterventionsModule").get("interventions") or []:
        kind, name = str(intervention.get("type") or ""), str(intervention.get("name") or "")
        signature = loose([
            intervention.get("description"),
            sorted(map(loose, intervention.get("otherNames") or [])),
            sorted(map(fold, intervention.get("armGroupLabels") or [])),
        ])  # fmt: skip
        label = f"{kind.replace('_', ' ').title()}: {name}" if kind else name
        items.append(Item(f"{kind}\x1f{fold(name)}", signature, label, canonical(intervention)))
    return items


def _eligibility_items(study: Study) -> list[Item]:
    eligibility = module(study, "eligibilityModule")
    items = [
        Item(f"{section}\x1f{form}", form, f"{section}: {text}", {"field": section, "value": text})
        for section, text, form in criteria_lines(str(eligibility.get("eligibilityCriteria") or ""))
    ]
    items += [_field_item(name, eligibility[name]) for name in _ELIGIBILITY_FIELDS if name in eligibility]
    return items


def _outcome_items(study: Study) -> list[Item]:
    outcomes = module(study, "outcomesModule")
    items = []
    for field, kind in _OUTCOME_KINDS:
        for outcome in outcomes.get(field) or []:
            measure = str(outcome.get("measure") or "")
            value = canonical({"kind": kind, **outcome})
            signature = loose([outcome.get("timeFrame"), outcome.get("description")])
            items.append(Item(f"{kind}\x1f{loose(measure)}", signature, f"{kind}: {measure}", value))
    return items


def _design_items(study: Study) -> list[Item]:
    design = {
        key: value for key, value in module(study, "designModule").items() if key not in _DESIGN_EXCLUDED
    }
    return [_field_item(name, value) for name, value in _flatten(design)]


def _flatten(node: Mapping[str, Any], prefix: str = "") -> list[tuple[str, object]]:
    leaves: list[tuple[str, object]] = []
    for key, value in node.items():
        if isinstance(value, Mapping):
            leaves += _flatten(value, f"{prefix}{key}.")
        else:
            leaves.append((f"{prefix}{key}", value))
    return leaves


def _condition_items(study: Study) -> list[Item]:
    conditions = module(study, "conditionsModule")
    return [
        Item(f"{field}\x1f{loose(term)}", "", f"{field}: {term}", {"field": field, "value": canonical(term)})
        for key, field in (("conditions", "condition"), ("keywords", "keyword"))
        for term in conditions.get(key) or []
    ]


def _description_items(study: Study) -> list[Item]:
    description = module(study, "descriptionModule")
    return [
        _field_item(name, description[name])
        for name in ("briefSummary", "detailedDescription")
        if name in description
    ]


PARTS = (
    Part("arms", "armsInterventionsModule", "armGroups", _arm_items),
    Part("interventions", "armsInterventionsModule", "interventions", _intervention_items),
    # stdAges is derived by the registry from the age limits: administrative, see noise.yaml.
    Part("eligibility", "eligibilityModule", None, _eligibility_items, frozenset({"stdAges"})),
    Part("outcomes", "outcomesModule", None, _outcome_items),
    Part("design", "designModule", None, _design_items, _DESIGN_EXCLUDED),
    Part("conditions", "conditionsModule", None, _condition_items),
    Part("description", "descriptionModule", None, _description_items),
)
