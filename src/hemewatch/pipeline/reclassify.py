"""`hemewatch reclassify`: bring every watched version's tags up to the current lexicons."""

from __future__ import annotations

from sqlalchemy import Engine

from hemewatch.classification import Lexicon
from hemewatch.pipeline.progress import Progress, SilentProgress
from hemewatch.pipeline.tagging import tag_versions, tagging_version
from hemewatch.storage.codec import decompress_json
from hemewatch.storage.runs import utc_now
from hemewatch.storage.tags import count_versions_in_scope, iter_versions_to_classify


def reclassify(
    engine: Engine, *, lexicon: Lexicon, force: bool = False, progress: Progress | None = None
) -> int:
    """Classify every version of a watched trial whose tags are missing or stale; return how many.

    Stale means classified with another lexicon version or eligibility parser (tagging_version);
    `force` redoes them all. Each batch commits on its own, so an interrupted run resumes where it
    stopped.
    """
    progress = progress or SilentProgress()
    with engine.connect() as conn:
        total = count_versions_in_scope(conn)
    progress.start("Classifying", total)
    wanted = "" if force else tagging_version(lexicon.version)
    done = 0
    with engine.connect() as reader:
        for batch in iter_versions_to_classify(reader, wanted, in_scope_only=True):
            with engine.begin() as conn:
                studies = ((vid, nct, decompress_json(blob)) for vid, nct, blob in batch)
                done += tag_versions(conn, studies, lexicon=lexicon, now=utc_now())
            progress.advance(len(batch))
    return done
