"""The wording the eligibility parser reads: numbers, cues of polarity, and findings no lexicon names.

Names of diseases, agents, targets and markers come from the classifier lexicon; what is here is the
grammar of criteria (comparators, negation, "is allowed", washout periods) and a few clinical
phrases (CNS status, performance scales, settings) that are not names.
"""

from __future__ import annotations

import re
from typing import Final

_I = re.IGNORECASE

# A comparator before a number: the bound it sets on "at least" (low) or "at most" (high) side.
LOW_WORDS: Final = (
    r"(?:≥|>=|=>|>|at least|older than|over|greater than(?: or equal to)?|minimum(?: of)?|above)"
)
HIGH_WORDS: Final = (
    r"(?:≤|<=|=<|<|up to|younger than|under|less than(?: or equal to)?|at most|no older than|"
    r"not older than|below|maximum(?: of)?|no more than|not more than|not exceeding)"
)
STRICT: Final = re.compile(
    r"^(?:>|<|older than|younger than|over|under|greater than|less than|above|below)$", _I
)

AGE_CONTEXT: Final = re.compile(r"\bages?d?\b|\byears?\b|\byrs?\b|\bold\b", _I)
AGE_RANGE: Final = re.compile(
    r"(?<![\d.])(\d{1,2}(?:\.\d)?)\s*(?:years?|yrs?)?\s*(?:-|–|—|to|and|through)\s*(\d{1,3}(?:\.\d)?)"
    r"\s*(?:years?|yrs?)(?!\s*(?:after|since|from|ago|of (?:follow|remission)))",
    _I,
)
AGE_RANGE_AFTER_AGE: Final = re.compile(
    r"\bage[sd]?\b[^.;\d]{0,20}?(?:between|from|of)?\s*(\d{1,2})\s*(?:-|–|to|and)\s*(\d{1,3})\b(?!\s*(?:%|mo"
    r"nths?|weeks?|days?|kg|mg|x))",
    _I,
)
AGE_BOUND: Final = re.compile(
    rf"({LOW_WORDS}|{HIGH_WORDS})\s*(\d{{1,3}}(?:\.\d)?)\s*(years?|yrs?|months?|y\b)?(?![\d.%])",
    _I,
)
AGE_WORD_NEAR: Final = re.compile(r"\bages?d?\b|\byears? (?:of age|old)\b|\byrs?\b|\byears?\b", _I)
LOW_START: Final = re.compile(rf"^{LOW_WORDS}$", _I)

