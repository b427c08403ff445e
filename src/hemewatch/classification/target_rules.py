"""Antigens named in prose next to an immunotherapy: "anti-CD22 chimeric antigen receptor",
"CD19/CD22 bispecific CAR-T", "CD123-targeted CAR-T", "anti-CD33 antibody", "CD47 inhibitor".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Final, NamedTuple

from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.mentions import Mention
from hemewatch.classification.model import Evidence
from hemewatch.classification.therapy_drafts import DraftBook

# A bare construct word ("anti", "antibody") must stand within a few words of the antigen; a full
# modality phrase ("chimeric antigen receptor") may stand further away in the same clause.
_MAX_CONSTRUCT_GAP: Final = 6
_MAX_PHRASE_GAP: Final = 20
_CLAUSE_BREAK: Final = re.compile(r"[.;!?]\s|\n")
_WORD: Final = re.compile(r"[^\W_]+")


class DirectedTarget(NamedTuple):
    """An antigen and the immunotherapy modality directed at it."""

    target: Mention
    modality: str


def find_directed_targets(mentions: Sequence[Mention], lexicon: Lexicon) -> Iterator[DirectedTarget]:
    """Yield each target mention that an immunotherapy phrase or construct in its field points at."""
    by_segment: dict[int, list[Mention]] = defaultdict(list)
    for mention in mentions:
        by_segment[id(mention.segment)].append(mention)
    for segment_mentions in by_segment.values():
        anchors = [m for m in segment_mentions if _is_anchor(m, lexicon)]
        for target in segment_mentions:
            if target.kind == "target":
                modality = _anchor_modality(target, anchors, lexicon)
                if modality is not None:
                    yield DirectedTarget(target, modality)


def _is_anchor(mention: Mention, lexicon: Lexicon) -> bool:
    if mention.kind == "construct":
        return True
    return mention.kind == "modality" and lexicon.modalities[mention.entry].takes_targets


def _anchor_modality(target: Mention, anchors: Sequence[Mention], lexicon: Lexicon) -> str | None:
    """Pick the immunotherapy a target belongs to.

    A modality phrase in the same field wins ("anti-CD22 scFv ... chimeric antigen receptor"),
    nearest first; a construct word ("anti-CD33 antibody") decides only when there is no phrase.
    An antibody or inhibitor against an immune checkpoint is a checkpoint inhibitor.
    """
    checkpoint = lexicon.targets[target.entry].checkpoint
    best: tuple[int, int, str] | None = None
    for anchor in anchors:
        if anchor.start == target.start and anchor.kind == "modality":
            return anchor.entry  # CAR19, CART22: antigen and construct are one word
        phrase = anchor.kind == "modality"
        gap = _gap_words(target, anchor, _MAX_PHRASE_GAP if phrase else _MAX_CONSTRUCT_GAP)
        if gap is None:
            continue
        modality = anchor.entry
        if not phrase and modality == "checkpoint inhibitor" and not checkpoint:
            continue  # "FLT3 inhibitor" is a small molecule, not an antibody against FLT3
        if checkpoint and modality == "monoclonal antibody":
            modality = "checkpoint inhibitor"
        candidate = (0 if phrase else 1, gap, modality)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else None


def _gap_words(first: Mention, second: Mention, limit: int) -> int | None:
    """Words between two mentions of one field, or None when too many or across a clause."""
    start, end = (first.end, second.start) if first.end <= second.start else (second.end, first.start)
    if start > end:
        return None
    between = first.segment.text[start:end]
    words = len(_WORD.findall(between))
    if words > limit or _CLAUSE_BREAK.search(between):
        return None
    return words


def car_nk_fields(mentions: Sequence[Mention]) -> Iterator[Mention]:
    """Yield a CAR mention for each field that also names NK cells: together they describe CAR-NK."""
    fields: dict[int, list[Mention]] = defaultdict(list)
    for mention in mentions:
        if mention.kind == "modality":
            fields[id(mention.segment)].append(mention)
    for field_mentions in fields.values():
        entries = {m.entry for m in field_mentions}
        if "CAR-T" in entries and "NK cells" in entries:
            yield next(m for m in field_mentions if m.entry == "CAR-T")


# "CD19-positive", "CD19+", "CD7 positive", "CD33-expressing": an antigen the population must carry.
_QUALIFIED: Final = re.compile(
    r"\b(CD\s?\d{1,3}[a-z]?|CLL-?1|CLEC12A|BCMA)\s?(?:\+|-?\s?(?:positive|pos\b|expressing|bright))",
    re.IGNORECASE,
)
_QUALIFIER_ROLES: Final = frozenset({"title", "condition", "keyword", "inclusion", "summary", "arm_label"})
_TARGETED_FAMILIES: Final = frozenset({"cell", "antibody"})


def add_qualified_targets(book: DraftBook, mentions: Sequence[Mention], lexicon: Lexicon) -> None:
    """Give an antigen-directed therapy without a target the antigen its population must express.

    A CAR-T or antibody product the record names only by a code ("ABC-07 injection") in a study of
    "CD7-positive T-ALL" is directed at CD7. Only when one such therapy lacks a target: with two,
    which antigen belongs to which is not said.
    """
    wanting = [
        draft
        for draft in book
        if draft.modality is not None
        and not draft.targets
        and lexicon.modalities[draft.modality].takes_targets
        and lexicon.modalities[draft.modality].family in _TARGETED_FAMILIES
    ]
    if len(wanting) != 1:
        return
    folded = {_fold_antigen(target): target for target in lexicon.targets}
    seen: set[int] = set()
    for mention in mentions:
        segment = mention.segment
        if id(segment) in seen or segment.role not in _QUALIFIER_ROLES or not mention.plain:
            continue
        seen.add(id(segment))
        for match in _QUALIFIED.finditer(segment.text):
            target = folded.get(_fold_antigen(match.group(1)))
            if target is not None:
                wanting[0].add_target(target, Evidence(segment.path, match.group(0)))


def _fold_antigen(name: str) -> str:
    return re.sub(r"[\s-]", "", name).upper()
