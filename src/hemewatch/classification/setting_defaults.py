"""The disease setting a blood-cancer treatment study implies when it states none.

Two kinds of study enrol relapsed or refractory patients unless they say otherwise, as any hematologist
reading a trial list assumes:

* engineered-receptor cell therapies (CAR-T, CAR-NK, TCR-T) for a blood cancer;
* first-in-human, phase 1 and dose-escalation studies of a new agent (not of chemotherapy or a
  transplant procedure alone) in a relapse-prone blood cancer (acute leukemia, lymphoma, myeloma,
  CLL, CML; not MDS, whose lower-risk forms are treated for cytopenias).

This matters most for sparse records, which lack the eligibility criteria that usually state the
setting. Observational and supportive-care studies get no default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.model import Evidence
from hemewatch.classification.record import Segment, StudyFacts
from hemewatch.classification.therapy_sources import SUPPORTIVE_PURPOSES

Found = dict[str, list[Evidence]]

RELAPSED: Final = "relapsed/refractory"
_EARLY_PHASE: Final = re.compile(
    r"\b(?:phase\s*(?:0|1|I|1a|1b|Ia|Ib)(?:\s*/\s*(?:2|II|1b|Ib))?(?![\w/])|first[- ]in[- ]human"
    r"|dose[- ]escalation|dose[- ]finding|maximum tolerated dose)",
    re.IGNORECASE,
)
_EARLY_ROLES: Final = frozenset({"title", "summary"})
# Engineered-receptor cell therapies (not donor lymphocytes or virus-specific T cells, often given
# after a transplant).
_ENGINEERED_CELLS: Final = frozenset({"CAR-T", "CAR-NK", "TCR-T"})
# Labels of relapse-prone blood cancers (the guideline vocabulary less MDS and "other").
_RELAPSING_CANCERS: Final = frozenset(
    {"B-ALL", "T-ALL", "ALL", "Ph+ ALL", "Ph-like ALL", "AML", "APL", "MPAL", "acute leukemia"}
    | {"lymphoma", "myeloma", "CLL", "CML"}
)
# Therapies whose early-phase study says nothing about the setting: a new regimen of old drugs, a
# transplant procedure, supportive care.
_ESTABLISHED_FAMILIES: Final = frozenset(
    {"chemotherapy", "transplant", "autologous transplant", "supportive", "diagnostic"}
)


def implied_setting(
    facts: StudyFacts,
    segments: Sequence[Segment],
    diseases: Mapping[str, Sequence[Evidence]],
    modalities: Mapping[str, Sequence[Evidence]],
    lexicon: Lexicon,
) -> Found:
    """Return {"relapsed/refractory": evidence} when the study implies that setting, else {}."""
    if facts.study_type == "OBSERVATIONAL" or facts.primary_purpose in SUPPORTIVE_PURPOSES:
        return {}
    labels = {lexicon.diseases[d].label for d in diseases if d in lexicon.diseases}
    if not labels & _RELAPSING_CANCERS:
        return {}
    for modality in sorted(_ENGINEERED_CELLS & set(modalities)):
        if modalities[modality]:
            return {RELAPSED: [modalities[modality][0]]}
    novel = any(
        lexicon.modalities[m].label is not None and lexicon.modalities[m].family not in _ESTABLISHED_FAMILIES
        for m in modalities
    )
    if not novel:
        return {}
    for segment in segments:
        if segment.role in _EARLY_ROLES and (match := _EARLY_PHASE.search(segment.text)):
            return {RELAPSED: [Evidence(segment.path, match.group(0))]}
    return {}