# A statement about when, not whether: a washout or a time since a therapy ("within 3 months",
# "at least 14 days since", "≤ 6 months prior"). It does not exclude the therapy itself.
RECENCY: Final = re.compile(
    r"\bwithin\b|\bwash-?out\b|must have elapsed|\bsince (?:the )?(?:last|completion|end)\b|"
    r"\b\d+\s*(?:days?|weeks?|wks?|months?|hours?|half[- ]lives)\b[^.;]{0,40}\b(?:prior|before|since|after|o"
    r"f|from|post)\b|"
    r"\b(?:days?|weeks?|months?) (?:prior|before|since|after|post)\b|\bcurrently\b|\bconcurrent\b|\bduring\b|"
    r"\b(?:prior to|before) (?:the )?(?:first|start|starting|beginning|initiati|enrol|study|dosing|screening|"
    r"registration|randomi[sz]ation|day 1|c1d1|leukapheresis|apheresis|infusion)",
    _I,
)
# The sentence speaks of therapy the patient had (or has): what makes a named therapy a prior therapy.
PRIOR_CUE: Final = re.compile(
    r"\bprior\b|\bprevious(?:ly)?\b|\breceiv(?:ed|ing)\b|\breceipt\b|\btreated with\b|\bexpos(?:ed|ure)\b|"
    r"\bfail(?:ed|ure)?\b|\bafter\b|\bfollowing\b|\brefractory to\b|\bresistan(?:t|ce) to\b|\bintoleran(?:t|"
    r"ce)\b|"
    r"\bpost[- ]|\bhistory of\b|\bundergone\b|\bpretreated\b|\bre-?treatment\b|"
    r"\bnaive\b|\bnaïve\b",
    _I,
)
# "… is allowed", "… are eligible": what the criteria say plainly does not rule a patient out.
ALLOWED: Final = re.compile(
    r"\b(?:is|are|will be|be)\s+(?:also\s+)?(?:allowed|permitted|acceptable|eligible(?!\s+(?:for|to)\s+(?!th"
    r"is\b|the (?:study|trial)\b|participat|enrol))|not excluded)\b|"
    r"\b(?:can|may)\s+(?:also\s+)?(?:be\s+)?(?:eligible(?!\s+(?:for|to)\s+(?!this\b|the (?:study|trial)\b|pa"
    r"rticipat|enrol))|enrolled|included|participate|allowed|"
    r"permitted)\b|"
    r"(?<!not )\b(?:allowed|permitted)\b|\bregardless of\b|\birrespective of\b",
    _I,
)
DISALLOWED: Final = re.compile(
    r"\b(?:not|never)\s+(?:be\s+)?(?:allowed|permitted|eligible)\b(?!\s+(?:for|to)\s+(?!this\b|the (?:study|"
    r"trial)\b|participat|enrol))|\bineligible\b(?!\s+(?:for|to)\s+(?!this\b|the (?:study|trial)\b|participa"
    r"t|enrol))|"
    r"\bcan ?not participate\b|"
    r"\bare excluded\b|\bis excluded\b|\bwill be excluded\b|\bnot be enrolled\b",
    _I,
)
# A criterion that opens with a condition on a subgroup ("In individuals previously treated with
# blinatumomab, CD19 expression …", "If prior HSCT, …", "For patients with Ph+ ALL: …"): what the
# condition names is a case the criterion provides for, so it is allowed, not required or excluded.
CONDITION: Final = re.compile(
    r"^\s*(?:if|when|where|in\s+(?:the\s+)?(?:case|patients?|participants?|subjects?|individuals?|"
    r"those|children|adults)|for\s+(?:patients?|participants?|subjects?|individuals?|those|children|adults))"
    r"\b[^,;:]{0,160}?[,;:]",
    _I,
)
# Negation cues, before the term they govern (in the same clause, no "but"/"except" … between).
NEGATION: Final = re.compile(
    r"\b(?:no|not|without|never|none|neither|nor|absence of|free of|lack of|negative for|"
    r"must not|cannot|can not|no evidence of|no history of|no known|non)\b",
    _I,
)
EXCEPTION: Final = re.compile(
    r"\b(?:except(?:ing| for)?|with the exception of|other than|excluding|apart from)\b", _I
)
NEGATION_BREAK: Final = re.compile(
    r"[;:]|\bbut\b|\bhowever\b|\bunless\b|\band\b(?! or)|\bwho\b|\bwhich\b", _I
)
NEGATIVE_AFTER: Final = re.compile(
    r"^\s*(?:\)|\s)*(?:-?\s*negative\b|neg\b|-(?![\w/])|−|wild[- ]?type\b|wt\b|not (?:detected|expressed)|"
    r"(?:is|was|are)\s+(?:not\s+(?:detected|expressed|present)|negative|absent))",
    _I,
)
POSITIVE_AFTER: Final = re.compile(
    r"^\s*(?:\)|\s)*(?:-?\s*positiv|\+|pos\b|expression|expressing|bright|mutat|rearrange|fusion|"
    r"translocation|itd|tkd|\(\+\)|(?:is|was|are)\s+(?:detected|expressed|present|positive))",
    _I,
)
EXPRESSION_BEFORE: Final = re.compile(
    r"(?:express(?:es|ing|ion)?|positiv(?:e|ity)|detectable|presence)\s*(?:of|for)?\s*(?:the\s+)?(?:antigen"
    r"\s+)?$",
    _I,
)
NEGATIVE_BEFORE: Final = re.compile(r"(?:negative|loss of|lack of|absence of|absent)\s*(?:of|for)?\s*$", _I)
# After a target: it names a therapy ("CD19-directed", "CD19 CAR"), not an antigen on the leukemia.
DIRECTED_AFTER: Final = re.compile(
    r"^\s*[-–]?\s*(?:directed|targeted|targeting|specific|redirected|car\b|chimeric|bispecific|"
    r"antibod|monoclonal|mab\b|therapy|therapies|engager|immunotherap|adc\b|based)",
    _I,
)
DIRECTED_BEFORE: Final = re.compile(r"(?:anti[- ]?|targeting\s+|directed against\s+)$", _I)

