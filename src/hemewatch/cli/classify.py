"""Classification commands: `hemewatch classify` (files, nothing stored) and `hemewatch reclassify`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from hemewatch.cli.app import JsonFlag, WaitFlag, app, database, one_job
from hemewatch.cli.console import RichProgress, err, out

if TYPE_CHECKING:
    from hemewatch.classification import Classification
    from hemewatch.classification.lexicon import Lexicon


def _record_output(classification: Classification, labels: dict[str, Any]) -> dict[str, Any]:
    from hemewatch.classification.model import evidence_list

    return {
        "nct_id": classification.nct_id,
        "acute_leukemia": labels["acute_leukemia"],
        "immunotherapy": labels["immunotherapy"],
        "diseases": labels["diseases"],
        "modalities": labels["modalities"],
        "targets": labels["targets"],
        "settings": labels["settings"],
        "populations": labels["populations"],
        "agents": labels["agents"],
        "therapies": [therapy.to_dict() for therapy in classification.therapies],
        "evidence": labels["evidence"],
        "tags": [
            {
                "kind": t.kind,
                "value": t.value,
                "evidence": evidence_list(t.evidence),
            }
            for t in classification.tags
        ],
        "lexicon_version": classification.lexicon_version,
    }


def _mechanism_writer(lexicon: Lexicon) -> Callable[[Classification], str]:
    # Imported here: the web package (and FastAPI with it) is only needed for the text output.
    from hemewatch.classification.model import TAG_KINDS
    from hemewatch.web.mechanism import mechanism_line

    def describe(classification: Classification) -> str:
        kinds: dict[str, list[str]] = {kind: list(classification.values(kind)) for kind in TAG_KINDS}
        return mechanism_line(kinds, lexicon, classification.therapies)

    return describe


@app.command()
def classify(
    paths: Annotated[
        list[Path], typer.Argument(help="Study records: JSONL, JSON, API pages, folders, json.zip.")
    ],
    lexicons: Annotated[
        Path | None, typer.Option(help="A folder of lexicon YAML files to use instead of the bundled ones.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Classify records from files without storing them (JSON: one object per line).

    The text output is one line per record: diseases | modalities | targets | settings | mechanism.
    """
    from hemewatch.classification import classify_study, default_lexicon, load_lexicon
    from hemewatch.pipeline.tagging import stored_labels
    from hemewatch.registry.bulk import iter_input_files, list_input_files

    lexicon = load_lexicon(lexicons) if lexicons else default_lexicon()
    describe = None if as_json else _mechanism_writer(lexicon)
    missing = [p for p in paths if not p.exists()]
    rejected = len(missing)
    for path in missing:
        err.print(f"rejected {path}: no such file or folder", markup=False)
    for item in iter_input_files(list_input_files([p for p in paths if p.exists()])):
        if item.rejection is not None:
            rejected += 1
            err.print(f"rejected {item.rejection}", markup=False)
        if item.record is None:
            continue
        classification = classify_study(item.record.study, lexicon)
        labels = stored_labels(classification, lexicon)
        if describe is None:
            sys.stdout.write(orjson.dumps(_record_output(classification, labels)).decode() + "\n")
        else:
            flags = [name for name in ("acute_leukemia", "immunotherapy") if labels[name]]
            parts = [", ".join(labels[f]) or "—" for f in ("diseases", "modalities", "targets", "settings")]
            parts.append(describe(classification) or "—")
            out.print(
                f"{classification.nct_id}  [{' '.join(flags) or 'other'}]  " + " | ".join(parts), markup=False
            )
    if rejected:
        raise typer.Exit(1)


@app.command()
def reclassify(
    force: Annotated[bool, typer.Option("--force", help="Redo every version, not only stale ones.")] = False,
    wait: WaitFlag = False,
) -> None:
    """Re-tag stored versions whose classification is missing or from an older lexicon."""
    from hemewatch.classification import default_lexicon
    from hemewatch.pipeline.reclassify import reclassify as reclassify_versions

    lexicon = default_lexicon()
    started = time.perf_counter()
    with database() as engine, one_job(engine, "reclassify", wait=wait), RichProgress() as progress:
        count = reclassify_versions(engine, lexicon=lexicon, force=force, progress=progress)
    seconds = time.perf_counter() - started
    out.print(f"classified {count} versions with lexicon {lexicon.version} in {seconds:.1f} s")
