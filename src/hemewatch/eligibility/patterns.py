"""The wording the eligibility parser reads: numbers, cues of polarity, and findings no lexicon names.

Names of diseases, agents, targets and markers come from the classifier lexicon; what is here is the
grammar of criteria (comparators, negation, "is allowed", washout periods) and a few clinical
phrases (CNS status, performance scales, settings) that are not names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final


class Wording:
    """A case-insensitive pattern of the criteria's wording, searched faster in ASCII text (most criteria).

    `re` searches a case-insensitive pattern up to several times slower than a case-sensitive one: it
    folds every character it compares and cannot skip ahead to a possible first letter. In ASCII text the
    pattern's case-sensitive twin (its letters are all lower case) finds the same spans in the text
    lower-cased, which keeps its offsets; other text is searched case-insensitively. A match found in
    ASCII text holds the lower-cased text: its groups are read lower-cased or as digits.

    Where most alternatives of a pattern start at a word boundary, the pattern says so once, in front
    of them (`\\b(?:within\\b|during\\b)`, not `\\bwithin\\b|\\bduring\\b`): `re` then tries them only where a
    word starts, and skips at once those whose first letter differs.
    """

    __slots__ = ("_lower", "anycase")

    def __init__(self, pattern: str) -> None:
        self.anycase = re.compile(pattern, re.IGNORECASE)
        self._lower = re.compile(_lower_case_only(pattern))

    def search(self, text: str) -> re.Match[str] | None:
        """The first match in text, as re.Pattern.search case-insensitively."""
        return self._lower.search(text.lower()) if text.isascii() else self.anycase.search(text)

    def match(self, text: str) -> re.Match[str] | None:
        """A match at the start of text, as re.Pattern.match case-insensitively."""
        return self._lower.match(text.lower()) if text.isascii() else self.anycase.match(text)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """Every match in text, as re.Pattern.finditer case-insensitively."""
        return self._lower.finditer(text.lower()) if text.isascii() else self.anycase.finditer(text)


def _lower_case_only(pattern: str) -> str:
    r"""The pattern, once sure that its case-sensitive form finds in lower-cased ASCII text what it finds
    case-insensitively in the text: no upper-case letter but in an escape (\W, \S, \D, \B), and no
    character that matches an ASCII one case-insensitively (as the Kelvin sign matches "k")."""
    escaped = False
    for char in pattern:
        if not escaped and char.isascii() and char.isupper():
            raise ValueError(f"an upper-case letter in a case-insensitive pattern: {pattern!r}")
        if not char.isascii() and any(
            re.fullmatch(re.escape(char), chr(code), re.IGNORECASE) for code in range(128)
        ):
            raise ValueError(f"{char!r} matches an ASCII character case-insensitively: {pattern!r}")
        escaped = char == "\\" and not escaped
    return pattern


# A comparator before a number: the bound it sets on "at least" (low) or "at most" (high) side.
LOW_WORDS: Final = (
    r"(?:≥|>=|=>|>|at least|older than|over|greater than(?: or equal to)?|minimum(?: of)?|above)"
)
HIGH_WORDS: Final = (
    r"(?:≤|<=|=<|<|up to|younger than|under|less than(?: or equal to)?|at most|no older than|"
    r"not older than|below|maximum(?: of)?|no more than|not more than|not exceeding)"
)
STRICT: Final = Wording(
    r"^(?:>|<|older than|younger than|over|under|greater than|less than|above|below)$",
)

AGE_CONTEXT: Final = Wording(r"\bages?d?\b|\byears?\b|\byrs?\b|\bold\b")
AGE_RANGE: Final = Wording(
    r"(?<![\d.])(\d{1,2}(?:\.\d)?)\s*(?:years?|yrs?)?\s*(?:-|–|—|to|and|through)\s*(\d{1,3}(?:\.\d)?)"
    r"\s*(?:years?|yrs?)(?!\s*(?:after|since|from|ago|of (?:follow|remission)))",
)
AGE_RANGE_AFTER_AGE: Final = Wording(
    r"\bage[sd]?\b[^.;\d]{0,20}?(?:between|from|of)?\s*(\d{1,2})\s*(?:-|–|to|and)\s*(\d{1,3})\b(?!\s*(?:%|mo"
    r"nths?|weeks?|days?|kg|mg|x))",
)
AGE_BOUND: Final = Wording(
    rf"({LOW_WORDS}|{HIGH_WORDS})\s*(\d{{1,3}}(?:\.\d)?)\s*(years?|yrs?|months?|y\b)?(?![\d.%])",
)
AGE_WORD_NEAR: Final = Wording(r"\bages?d?\b|\byears? (?:of age|old)\b|\byrs?\b|\byears?\b")
LOW_START: Final = Wording(rf"^{LOW_WORDS}$")

# A statement about when, not whether: a washout or a time since a therapy ("within 3 months",
# "at least 14 days since", "≤ 6 months prior"). It does not exclude the therapy itself.
RECENCY: Final = Wording(
    r"\b(?:within\b|wash-?out\b|since (?:the )?(?:last|completion|end)\b|"
    r"\d+\s*(?:days?|weeks?|wks?|months?|hours?|half[- ]lives)\b[^.;]{0,40}\b(?:prior|before|since|after|of|"
    r"from|post)\b|"
    r"(?:days?|weeks?|months?) (?:prior|before|since|after|post)\b|currently\b|concurrent\b|during\b|"
    r"(?:prior to|before) (?:the )?(?:first|start|starting|beginning|initiati|enrol|study|dosing|screening|"
    r"registration|randomi[sz]ation|day 1|c1d1|leukapheresis|apheresis|infusion))|must have elapsed",
)
# The sentence speaks of therapy the patient had (or has): what makes a named therapy a prior therapy.
PRIOR_CUE: Final = Wording(
    r"\bprior\b|\bprevious(?:ly)?\b|\breceiv(?:ed|ing)\b|\breceipt\b|\btreated with\b|\bexpos(?:ed|ure)\b|"
    r"\bfail(?:ed|ure)?\b|\bafter\b|\bfollowing\b|\brefractory to\b|\bresistan(?:t|ce) to\b|\bintoleran(?:t|"
    r"ce)\b|"
    r"\bpost[- ]|\bhistory of\b|\bundergone\b|\bpretreated\b|\bre-?treatment\b|"
    r"\bnaive\b|\bnaïve\b",
)
# "… is allowed", "… are eligible": what the criteria say plainly does not rule a patient out.
ALLOWED: Final = Wording(
    r"\b(?:(?:is|are|will be|be)\s+(?:also\s+)?(?:allowed|permitted|acceptable|eligible(?!\s+(?:for|to)\s+(?!"
    r"this\b|the (?:study|trial)\b|participat|enrol))|not excluded)\b|"
    r"(?:can|may)\s+(?:also\s+)?(?:be\s+)?(?:eligible(?!\s+(?:for|to)\s+(?!this\b|the (?:study|trial)\b|part"
    r"icipat|enrol))|enrolled|included|participate|allowed|"
    r"permitted)\b|"
    r"(?<!not )(?:allowed|permitted)\b|regardless of\b|irrespective of\b)",
)
DISALLOWED: Final = Wording(
    r"\b(?:not|never)\s+(?:be\s+)?(?:allowed|permitted|eligible)\b(?!\s+(?:for|to)\s+(?!this\b|the (?:study|"
    r"trial)\b|participat|enrol))|\bineligible\b(?!\s+(?:for|to)\s+(?!this\b|the (?:study|trial)\b|participa"
    r"t|enrol))|"
    r"\bcan ?not participate\b|"
    r"\bare excluded\b|\bis excluded\b|\bwill be excluded\b|\bnot be enrolled\b",
)
# A criterion that opens with a condition on a subgroup ("In individuals previously treated with
# blinatumomab, CD19 expression …", "If prior HSCT, …", "For patients with Ph+ ALL: …"): what the
# condition names is a case the criterion provides for, so it is allowed, not required or excluded.
CONDITION: Final = Wording(
    r"^\s*(?:if|when|where|in\s+(?:the\s+)?(?:case|patients?|participants?|subjects?|individuals?|"
    r"those|children|adults)|for\s+(?:patients?|participants?|subjects?|individuals?|those|children|adults))"
    r"\b[^,;:]{0,160}?[,;:]",
)
# Negation cues, before the term they govern (in the same clause, no "but"/"except" … between).
NEGATION: Final = Wording(
    r"\b(?:no|not|without|never|none|neither|nor|absence of|free of|lack of|negative for|"
    r"must not|cannot|can not|no evidence of|no history of|no known|non)\b",
)
EXCEPTION: Final = Wording(
    r"\b(?:except(?:ing| for)?|with the exception of|other than|excluding|apart from)\b",
)
NEGATION_BREAK: Final = Wording(r"[;:]|\b(?:but|however|unless|and(?! or)|who|which)\b")
NEGATIVE_AFTER: Final = Wording(
    r"^\s*(?:\)|\s)*(?:-?\s*negative\b|neg\b|-(?![\w/])|−|wild[- ]?type\b|wt\b|not (?:detected|expressed)|"
    r"(?:is|was|are)\s+(?:not\s+(?:detected|expressed|present)|negative|absent))",
)
POSITIVE_AFTER: Final = Wording(
    r"^\s*(?:\)|\s)*(?:-?\s*positiv|\+|pos\b|expression|expressing|bright|mutat|rearrange|fusion|"
    r"translocation|itd|tkd|\(\+\)|(?:is|was|are)\s+(?:detected|expressed|present|positive))",
)
EXPRESSION_BEFORE: Final = Wording(
    r"(?:express(?:es|ing|ion)?|positiv(?:e|ity)|detectable|presence)\s*(?:of|for)?\s*(?:the\s+)?(?:antigen"
    r"\s+)?$",
)
NEGATIVE_BEFORE: Final = Wording(r"(?:negative|loss of|lack of|absence of|absent)\s*(?:of|for)?\s*$")
# After a target: it names a therapy ("CD19-directed", "CD19 CAR"), not an antigen on the leukemia.
DIRECTED_AFTER: Final = Wording(
    r"^\s*[-–]?\s*(?:directed|targeted|targeting|specific|redirected|car\b|chimeric|bispecific|"
    r"antibod|monoclonal|mab\b|therapy|therapies|engager|immunotherap|adc\b|based)",
)
DIRECTED_BEFORE: Final = Wording(r"(?:anti[- ]?|targeting\s+|directed against\s+)$")

# Settings: the state of the disease the criteria ask for.
RELAPSED_REFRACTORY: Final = Wording(
    r"\brelapsed?\s*(?:/|or|and/or|and|)\s*(?:primary\s+)?refractory\b|\brefractory\s*(?:/|or|and/or|and|)"
    r"\s*"
    r"relapsed?\b|\br/r\b|\brecurrent\s*(?:/|or|and/or)\s*refractory\b|\brefractory\s*(?:/|or|and/or)\s*recu"
    r"rrent\b|"
    r"\b(?:relapsed|recurrent)\s*(?:/|or|and/or)\s*(?:persistent|resistant)\b",
)
FIRST_RELAPSE: Final = Wording(
    r"\bfirst\s+(?:hematologic(?:al)?\s+|bone marrow\s+|marrow\s+)?relapse\b|\b1st relapse\b",
)
LATER_RELAPSE: Final = Wording(
    r"\b(?:second|2nd|third|3rd|≥\s*2nd|subsequent|later|multiply|multiple)\s+(?:or\s+(?:greater|later|subse"
    r"quent|"
    r"higher|more)\s+)?(?:bone marrow\s+|marrow\s+|bm\s+)?relapses?\b|\b(?:two|2) or more relapses\b",
)
POST_HSCT_RELAPSE: Final = Wording(
    r"\b(?:relapse[ds]?|recurrence|recurrent)\s+(?:disease\s+)?(?:after|following|post)[- ]?\s*(?:an?\s+)?"
    r"(?:allo(?:geneic)?|hsct|hct|sct|bmt|(?:hematopoietic |haematopoietic )?(?:stem )?cell transplant|"
    r"bone marrow transplant|transplant)",
)
RELAPSED: Final = Wording(r"\brelapsed?\b|\brecurrent\b|\brecurrence\b")
REFRACTORY: Final = Wording(
    r"\b(?:primary\s+)?refractory\b(?!\s+to)|\bprimary induction failure\b|\binduction failure\b",
)
NEWLY_DIAGNOSED: Final = Wording(
    r"\bnew(?:ly)?[\s-]+diagnosed\b|\bpreviously[\s-]+untreated\b|\btreatment[\s-]+na[iï]ve\b|\buntreated\b|"
    r"\bnew diagnosis\b|\bnot (?:been )?(?:previously )?treated\b|\bfirst[\s-]+line\b",
)
MRD_POSITIVE: Final = Wording(
    r"\bmrd[\s-]*(?:positiv|\+|≥|>=|>|level|detectable|persist)|"
    r"\b(?:minimal|measurable)\s+residual\s+disease\s*(?:\(mrd\)\s*)?(?:positiv|≥|>=|>|of\s*≥|level|detectab"
    r"le|persist)|"
    r"\bpositive\s+(?:for\s+)?(?:mrd|minimal residual|measurable residual)|\bmolecular (?:relapse|persistenc"
    r"e|failure)\b",
)
# Being in remission (not "failed to achieve CR", "relapse after complete remission").
COMPLETE_REMISSION: Final = Wording(
    r"\b(?:in|with|achieved|attained)\s+(?:a\s+|their\s+)?(?:first\s+|second\s+|1st\s+|2nd\s+)?(?:complete\s"
    r"+)?"
    r"(?:morphologic(?:al)?\s+|hematologic(?:al)?\s+)?(?:remission|response|cr[12i]?)\b|\bcr[12]\b|"
    r"\b(?:first|second) complete remission\b|\bcomplete remission phase\b",
)
REMISSION_NOISE: Final = Wording(r"malignan|cancer|carcinoma|tumou?r")

# CNS involvement by leukemia (not "CNS function", "CNS toxicity" or "CNS prophylaxis").
CNS: Final = Wording(
    r"\b(?:cns|central nervous system)\s*(?:\(cns\)\s*)?[-\s]*(?:leuka?emia|disease|involvement|relapse|stat"
    r"us\s*[23]|invasion|"
    r"[23]\b|3[abc]?\b|positiv|metastas|infiltrat|manifestation|localization|lymphoma|blasts?)|"
    r"\b(?:involvement|disease|leuka?emia|infiltration|relapse)\s+(?:of|in|by leuka?emia (?:of|in)|to)\s+(?:"
    r"the\s+)?"
    r"(?:cns|central nervous system|brain|meninges)\b|\b(?:cns|central nervous system) involvement\b|\bcns[-"
    r"\s]?[23]\b|"
    r"\bleptomeningeal\b|\bmeningeal leuka?emia\b|\bactive cns\b|\binvolv\w*\s+(?:of\s+)?the\s+(?:cns|centra"
    r"l nervous system)\b",
)
CNS_NONE: Final = Wording(r"\bcns[-\s]?1\b|\bcns\s+(?:status\s+)?negative\b")

ECOG: Final = Wording(r"\b(?:ecog|eastern cooperative|zubrod|who performance|who ps)\b")
KARNOFSKY: Final = Wording(r"\bkarnofsky\b|\bkps\b")
LANSKY: Final = Wording(r"\blansky\b|\blanksy\b")
SCORE_BOUND: Final = Wording(
    rf"({LOW_WORDS}|{HIGH_WORDS}|of|is|score|status|\()?\s*(\d{{1,3}})\s*(%|percent)?",
)
SCORE_LIST: Final = re.compile(
    r"(?<![\d.])([0-4])\s*(?:,|-|–|to|or|and|through)\s*([0-4])(?:\s*(?:,|or|and)\s*([0-4]))?(?!\d)"
)

# Genetic findings the lexicon's markers do not separate (IDH1 from IDH2), and wording around them.
IDH1: Final = Wording(r"\bidh[- ]?1\b|\bidh1/2\b|\bidh1/idh2\b|\bidh1 or (?:idh)?2\b")
IDH2: Final = Wording(
    r"\bidh[- ]?2\b|\bidh1/2\b|\bidh1/idh2\b|\bidh1 or (?:idh)?2\b|\bidh[- ]?1 and[- ]?2\b",
)
THERAPY_AFTER: Final = Wording(r"^\s*[-\s]*(?:inhibitor|tki|targeted|directed|antagonist|agent)")

INTENSIVE: Final = Wording(r"\bintensive\b|\b7\s*\+\s*3\b|\binduction chemotherapy\b")
LINES: Final = Wording(
    r"(?:(at least|≥|>=|>|more than|a minimum of|minimum of|no more than|at most|≤|<=|<|up to|maximum of|few"
    r"er than|less than)\s*)?"
    r"\b(one|two|three|four|five|\d)\s*(?:\(\d\)\s*)?(?:or more\s+|\+\s*|or fewer\s+|or less\s+)?"
    r"(?:prior|previous)?\s*(?:lines?|regimens?|courses?\s+of\s+(?:therapy|treatment)|(?:prior\s+)?therap(?:"
    r"y|ies)\s+lines?)"
    r"(?:\s+of\s+(?:therapy|treatment|chemotherapy|systemic therapy))?",
)
NUMBER_WORDS: Final = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}

# A header the splitter keeps as a criterion ("Donor Inclusion Criteria", "Inclusion criteria for part B:").
HEADER: Final = Wording(
    r"^(?:[\w()'/-]+\s+){0,5}(inclusion|exclusion|non-inclusion)(?:\s+criteria\b[^:]{0,40}:?|\s*:)\s*$",
)
DONOR: Final = Wording(r"\bdonors?\b")
SENTENCE: Final = re.compile(r"(?<=[.;])\s+(?=[A-Z(\d])|\s+(?=\d{1,2}\.\s+[A-Z])")

# Genetic findings by gene name, where the lexicon's markers do not name them ("nucleophosmin 1 (NPM1)").
GENES: Final = (
    ("NPM1 mutation", Wording(r"\bnpm1\b(?![- ]?(?:inhibitor|targeted))")),
    ("FLT3 mutation", Wording(r"\bflt3[- ]?(?:itd|tkd|mutat|positive|\+)")),
    (
        "TP53 mutation",
        Wording(r"\btp53\b(?![- ]?(?:inhibitor|targeted))|\bp53 mutat|\b17p\s*(?:deletion|-)"),
    ),
    (
        "KMT2A rearrangement",
        Wording(r"\bkmt2a\b(?![- ]?(?:inhibitor|targeted))|\bmll1?[- ]?(?:r\b|rearrang|fusion)"),
    ),
    (
        "Ph+ / BCR::ABL1",
        Wording(r"\bbcr[\s:-]*abl1?\b(?![- ]?(?:inhibitor|tki|like))|\bt\(9;22\)|\bphi?\s*\+"),
    ),
)
THERAPY_BEFORE: Final = Wording(r"(?:targeting|against|anti)[\s-]+(?:\w+\s+(?:and/or|or|and)\s+)?$")