# Settings: the state of the disease the criteria ask for.
RELAPSED_REFRACTORY: Final = re.compile(
    r"\brelapsed?\s*(?:/|or|and/or|and|,)\s*(?:primary\s+)?refractory\b|\brefractory\s*(?:/|or|and/or|and|,)"
    r"\s*"
    r"relapsed?\b|\br/r\b|\brecurrent\s*(?:/|or|and/or)\s*refractory\b|\brefractory\s*(?:/|or|and/or)\s*recu"
    r"rrent\b|"
    r"\b(?:relapsed|recurrent)\s*(?:/|or|and/or)\s*(?:persistent|resistant)\b",
    _I,
)
FIRST_RELAPSE: Final = re.compile(
    r"\bfirst\s+(?:hematologic(?:al)?\s+|bone marrow\s+|marrow\s+)?relapse\b|\b1st relapse\b", _I
)
LATER_RELAPSE: Final = re.compile(
    r"\b(?:second|2nd|third|3rd|≥\s*2nd|subsequent|later|multiply|multiple)\s+(?:or\s+(?:greater|later|subse"
    r"quent|"
    r"higher|more)\s+)?(?:bone marrow\s+|marrow\s+|bm\s+)?relapses?\b|\b(?:two|2) or more relapses\b",
    _I,
)
POST_HSCT_RELAPSE: Final = re.compile(
    r"\b(?:relapse[ds]?|recurrence|recurrent)\s+(?:disease\s+)?(?:after|following|post)[- ]?\s*(?:an?\s+)?"
    r"(?:allo(?:geneic)?|hsct|hct|sct|bmt|(?:hematopoietic |haematopoietic )?(?:stem )?cell transplant|"
    r"bone marrow transplant|transplant)",
    _I,
)
RELAPSED: Final = re.compile(r"\brelapsed?\b|\brecurrent\b|\brecurrence\b", _I)
REFRACTORY: Final = re.compile(
    r"\b(?:primary\s+)?refractory\b(?!\s+to)|\bprimary induction failure\b|\binduction failure\b", _I
)
NEWLY_DIAGNOSED: Final = re.compile(
    r"\bnew(?:ly)?[\s-]+diagnosed\b|\bpreviously[\s-]+untreated\b|\btreatment[\s-]+na[iï]ve\b|\buntreated\b|"
    r"\bnew diagnosis\b|\bnot (?:been )?(?:previously )?treated\b|\bfirst[\s-]+line\b",
    _I,
)
MRD_POSITIVE: Final = re.compile(
    r"\bmrd[\s-]*(?:positiv|\+|≥|>=|>|level|detectable|persist)|"
    r"\b(?:minimal|measurable)\s+residual\s+disease\s*(?:\(mrd\)\s*)?(?:positiv|≥|>=|>|of\s*≥|level|detectab"
    r"le|persist)|"
    r"\bpositive\s+(?:for\s+)?(?:mrd|minimal residual|measurable residual)|\bmolecular (?:relapse|persistenc"
    r"e|failure)\b",
    _I,
)
# Being in remission (not "failed to achieve CR", "relapse after complete remission").
COMPLETE_REMISSION: Final = re.compile(
    r"\b(?:in|with|achieved|attained)\s+(?:a\s+|their\s+)?(?:first\s+|second\s+|1st\s+|2nd\s+)?(?:complete\s"
    r"+)?"
    r"(?:morphologic(?:al)?\s+|hematologic(?:al)?\s+)?(?:remission|response|cr[12i]?)\b|\bcr[12]\b|"
    r"\b(?:first|second) complete remission\b|\bcomplete remission phase\b",
    _I,
)
REMISSION_NOISE: Final = re.compile(r"malignan|cancer|carcinoma|tumou?r", _I)

# CNS involvement by leukemia (not "CNS function", "CNS toxicity" or "CNS prophylaxis").
CNS: Final = re.compile(
    r"\b(?:cns|central nervous system)\s*(?:\(cns\)\s*)?[-\s]*(?:leuka?emia|disease|involvement|relapse|stat"
    r"us\s*[23]|invasion|"
    r"[23]\b|3[abc]?\b|positiv|metastas|infiltrat|manifestation|localization|lymphoma|blasts?)|"
    r"\b(?:involvement|disease|leuka?emia|infiltration|relapse)\s+(?:of|in|by leuka?emia (?:of|in)|to)\s+(?:"
    r"the\s+)?"
    r"(?:cns|central nervous system|brain|meninges)\b|\b(?:cns|central nervous system) involvement\b|\bcns[-"
    r"\s]?[23]\b|"
    r"\bleptomeningeal\b|\bmeningeal leuka?emia\b|\bactive cns\b|\binvolv\w*\s+(?:of\s+)?the\s+(?:cns|centra"
    r"l nervous system)\b",
    _I,
)
CNS_NONE: Final = re.compile(r"\bcns[-\s]?1\b|\bcns\s+(?:status\s+)?negative\b", _I)

