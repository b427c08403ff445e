"""The drug / mechanism line of a trial, written from its tags.

"Blinatumomab (CD19 × CD3 T-cell engager) + chemotherapy": named agents first with what they
are, then the backbone (chemotherapy, transplant). Pure: tags and the lexicon in, text out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from hemewatch.classification.lexicon import Lexicon

# How a named agent's modality is described; {targets} is its antigens joined by "/".
_DESCRIPTIONS: Final[dict[str, tuple[str, str]]] = {
    # modality: (with targets, without targets)
    "T-cell engager": ("{targets} × CD3 T-cell engager", "T-cell engager"),
    "CAR-T": ("{targets} CAR-T", "CAR-T"),
    "CAR-NK": ("{targets} CAR-NK", "CAR-NK"),
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
}
# Modalities named after the agents, as the backbone of the regimen; agents of these modalities
# are not listed one by one ("+ chemotherapy" rather than five cytotoxics).
_BACKBONE: Final[dict[str, str]] = {
    "chemotherapy": "chemotherapy",
    "corticosteroid": "steroids",
    "allogeneic HSCT": "allogeneic HSCT",
    "autologous HSCT": "autologous HSCT",
    "HSCT (type not stated)": "HSCT",
    "donor lymphocyte infusion": "donor lymphocyte infusion",
    "radiotherapy": "radiotherapy",
}
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
# Order of agents in the line: the experimental immunotherapy first, the backbone last.
_RANK: Final[dict[str, int]] = {modality: rank for rank, modality in enumerate(_DESCRIPTIONS)}
MAX_AGENTS: Final = 3


def _display_name(agent: str) -> str:
    return agent[0].upper() + agent[1:] if agent[:1].islower() else agent


def _describe(modality: str | None, targets: Sequence[str]) -> str | None:
    if modality is None or modality not in _DESCRIPTIONS:
        return None
    with_targets, without = _DESCRIPTIONS[modality]
    return with_targets.format(targets="/".join(targets)) if targets else without


def mechanism_line(tags: Mapping[str, Sequence[str]], lexicon: Lexicon) -> str:
    """The drug / mechanism line for a trial's tags (kind -> values); '' when the tags say nothing."""
    modalities = list(tags.get("modality", ()))
    named: list[tuple[int, str]] = []
    described_modalities: set[str] = set()
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
        text = f"{_display_name(agent)} ({description})" if description else _display_name(agent)
        named.append((_RANK.get(modality or "", len(_RANK)), text))
        if modality:
            described_modalities.add(modality)
    named.sort()
    parts = [text for _, text in named[:MAX_AGENTS]]
    if len(named) > MAX_AGENTS:
        parts.append(f"{len(named) - MAX_AGENTS} more")
    # A modality with no named agent ("CD19 CAR-T cells" without a product name) is still told.
    targets = list(tags.get("target", ()))
    for modality in sorted(modalities, key=lambda m: _RANK.get(m, len(_RANK))):
        if modality in described_modalities or modality in _SILENT or modality in _BACKBONE:
            continue
        description = _describe(
            modality, targets if "{targets}" in _DESCRIPTIONS.get(modality, ("",))[0] else ()
        )
        if description:
            parts.append(description)
    backbone += [_BACKBONE[m] for m in modalities if m in _BACKBONE]
    order = list(_BACKBONE.values())
    named_backbone = sorted(set(backbone), key=order.index)
    if "allogeneic HSCT" in named_backbone or "autologous HSCT" in named_backbone:
        named_backbone = [b for b in named_backbone if b != "HSCT"]
    parts.extend(named_backbone)
    if not parts and "non-interventional" in modalities:
        return "Observational (no study treatment)"
    line = " + ".join(parts)
    return line[:1].upper() + line[1:]
