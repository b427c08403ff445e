"""Pure trial classification: lexicons as data, a classifier that tags a study with evidence."""

from hemewatch.classification.classifier import classify_study
from hemewatch.classification.guideline import to_guideline_labels
from hemewatch.classification.lexicon import Lexicon, default_lexicon, load_lexicon, parse_lexicon
from hemewatch.classification.model import Classification, Evidence, Tag, TagKind

__all__ = [
    "Classification",
    "Evidence",
    "Lexicon",
    "Tag",
    "TagKind",
    "classify_study",
    "default_lexicon",
    "load_lexicon",
    "parse_lexicon",
    "to_guideline_labels",
]