ECOG: Final = re.compile(r"\b(?:ecog|eastern cooperative|zubrod|who performance|who ps)\b", _I)
KARNOFSKY: Final = re.compile(r"\bkarnofsky\b|\bkps\b", _I)
LANSKY: Final = re.compile(r"\blansky\b|\blanksy\b", _I)
SCORE_BOUND: Final = re.compile(
    rf"({LOW_WORDS}|{HIGH_WORDS}|of|is|score|status|\()?\s*(\d{{1,3}})\s*(%|percent)?", _I
)
SCORE_LIST: Final = re.compile(
    r"(?<![\d.])([0-4])\s*(?:,|-|–|to|or|and|through)\s*([0-4])(?:\s*(?:,|or|and)\s*([0-4]))?(?!\d)"
)

# Genetic findings the lexicon's markers do not separate (IDH1 from IDH2), and wording around them.
IDH1: Final = re.compile(r"\bidh[- ]?1\b|\bidh1/2\b|\bidh1/idh2\b|\bidh1 or (?:idh)?2\b", _I)
IDH2: Final = re.compile(
    r"\bidh[- ]?2\b|\bidh1/2\b|\bidh1/idh2\b|\bidh1 or (?:idh)?2\b|\bidh[- ]?1 and[- ]?2\b", _I
)
THERAPY_AFTER: Final = re.compile(r"^\s*[-\s]*(?:inhibitor|tki|targeted|directed|antagonist|agent)", _I)

INTENSIVE: Final = re.compile(r"\bintensive\b|\b7\s*\+\s*3\b|\binduction chemotherapy\b", _I)
LINES: Final = re.compile(
    r"(?:(at least|≥|>=|>|more than|a minimum of|minimum of|no more than|at most|≤|<=|<|up to|maximum of|few"
    r"er than|less than)\s*)?"
    r"\b(one|two|three|four|five|\d)\s*(?:\(\d\)\s*)?(?:or more\s+|\+\s*|or fewer\s+|or less\s+)?"
    r"(?:prior|previous)?\s*(?:lines?|regimens?|courses?\s+of\s+(?:therapy|treatment)|(?:prior\s+)?therap(?:"
    r"y|ies)\s+lines?)"
    r"(?:\s+of\s+(?:therapy|treatment|chemotherapy|systemic therapy))?",
    _I,
)
NUMBER_WORDS: Final = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}

# A header the splitter keeps as a criterion ("Donor Inclusion Criteria", "Inclusion criteria for part B:").
HEADER: Final = re.compile(
    r"^(?:[\w()'/-]+\s+){0,5}(inclusion|exclusion|non-inclusion)(?:\s+criteria\b[^:]{0,40}:?|\s*:)\s*$", _I
)
DONOR: Final = re.compile(r"\bdonors?\b", _I)
SENTENCE: Final = re.compile(r"(?<=[.;])\s+(?=[A-Z(\d])|\s+(?=\d{1,2}\.\s+[A-Z])")

# Genetic findings by gene name, where the lexicon's markers do not name them ("nucleophosmin 1 (NPM1)").
GENES: Final = (
    ("NPM1 mutation", re.compile(r"\bnpm1\b(?![- ]?(?:inhibitor|targeted))", _I)),
    ("FLT3 mutation", re.compile(r"\bflt3[- ]?(?:itd|tkd|mutat|positive|\+)", _I)),
    (
        "TP53 mutation",
        re.compile(r"\btp53\b(?![- ]?(?:inhibitor|targeted))|\bp53 mutat|\b17p\s*(?:deletion|-)", _I),
    ),
    (
        "KMT2A rearrangement",
        re.compile(r"\bkmt2a\b(?![- ]?(?:inhibitor|targeted))|\bmll1?[- ]?(?:r\b|rearrang|fusion)", _I),
    ),
    (
        "Ph+ / BCR::ABL1",
        re.compile(r"\bbcr[\s:-]*abl1?\b(?![- ]?(?:inhibitor|tki|like))|\bt\(9;22\)|\bphi?\s*\+", _I),
    ),
)
THERAPY_BEFORE: Final = re.compile(r"(?:targeting|against|anti)[\s-]+(?:\w+\s+(?:and/or|or|and)\s+)?$", _I)
