"""One bad record is quarantined, never a stuck mirror: the rest is stored, the next run goes on."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select

from hemewatch.pipeline.importing import import_files
from hemewatch.pipeline.ingest import ingest_batch
from hemewatch.registry.records import parse_study
from hemewatch.registry.scope import load_scope
from hemewatch.storage.quarantine import count_quarantined, list_quarantined, load_quarantined_raw
from hemewatch.storage.runs import start_run, utc_now
from hemewatch.storage.tables import study_versions, trials
from hemewatch.storage.versions import load_current_study
from tests.cli.runner import cli_env, hemewatch


@pytest.fixture(scope="module")
def studies(real_records: Path) -> list[dict[str, Any]]:
    lines = (real_records / "ctgov" / "studies.jsonl").read_bytes().splitlines()[:5]
    return [orjson.loads(line) for line in lines]


def _nct(study: dict[str, Any]) -> str:
    return str(study["protocolSection"]["identificationModule"]["nctId"])


def _stored(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {row.nct_id for row in conn.execute(select(trials.c.nct_id))}


def _page(path: Path, studies: list[dict[str, Any]]) -> Path:
    path.write_bytes(orjson.dumps({"studies": studies, "totalCount": len(studies)}))
    return path


def _bad(study: dict[str, Any], module: str, key: str, value: object) -> dict[str, Any]:
    broken = copy.deepcopy(study)
    broken["protocolSection"].setdefault(module, {})[key] = value
    return broken


def _updated(study: dict[str, Any], day: str) -> dict[str, Any]:
    fixed = copy.deepcopy(study)
    fixed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = day
    return fixed


def test_a_page_with_one_bad_record_stores_the_other_four_and_the_fix_resolves_it(
    tmp_path: Path, db_url: str, studies: list[dict[str, Any]]
) -> None:
    bad = _bad(studies[2], "designModule", "phases", [2])
    page = _page(tmp_path / "page.json", [*studies[:2], bad, *studies[3:]])
    env = cli_env(tmp_path, db_url)

    first = hemewatch("import", str(page), env=env)
    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr
    assert (
        _nct(bad) in first.stderr and "designModule.phases" in first.stderr and "quarantined" in first.stderr
    )
    assert "4 new versions" in first.stdout

    status = json.loads(hemewatch("status", "--json", env=env).stdout)
    assert status["trials"] == 4 and status["quarantined"] == 1
    assert "quarantined: 1" in hemewatch("status", env=env).stdout
    listed = json.loads(hemewatch("quarantine", "--json", env=env).stdout)
    assert [(q["nct_id"], q["field"]) for q in listed] == [(_nct(bad), "protocolSection.designModule.phases")]
    assert listed[0]["seen_count"] == 1 and listed[0]["resolved_at"] is None
    assert "must be a list of phase names" in listed[0]["reason"]

    # The next run does not stop on it: it is seen again, the rest is unchanged.
    again = hemewatch("import", "--json", str(page), env=env)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    report = json.loads(again.stdout)
    assert report["unchanged"] == 4 and report["quarantined"] == 1
    assert json.loads(hemewatch("quarantine", "--json", env=env).stdout)[0]["seen_count"] == 2

    # The registry fixes the record (a new version): it is stored and the quarantine resolved.
    fixed = _updated(_bad(studies[2], "designModule", "phases", ["PHASE2"]), "2031-01-01")
    healed = hemewatch("import", str(_page(tmp_path / "fixed.json", [fixed])), env=env)
    assert healed.returncode == 0, healed.stderr
    assert json.loads(hemewatch("status", "--json", env=env).stdout)["quarantined"] == 0
    assert "no records are quarantined" in hemewatch("quarantine", env=env).stdout
    resolved = json.loads(hemewatch("quarantine", "--all", "--json", env=env).stdout)
    assert len(resolved) == 1 and resolved[0]["resolved_at"] is not None


def test_the_sync_path_quarantines_bad_records_and_stores_the_rest(
    engine: Engine, studies: list[dict[str, Any]]
) -> None:
    # A registry page as the sync ingests it: parsed records, then one transaction per page.
    cases = [
        _bad(studies[0], "designModule", "phases", [2]),
        _bad(studies[1], "sponsorCollaboratorsModule", "leadSponsor", []),
        _bad(studies[2], "designModule", "enrollmentInfo", []),
        _bad(studies[3], "designModule", "phases", "PHASE2"),
        studies[4],
    ]
    for attempt in range(2):
        with engine.begin() as conn:
            run_id = start_run(conn, kind="full")
            outcome, _ = ingest_batch(
                conn,
                [parse_study(s) for s in cases],
                scope=load_scope(),
                source="sync",
                run_id=run_id,
                now=utc_now(),
                keep_out_of_scope=True,
                baseline=True,
            )
        assert outcome.stored == (1 if attempt == 0 else 0)
        assert {(q.nct_id, q.field) for q in outcome.quarantined} == {
            (_nct(cases[0]), "protocolSection.designModule.phases"),
            (_nct(cases[1]), "protocolSection.sponsorCollaboratorsModule.leadSponsor"),
            (_nct(cases[2]), "protocolSection.designModule.enrollmentInfo"),
            (_nct(cases[3]), "protocolSection.designModule.phases"),
        }
    assert _stored(engine) == {_nct(studies[4])}
    with engine.connect() as conn:
        assert count_quarantined(conn) == 4
        rows = list_quarantined(conn)
        assert {r.seen_count for r in rows} == {2}
        # The raw JSON is kept faithfully: the bad value is still there.
        raw = {
            orjson.loads(load_quarantined_raw(conn, r.id))["protocolSection"]["identificationModule"]["nctId"]
            for r in rows
        }
        assert raw == {_nct(c) for c in cases[:4]}


def test_out_of_range_values_are_errors_not_conversions(
    engine: Engine, tmp_path: Path, studies: list[dict[str, Any]]
) -> None:
    enrollment = _bad(studies[0], "designModule", "enrollmentInfo", {"count": 2**31, "type": "ACTUAL"})
    status = _bad(studies[1], "statusModule", "overallStatus", "RECRUITING" * 5)
    phases = _bad(studies[2], "designModule", "phases", "PHASE2")
    wide = _bad(studies[3], "identificationModule", "nctId", "NCT０４５３０５６５")
    lines = [orjson.dumps(s) for s in (enrollment, status, phases, wide, studies[4])]
    huge = orjson.dumps(studies[4]).replace(b'"protocolSection"', b'"extra":%d,"protocolSection"' % 2**70, 1)
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join([*lines, huge]) + b"\n")
    report = import_files(engine, [path], scope=load_scope())
    reasons = {r.location.rsplit(":", 1)[1]: r.reason for r in report.rejections}
    assert set(reasons) == {"1", "2", "3", "4", "6"}
    assert "enrollmentInfo.count" in reasons["1"] and "2147483647" in reasons["1"]
    assert "overallStatus" in reasons["2"]
    assert "phases" in reasons["3"]
    assert "invalid NCT id" in reasons["4"]
    assert "extra" in reasons["6"] and "beyond 64 bits" in reasons["6"]
    assert _stored(engine) == {_nct(studies[4])}
    with engine.connect() as conn:
        assert count_quarantined(conn) == 5
        phases_stored = conn.execute(select(trials.c.phases)).scalars().all()
    assert all(p is None or "|H|" not in p for p in phases_stored)


def test_nul_in_a_title_is_stored_and_the_raw_json_stays_faithful(
    engine: Engine, tmp_path: Path, studies: list[dict[str, Any]]
) -> None:
    titled = _bad(studies[0], "identificationModule", "briefTitle", "Blinatumomab\u0000 in B-ALL")
    titled["protocolSection"]["conditionsModule"]["keywords"] = ["CD19\u0000"]
    path = tmp_path / "nul.jsonl"
    path.write_bytes(orjson.dumps(titled) + b"\n")
    report = import_files(engine, [path], scope=load_scope())
    assert report.rejected == 0 and report.stored == 1
    nct = _nct(titled)
    with engine.connect() as conn:
        title = conn.execute(select(trials.c.brief_title).where(trials.c.nct_id == nct)).scalar_one()
        assert title == "Blinatumomab in B-ALL"
        raw = conn.execute(select(study_versions.c.raw_zstd)).scalar_one()
        assert load_current_study(conn, nct) is not None
    import zstandard

    assert b"Blinatumomab\\u0000 in B-ALL" in zstandard.ZstdDecompressor().decompress(raw)
    # A later version with NUL is diffed against this one and stored too (the sync path).
    later = _updated(
        _bad(titled, "identificationModule", "briefTitle", "Blina\u0000 in Ph+ ALL"), "2031-01-01"
    )
    with engine.begin() as conn:
        run_id = start_run(conn, kind="incremental")
        outcome, _ = ingest_batch(
            conn,
            [parse_study(later)],
            scope=load_scope(),
            source="sync",
            run_id=run_id,
            now=utc_now(),
            keep_out_of_scope=True,
            baseline=False,
        )
    assert outcome.stored == 1 and not outcome.quarantined
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(study_versions)).scalar_one() == 2
