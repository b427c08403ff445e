"""The values of a patient profile as people write them: settings ("R/R", "MRD+") and findings ("CD22+",
"FLT3-ITD", "TP53-", "Ph+") read into the eligibility vocabulary (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

from hemewatch.eligibility.model import GENETICS, SETTINGS


def _folded(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum() or c == "+")


_SETTING_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        **{_folded(s): s for s in SETTINGS},
        "rr": "relapsed/refractory",
        "relapsedorrefractory": "relapsed/refractory",
        "new": "newly diagnosed",
        "frontline": "newly diagnosed",
        "firstline": "newly diagnosed",
        "untreated": "newly diagnosed",
        "mrd+": "MRD-positive",
        "mrd": "MRD-positive",
        "cr": "complete remission",
        "remission": "complete remission",
        "posttransplantrelapse": "post-HSCT relapse",
        "relapseafterhsct": "post-HSCT relapse",
        "secondrelapse": "second or later relapse",
        "laterrelapse": "second or later relapse",
    }
)
_GENETIC_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        **{_folded(g): g for g in GENETICS},
        "ph": "Ph+ / BCR::ABL1",
        "ph+": "Ph+ / BCR::ABL1",
        "bcrabl": "Ph+ / BCR::ABL1",
        "bcrabl1": "Ph+ / BCR::ABL1",
        "philadelphia": "Ph+ / BCR::ABL1",
        "phlike": "Ph-like",
        "kmt2a": "KMT2A rearrangement",
        "kmt2ar": "KMT2A rearrangement",
        "mll": "KMT2A rearrangement",
        "mllr": "KMT2A rearrangement",
        "kmt2arearranged": "KMT2A rearrangement",
        "flt3": "FLT3 mutation",
        "flt3itd": "FLT3 mutation",
        "flt3tkd": "FLT3 mutation",
        "npm1": "NPM1 mutation",
        "idh1": "IDH1 mutation",
        "idh2": "IDH2 mutation",
        "tp53": "TP53 mutation",
    }
)


class UnknownProfileValue(ValueError):
    """A profile value outside the pre-screen's vocabulary; the message lists what is accepted."""


def parse_setting(raw: str) -> str:
    """The SETTINGS value `raw` names ("R/R", "first relapse", "MRD+")."""
    found = _SETTING_ALIASES.get(_folded(raw))
    if found is None:
        raise UnknownProfileValue(f"unknown setting {raw!r}: settings are {', '.join(SETTINGS)}")
    return found


def parse_finding(raw: str, kind: Literal["antigen", "genetic"]) -> tuple[str, bool]:
    """A finding and its sign: "CD22+" -> ("CD22", True), "FLT3-ITD" -> ("FLT3-ITD", True), "TP53-" -> False.

    A trailing "+" or "-" (or the words positive / negative) gives the sign; without one the finding is
    positive. Genetic findings are returned as GENETICS values.
    """
    text = " ".join(raw.split())
    positive = True
    lowered = text.casefold()
    for suffix, sign in (
        (" negative", False),
        (" positive", True),
        ("-negative", False),
        ("-positive", True),
    ):
        if lowered.endswith(suffix):
            text, positive = text[: -len(suffix)], sign
            break
    else:
        if text.endswith(("+", "-")) and not (kind == "genetic" and _folded(text) in ("ph+",)):
            text, positive = text[:-1], text.endswith("+")
    text = text.strip()
    if kind == "antigen":
        if not text:
            raise UnknownProfileValue(f"unknown antigen finding {raw!r}: write e.g. CD22+ or CD19-")
        return text, positive
    found = _GENETIC_ALIASES.get(_folded(text)) or _GENETIC_ALIASES.get(
        _folded(text.removesuffix(" mutation"))
    )
    if found is None:
        raise UnknownProfileValue(
            f"unknown genetic finding {raw!r}: findings are {', '.join(GENETICS)} "
            "(write e.g. FLT3+, TP53-, KMT2A+, Ph+)"
        )
    return found, positive
