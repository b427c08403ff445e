"""Therapies named in titles, arm labels and prose, merged into the listed interventions they describe.

"CD7 CAR-T cells for T-ALL" in the title and "Biological: ABC-07 injection" in the list are one
therapy: the listed product, now with its modality and target. A phrase that describes no listed
intervention stays a therapy of its own (a sparse record may list nothing).
"""

from __future__ import annotations

from typing import Final

from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.therapy_drafts import Draft, DraftBook

# Phrases of these families describe a regimen's background, never an unnamed investigational product.
_NOT_A_PRODUCT: Final = frozenset(
    {"chemotherapy", "supportive", "transplant", "autologous transplant", "diagnostic"}
)


def merge_text_drafts(book: DraftBook, lexicon: Lexicon) -> None:
    """Fold each text-only modality phrase into the therapy it describes."""
    for draft in [d for d in book if d.index is None and d.agent is None and d.modality is not None]:
        same = [d for d in book if d is not draft and d.modality == draft.modality]
        if same:
            _give_targets(draft, same)
            book.remove(draft)
            continue
        unresolved = [d for d in book if d.index is not None and d.modality is None and d.agent is None]
        family = lexicon.modalities[draft.modality].family if draft.modality else None
        if len(unresolved) == 1 and family not in _NOT_A_PRODUCT:
            # The only listed product nothing explains is what the title or prose describes.
            product = unresolved[0]
            product.modality = draft.modality
            product.absorb(draft)
            book.remove(draft)


def _give_targets(source: Draft, receivers: list[Draft]) -> None:
    """A named product keeps its own antigens; an unnamed one takes those the text gives it."""
    listed = [d for d in receivers if d.index is not None] or receivers
    for receiver in listed:
        named_with_targets = receiver.agent is not None and receiver.targets
        if (len(listed) == 1 and not named_with_targets) or not receiver.targets:
            receiver.absorb(source)
        else:
            for item in source.modality_evidence:
                receiver.add_modality_evidence(item)
