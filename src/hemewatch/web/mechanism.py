"""The words a trial is summarised with: its drug / mechanism line, and which diseases are worth naming.

"Blinatumomab (CD19 × CD3 T-cell engager) + chemotherapy": the investigational agents first with
what they are, then the comparator ("vs …"), then the backbone in a word or two; written from the
therapies, or from the tags for versions classified before therapies existed. Pure: therapies, tags
and the lexicon in, text out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.model import Therapy

# How a named agent's modality is described; {targets} is its antigens joined by "/".
# Every key is a modality id of the lexicons (a test checks it, so a renamed modality fails).
_DESCRIPTIONS: Final[dict[str, tuple[str, str]]] = {
    # modality: (with targets, without targets)
    "T-cell engager": ("{targets} × CD3 T-cell engager", "T-cell engager"),
    "CAR-T": ("{targets} CAR-T", "CAR-T"),
    "CAR-NK": ("{targets} CAR-NK", "CAR-NK"),
    "TCR-T": ("{targets} TCR-T", "TCR-T"),
    "antibody-drug conjugate": ("{targets} antibody-drug conjugate", "antibody-drug conjugate"),
    "radioimmunoconjugate": ("{targets} radioimmunoconjugate", "radioimmunoconjugate"),
    "monoclonal antibody": ("{targets} antibody", "monoclonal antibody"),
    "checkpoint inhibitor": ("{targets} checkpoint inhibitor", "checkpoint inhibitor"),
    "vaccine": ("{targets} vaccine", "vaccine"),
    "tyrosine kinase inhibitor": ("TKI", "TKI"),
    "FLT3 inhibitor": ("FLT3 inhibitor", "FLT3 inhibitor"),
    "IDH inhibitor": ("IDH inhibitor", "IDH inhibitor"),
    "menin inhibitor": ("menin inhibitor", "menin inhibitor"),
    "BCL-2 inhibitor": ("BCL-2 inhibitor", "BCL-2 inhibitor"),
    "hypomethylating agent": ("hypomethylating agent", "hypomethylating agent"),
    "other targeted therapy": ("targeted therapy", "targeted therapy"),
    "innate immune agonist": ("innate immune agonist", "innate immune agonist"),
    "cytokine": ("cytokine", "cytokine"),
    "NK cells": ("{targets} NK-cell therapy", "NK-cell therapy"),
    "virus-specific T cells": ("virus-specific T cells", "virus-specific T cells"),
    "gamma delta T cells": ("γδ T cells", "γδ T cells"),
    "CIK cells": ("CIK cells", "CIK cells"),
    "adoptive cell therapy": ("{targets} adoptive cell therapy", "adoptive cell therapy"),
    "regulatory T cells": ("regulatory T cells", "regulatory T cells"),
    "unspecified cell therapy": ("cell therapy", "cell therapy"),
    "regenerative cell therapy": ("regenerative cell therapy", "regenerative cell therapy"),
    "radionuclide": ("radionuclide", "radionuclide"),
    "chemotherapy": ("chemotherapy", "chemotherapy"),
    "corticosteroid": ("corticosteroid", "corticosteroid"),
}
# Modalities told as the backbone of the regimen; agents of these modalities are not listed one by
# one in the backbone ("+ chemotherapy" rather than five cytotoxics).
_BACKBONE: Final[dict[str, str]] = {
    "chemotherapy": "chemotherapy",
    "corticosteroid": "steroids",
    "allogeneic HSCT": "allogeneic HSCT",
    "autologous HSCT": "autologous HSCT",
    "HSCT (type not stated)": "HSCT",
    "donor lymphocyte infusion": "donor lymphocyte infusion",
    "radiotherapy": "radiotherapy",
}
# Procedures: named by what they are, never by the words of the record ("allogeneic HSCT").
_PROCEDURES: Final = frozenset(_BACKBONE) - {"chemotherapy", "corticosteroid"}
# Never part of the line: they say nothing about the treatment being tested.
_SILENT: Final = frozenset(
    {
        "supportive care",
        "GVHD prophylaxis",
        "toxicity management",
        "placebo",
        "conditioning",
        "non-interventional",
    }
)
# Never named even when a record calls them investigational: a placebo or a diagnostic is not a treatment.
_NEVER_NAMED: Final = frozenset({"placebo", "non-interventional"})
# Order of agents in the line: the experimental immunotherapy first, the cytotoxics last.
_RANK: Final[dict[str, int]] = {modality: rank for rank, modality in enumerate(_DESCRIPTIONS)}
MAX_AGENTS: Final = 3
MAX_NAME: Final = 50


def described_modalities() -> frozenset[str]:
    """Every modality id this module has words for (each must be a lexicon modality)."""
    return frozenset(_DESCRIPTIONS) | frozenset(_BACKBONE) | _SILENT


def is_catch_all(disease: str, lexicon: Lexicon) -> bool:
    """Tell whether a disease value says no more than "a disease" ("leukemia", "cancer", "other")."""
    entry = lexicon.diseases.get(disease)
    return entry is not None and entry.catch_all


def shown_diseases(values: Iterable[str], lexicon: Lexicon) -> list[str]:
    """The disease values worth showing next to a trial: catch-alls left out."""
    return [value for value in values if not is_catch_all(value, lexicon)]


def _display_name(agent: str) -> str:
    return agent[0].upper() + agent[1:] if agent[:1].islower() else agent


def _short(name: str) -> str:
    name = " ".join(name.split())
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1].rstrip() + "…"


def _describe(modality: str | None, targets: Sequence[str]) -> str | None:
    if modality is None or modality not in _DESCRIPTIONS:
        return None
    with_targets, without = _DESCRIPTIONS[modality]
    return with_targets.format(targets="/".join(targets)) if targets else without


def _class_words(drug_class: str) -> str:
    # A BCR-ABL inhibitor is what a hematologist calls a TKI; every other class is said as written.
    return "BCR-ABL TKI" if "bcr-abl" in drug_class.casefold() else drug_class


def describe_therapy(therapy: Therapy) -> str | None:
    """What a therapy is, in a few words: 'CD19 CAR-T', 'JAK inhibitor', 'BCR-ABL TKI'; None if unknown."""
    targets = list(therapy.targets)
    if therapy.modality == "T-cell engager" and len(targets) > 1:
        # The CD3 arm is what makes it an engager; the description already says "× CD3".
        targets = [t for t in targets if t != "CD3"]
    takes_targets = "{targets}" in _DESCRIPTIONS.get(therapy.modality or "", ("",))[0]
    if therapy.drug_class:
        words = _class_words(therapy.drug_class)
        named_target = any(t.casefold() in words.casefold() for t in targets)
        return f"{'/'.join(targets)} {words}" if targets and takes_targets and not named_target else words
    return _describe(therapy.modality, targets) or therapy.modality


def _name(therapy: Therapy) -> str:
    return _display_name(therapy.agent) if therapy.agent else _short(therapy.name)


def therapy_text(therapy: Therapy) -> str:
    """One therapy as the line names it: 'Obecabtagene autoleucel (CD19 CAR-T)', 'ABC-123 (CAR-T)'."""
    if therapy.modality in _PROCEDURES:
        return _BACKBONE[therapy.modality]
    name = _name(therapy)
    description = describe_therapy(therapy)
    # "Asparaginase (asparaginase)" says nothing twice.
    return f"{name} ({description})" if description and description.casefold() != name.casefold() else name


def _named(therapies: Iterable[Therapy]) -> list[str]:
    # One entry per product: a record that lists one product under two modalities names it once.
    found: dict[str, str] = {}
    for therapy in therapies:
        key = therapy.modality if therapy.modality in _PROCEDURES else _name(therapy).casefold()
        found.setdefault(key or "", therapy_text(therapy))
    return _transplants(_unique(found.values()))


def _backbone_words(therapies: Iterable[Therapy]) -> list[str]:
    words = [
        _BACKBONE[t.modality] if t.modality in _BACKBONE else t.agent or _short(t.name)
        for t in therapies
        if t.modality not in _SILENT
    ]
    return _transplants(sorted(_unique(words), key=_backbone_order))


def _comparator_words(therapies: Iterable[Therapy]) -> list[str]:
    words = []
    for therapy in therapies:
        if therapy.modality == "placebo":
            words.append("placebo")
        elif therapy.modality in _BACKBONE:
            words.append(_BACKBONE[therapy.modality])
        elif therapy.modality not in _SILENT:
            words.append(therapy_text(therapy))
    return _transplants(_unique(words))


def _backbone_order(word: str) -> int:
    # Named agents ("venetoclax") first, then chemotherapy, steroids, transplant in a fixed order.
    order = list(_BACKBONE.values())
    return order.index(word) if word in order else -1


def _rank(therapy: Therapy) -> int:
    return _RANK.get(therapy.modality or "", len(_RANK))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


def _capped(items: list[str]) -> list[str]:
    if len(items) <= MAX_AGENTS:
        return items
    return [*items[:MAX_AGENTS], f"{len(items) - MAX_AGENTS} more"]


def _transplants(items: list[str]) -> list[str]:
    # "HSCT" says less than "allogeneic HSCT"; keep the one that says more.
    if "allogeneic HSCT" in items or "autologous HSCT" in items:
        return [item for item in items if item != "HSCT"]
    return items


def _joined(items: list[str]) -> str:
    return " + ".join(_capped(items))


def therapy_line(therapies: Sequence[Therapy]) -> str:
    """The mechanism line of a version's therapies; '' when none of them is studied.

    Investigational therapies first, then the comparator ("vs …"), then the backbone in a word
    ("+ chemotherapy"). Lymphodepletion, conditioning and supportive therapies are never named: they
    are not what the trial tests.
    """
    investigational = sorted(
        (t for t in therapies if t.role == "investigational" and t.modality not in _NEVER_NAMED), key=_rank
    )
    lead = _named(investigational)
    compared = _comparator_words(t for t in therapies if t.role == "comparator")
    tail = _backbone_words(t for t in therapies if t.role == "backbone")
    if not lead:
        # Nothing marked investigational: what the arms give is what the trial is about.
        lead, compared = compared, []
    if not lead:
        lead, tail = tail, []
    # Two arms of one kind ("allogeneic HSCT vs allogeneic HSCT") are said once.
    compared = [word for word in compared if word not in lead]
    line = _joined(lead)
    if compared and tail and set(compared) <= set(tail):
        # "X + chemotherapy vs chemotherapy" rather than "X vs chemotherapy + chemotherapy".
        line, tail = f"{line} + {_joined(tail)} vs {_joined(compared)}", []
    elif compared:
        line = f"{line} vs {_joined(compared)}"
    if tail:
        line = f"{line} + {_joined(tail)}"
    return line[:1].upper() + line[1:]


def mechanism_line(
    tags: Mapping[str, Sequence[str]], lexicon: Lexicon, therapies: Sequence[Therapy] = ()
) -> str:
    """The drug / mechanism line of a trial: from its therapies, or from its tags when it has none.

    Versions classified before therapies existed still get a line from their tags until they are
    reclassified.
    """
    if therapies:
        line = therapy_line(therapies)
        if line:
            return line
    return tags_line(tags, lexicon)


def tags_line(tags: Mapping[str, Sequence[str]], lexicon: Lexicon) -> str:
    """The line written from a trial's tags (kind -> values); '' when the tags say nothing."""
    modalities = list(tags.get("modality", ()))
    named: list[tuple[int, str]] = []
    described: set[str] = set()
    backbone: list[str] = []
    for agent in tags.get("agent", ()):
        entry = lexicon.agents.get(agent)
        modality = entry.modality if entry else None
        if modality in _SILENT:
            continue
        if modality in _BACKBONE:
            backbone.append(_BACKBONE[modality])
            continue
        description = _describe(modality, entry.targets if entry else ())
        if entry is not None and entry.drug_class:
            description = _class_words(entry.drug_class)
        text = f"{_display_name(agent)} ({description})" if description else _display_name(agent)
        named.append((_RANK.get(modality or "", len(_RANK)), text))
        if modality:
            described.add(modality)
    named.sort()
    parts = _capped([text for _, text in named])
    # A modality with no named agent ("CD19 CAR-T cells" without a product name) is still told.
    targets = list(tags.get("target", ()))
    for modality in sorted(modalities, key=lambda m: _RANK.get(m, len(_RANK))):
        if modality in described or modality in _SILENT or modality in _BACKBONE:
            continue
        description = _describe(
            modality, targets if "{targets}" in _DESCRIPTIONS.get(modality, ("",))[0] else ()
        )
        if description:
            parts.append(description)
    backbone += [_BACKBONE[m] for m in modalities if m in _BACKBONE]
    order = list(_BACKBONE.values())
    parts.extend(_transplants(sorted(set(backbone), key=order.index)))
    if not parts and "non-interventional" in modalities:
        return "Observational (no study treatment)"
    line = " + ".join(parts)
    return line[:1].upper() + line[1:]
