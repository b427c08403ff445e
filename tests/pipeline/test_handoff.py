"""What worker processes hand back: a record's classification survives the trip exactly."""

from __future__ import annotations

import io
import pickle
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select

from hemewatch.classification import parse_lexicon
from hemewatch.pipeline.importing import import_files
from hemewatch.pipeline.prepare import prepare_piece, read_message, serve, write_message
from hemewatch.registry.bulk import LINE, Piece
from hemewatch.registry.scope import load_scope
from hemewatch.storage.engine import open_database
from hemewatch.storage.prepared import PreparedRecord, decode_classified, encode_classified
from hemewatch.storage.tables import classifications, trial_tags, trial_therapies


@pytest.fixture
def lines(real_records: Path) -> list[bytes]:
    return (real_records / "ctgov" / "studies.jsonl").read_bytes().splitlines()[:60]


def _prepared(lines: list[bytes]) -> list[PreparedRecord]:
    scope = load_scope()
    found = []
    for number, line in enumerate(lines, start=1):
        for outcome in prepare_piece(Piece(LINE, f"x.jsonl:{number}", line + b"\n", 0), scope):
            assert isinstance(outcome, PreparedRecord)
            found.append(outcome)
    return found


def test_a_classification_comes_back_from_a_worker_equal(lines: list[bytes]) -> None:
    records = [r for r in _prepared(lines) if r.classified is not None]
    assert len(records) > 20  # the records are in the watch scope: classified on the worker
    with_therapies = 0
    for record in records:
        assert record.classified is not None
        classification, labels = record.classified
        with_therapies += bool(classification.therapies)
        # As encoded on the worker and decoded where it is stored...
        assert decode_classified(encode_classified(classification, labels)) == (classification, labels)
        # ...and as a whole record crosses the pipe.
        travelled = pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
        assert travelled.classified == record.classified
        assert travelled.nct_id == record.nct_id and travelled.raw_zstd == record.raw_zstd
    assert with_therapies > 5


def test_evidence_shared_by_several_tags_is_sent_once(lines: list[bytes]) -> None:
    shared = 0
    for record in _prepared(lines):
        if record.classified is None:
            continue
        classification, labels = record.classified
        uses = [(e.path, e.text) for tag in classification.tags for e in tag.evidence]
        uses += [(e.path, e.text) for therapy in classification.therapies for e in therapy.evidence]
        table = orjson.loads(encode_classified(classification, labels))[4]
        assert sorted(tuple(e) for e in table) == sorted(set(uses))  # each piece once
        shared += len(set(uses)) < len(uses)
    assert shared > 0  # some records cite one piece of evidence for several tags


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()  # JSONB keeps no key order


def _stored(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        tags = sorted(
            (row.nct_id, row.kind, row.value, _json(row.evidence)) for row in conn.execute(select(trial_tags))
        )
        therapies = sorted(
            (
                row.nct_id,
                row.position,
                row.name,
                row.agent or "",
                _json(row.targets),
                row.role,
                _json(row.evidence),
            )
            for row in conn.execute(select(trial_therapies))
        )
        labels = sorted((row.nct_id, _json(row.labels)) for row in conn.execute(select(classifications)))
    return {"tags": tags, "therapies": therapies, "labels": labels}


def test_an_import_on_worker_processes_stores_what_one_without_them_does(
    engine: Engine, tmp_path: Path, lines: list[bytes]
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    import_files(engine, [path], scope=load_scope(), workers=2)
    alone = open_database(f"sqlite:///{tmp_path / 'alone.db'}")
    try:
        import_files(alone, [path], scope=load_scope(), workers=0)
        expected = _stored(alone)
    finally:
        alone.dispose()
    found = _stored(engine)
    assert found == expected and len(found["tags"]) > 100


def test_a_worker_classifies_with_the_lexicon_the_importer_sends(lines: list[bytes]) -> None:
    # A lexicon of another version than the bundled one the worker would load itself.
    folder = resources.files("hemewatch.classification").joinpath("lexicons")
    documents = {
        item.name: item.read_text(encoding="utf-8")
        for item in folder.iterdir()
        if item.name.endswith(".yaml")
    }
    documents["manifest.yaml"] = documents["manifest.yaml"].replace('version: "', 'version: "sent-', 1)
    sent = parse_lexicon(documents)
    pieces = [Piece(LINE, f"x.jsonl:{n}", line + b"\n", 0) for n, line in enumerate(lines[:5], start=1)]
    source, sink = io.BytesIO(), io.BytesIO()
    write_message(source, (load_scope(), sent))
    write_message(source, pieces)
    source.seek(0)
    serve(source, sink)  # until its input ends, as when the importer closes the pipe
    sink.seek(0)
    ok, outcomes = read_message(sink)
    assert ok and len(outcomes) == len(pieces)
    versions = {
        o.classified[0].lexicon_version for (o,) in outcomes if isinstance(o, PreparedRecord) and o.classified
    }
    assert len(versions) == 1 and versions.pop().startswith("sent-")
