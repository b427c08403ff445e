"""What a study tests: its agents, their modalities and the antigens its immunotherapies target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from hemewatch.classification.context import RecordContext
from hemewatch.classification.design import is_diagnostic
from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.mentions import Mention
from hemewatch.classification.model import Evidence, Therapy
from hemewatch.classification.record import Intervention, StudyFacts
from hemewatch.classification.target_rules import (
    add_qualified_targets,
    car_nk_fields,
    find_directed_targets,
)
from hemewatch.classification.therapy_drafts import Draft, DraftBook, listed_group
from hemewatch.classification.therapy_merge import merge_text_drafts
from hemewatch.classification.therapy_roles import assign_roles
from hemewatch.classification.therapy_sources import (
    STEM_WORD,
    SUPPORTIVE_PURPOSES,
    modality_of,
    select_studied,
)

Found = dict[str, list[Evidence]]

_NOT_ANTICANCER: Final = frozenset({"supportive care", "non-interventional"})
_DESIGN: Final = "protocolSection.designModule"


@dataclass(slots=True)
class TherapyFindings:
    """The studied therapies of one study, and the trial-level agents, modalities (internal ids) and
    targets derived from them, with evidence.

    `named` holds the modalities that come from a named agent rather than a generic phrase.
    """

    therapies: list[Therapy] = field(default_factory=list)
    agents: Found = field(default_factory=dict)
    modalities: Found = field(default_factory=dict)
    targets: Found = field(default_factory=dict)
    named: set[str] = field(default_factory=set)

    def add(self, found: Found, key: str, evidence: Evidence) -> None:
        """Record one piece of evidence for a key."""
        bucket = found.setdefault(key, [])
        if evidence not in bucket:
            bucket.append(evidence)


def classify_therapies(
    mentions: Sequence[Mention], facts: StudyFacts, lexicon: Lexicon, context: RecordContext
) -> TherapyFindings:
    """Classify the studied therapies of one study."""
    studied = select_studied(mentions, facts, lexicon)
    book = DraftBook(lexicon, facts.interventions)
    upgrades = _field_upgrades(studied.mentions, lexicon)
    for mention in studied.mentions:
        field_upgrades = upgrades.get(id(mention.segment), {})
        group = listed_group(mention)
        if mention.kind == "agent":
            agent = lexicon.agents[mention.entry]
            modality = field_upgrades.get(agent.modality, agent.modality)
            # A drug named in an intervention's description (lymphodepletion, background) is not
            # that intervention.
            own = group if mention.segment.role != "intervention_description" else None
            book.add_agent(own, agent.id, modality, mention)
        elif mention.kind == "modality":
            book.add_modality(group, field_upgrades.get(mention.entry, mention.entry), mention)
    _add_listed_support(mentions, studied.mentions, book, lexicon)
    for directed in find_directed_targets(studied.mentions, lexicon):
        modality = upgrades.get(id(directed.target.segment), {}).get(directed.modality, directed.modality)
        book.add_directed(listed_group(directed.target), modality, directed.target)
    for car in car_nk_fields(studied.mentions):
        for draft in book.of_group(listed_group(car)):
            if draft.modality == "CAR-T" and car.evidence in draft.modality_evidence:
                draft.modality = "CAR-NK"
    if context.oncologic:
        _add_unknown_drugs(studied.unresolved, lexicon, book)
    else:
        _drop_outside_cancer(book, lexicon, context)
    _drop_modifiers(book, lexicon)
    _resolve_modalities(book, lexicon)
    merge_text_drafts(book, lexicon)
    add_qualified_targets(book, mentions, lexicon)
    found = TherapyFindings(therapies=assign_roles(book, facts, lexicon))
    _derive_labels(found, book, lexicon)
    _apply_study_design(found, facts, lexicon, context, mentions)
    if not any(lexicon.modalities[m].immunotherapy for m in found.modalities):
        found.targets.clear()  # targets belong to immunotherapies only
    return found


def _add_listed_support(
    mentions: Sequence[Mention], selected: Sequence[Mention], book: DraftBook, lexicon: Lexicon
) -> None:
    """Listed supportive drugs of a treatment study (G-CSF, antifungals): therapies without labels."""
    chosen = {id(m) for m in selected}
    for mention in mentions:
        group = listed_group(mention)
        if (
            id(mention) in chosen
            or group is None
            or not mention.plain
            or mention.segment.role == "intervention_description"
        ):
            continue
        modality = modality_of(mention, lexicon)
        if modality is None or lexicon.modalities[modality].family != "supportive":
            continue
        if any(d.index == group and d.labelled for d in book):
            continue
        known = {id(d) for d in book}
        draft: Draft | None
        if mention.kind == "agent":
            draft = book.add_agent(group, mention.entry, modality, mention)
        else:
            draft = book.add_modality(group, modality, mention)
        if draft is not None and id(draft) not in known:
            draft.labelled = False  # a title that names it keeps it a label (selected above)


def _derive_labels(found: TherapyFindings, book: DraftBook, lexicon: Lexicon) -> None:
    """Trial-level agents, modalities and targets: the union over the therapies."""
    for draft in book:
        if not draft.labelled:
            continue
        if draft.agent is not None:
            for evidence in draft.agent_evidence:
                found.add(found.agents, draft.agent, evidence)
        if draft.modality is None:
            continue
        for evidence in draft.modality_evidence or [Evidence(*_draft_source(draft))]:
            found.add(found.modalities, draft.modality, evidence)
        if draft.named:
            found.named.add(draft.modality)
        if lexicon.modalities[draft.modality].immunotherapy:
            for target, evidence_list in draft.targets.items():
                for evidence in evidence_list:
                    found.add(found.targets, target, evidence)


def _draft_source(draft: Draft) -> tuple[str, str]:
    if draft.item is not None:
        return draft.item.path, draft.item.name
    return "", draft.name


def _field_upgrades(mentions: Sequence[Mention], lexicon: Lexicon) -> dict[int, dict[str, str]]:
    """Modality upgrades per field: a radionuclide named with an antibody makes a radioimmunoconjugate."""
    upgrades: dict[int, dict[str, str]] = {}
    for mention in mentions:
        if mention.kind == "modality" and lexicon.modalities[mention.entry].upgrades:
            upgrades.setdefault(id(mention.segment), {}).update(lexicon.modalities[mention.entry].upgrades)
    return upgrades


def _add_unknown_drugs(unresolved: Sequence[Intervention], lexicon: Lexicon, book: DraftBook) -> None:
    """Listed interventions no lexicon entry names and nothing in their own fields explains.

    A drug whose name carries a known INN stem is classed by it; any other stays without a modality
    (an unresolved agent) unless the titles or prose say what it is (see merge_text_drafts).
    """
    for item in unresolved:
        if book.of_group(item.index):
            continue  # its description said what it is
        evidence = Evidence(item.path, item.name)
        for word in STEM_WORD.findall(item.name):
            modality = lexicon.modality_of_name(word)
            if modality:
                draft = book.add_unexplained(item, modality, evidence)
                stem = lexicon.stem_of_name(word)
                draft.stem_class = stem.drug_class if stem else None
                break
        else:
            # Selection kept only therapeutic types and drug-like untyped or OTHER products.
            book.add_unexplained(item, None, evidence)


def _drop_modifiers(book: DraftBook, lexicon: Lexicon) -> None:
    """A radionuclide named with an antibody made it a radioimmunoconjugate: not a second therapy."""
    for draft in list(book):
        if draft.modality is None or not lexicon.modalities[draft.modality].upgrades:
            continue
        if any(other is not draft and other.index == draft.index for other in book):
            book.remove(draft)


def _drop_outside_cancer(book: DraftBook, lexicon: Lexicon, context: RecordContext) -> None:
    """Outside cancer, generic phrases name no modality of this vocabulary.

    "Cell therapy" there is regenerative medicine and "targeted therapy" means nothing in particular.
    Named agents keep their modality; supportive care and vaccines stay only around an infection.
    """
    for draft in list(book):
        if draft.modality is None:
            continue
        family = lexicon.modalities[draft.modality].family
        directed = bool(draft.targets) and lexicon.modalities[draft.modality].takes_targets
        # An antigen-directed product ("CD19 CAR-T cells" in lupus) is what it is in any disease.
        keep = context.infection if family in ("supportive", "vaccine") else draft.named or directed
        if not keep:
            book.remove(draft)


def _resolve_modalities(book: DraftBook, lexicon: Lexicon) -> None:
    """Drop generic phrases a more specific modality explains, then weaker modalities that yield.

    A listed intervention described only by the weaker phrase becomes the stronger modality (the
    "cell therapy" of a CAR-T study is its CAR-T cells); a phrase in text alone is dropped.
    """
    present = {d.modality for d in book if d.modality is not None and d.labelled}
    named = {d.modality for d in book if d.named and d.modality is not None}
    for draft in list(book):
        modality = draft.modality
        if modality is None or modality in named:
            continue
        stronger = sorted(o for o in present - {modality} if modality in lexicon.modalities[o].supersedes)
        if stronger:
            _replace(book, draft, stronger)
    present = {d.modality for d in book if d.modality is not None and d.labelled}
    for draft in list(book):
        modality = draft.modality
        if modality is None or not draft.labelled:
            continue
        others = {m for m in present - {modality} if lexicon.modalities[m].family}
        yields = set(lexicon.modalities[modality].yields_to)
        stronger = sorted(m for m in others if lexicon.modalities[m].family in yields)
        if stronger:
            _replace(book, draft, stronger)


def _replace(book: DraftBook, draft: Draft, stronger: Sequence[str]) -> None:
    if draft.index is None or draft.agent is not None or len(stronger) != 1:
        if draft.agent is None:
            book.remove(draft)
        else:
            draft.modality = None  # keeps its agent; its modality is told by the other therapy
        return
    draft.modality = stronger[0]


def _apply_study_design(
    found: TherapyFindings,
    facts: StudyFacts,
    lexicon: Lexicon,
    context: RecordContext,
    mentions: Sequence[Mention],
) -> None:
    """Study-level modalities: infection vaccines, supportive-care purpose, non-interventional designs."""
    if "vaccine" in found.modalities and "vaccine" not in found.named and context.infection:
        # A vaccine against an infection is supportive care, not immunotherapy.
        found.add(found.modalities, "supportive care", found.modalities.pop("vaccine")[0])
        found.therapies = [
            replace(t, modality="supportive care", targets=(), role="supportive")
            if t.modality == "vaccine"
            else t
            for t in found.therapies
        ]
    labelled = {m for m in found.modalities if lexicon.modalities[m].label}
    if (
        facts.primary_purpose in SUPPORTIVE_PURPOSES
        and (context.oncologic or context.infection)
        and not labelled - _NOT_ANTICANCER
    ):
        evidence = facts.design_evidence or Evidence(
            f"{_DESIGN}.designInfo.primaryPurpose", facts.primary_purpose or ""
        )
        found.add(found.modalities, "supportive care", evidence)
    if facts.study_type == "OBSERVATIONAL":
        evidence = facts.design_evidence or Evidence(f"{_DESIGN}.studyType", facts.study_type)
        found.add(found.modalities, "non-interventional", evidence)
    elif (
        context.oncologic
        and not labelled
        and facts.interventions
        and all(is_diagnostic(item, mentions, lexicon) for item in facts.interventions)
    ):
        first = facts.interventions[0]
        found.add(found.modalities, "non-interventional", Evidence(first.path, first.name))
