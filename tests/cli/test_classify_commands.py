"""`hemewatch classify`, `hemewatch reclassify` and `hemewatch trials` on real records."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import update

from hemewatch.classification.model import ROLES
from hemewatch.storage.engine import open_database
from hemewatch.storage.tables import classifications
from tests.cli.runner import cli_env, hemewatch

REQUIRED = {
    "nct_id",
    "acute_leukemia",
    "immunotherapy",
    "diseases",
    "modalities",
    "targets",
    "settings",
    "therapies",
    "evidence",
}


def test_classify_prints_one_json_object_per_record(
    tmp_path: Path, sqlite_url: str, real_records: Path
) -> None:
    done = hemewatch(
        "classify",
        "--json",
        str(real_records / "gold" / "dev_records.jsonl"),
        env=cli_env(tmp_path, sqlite_url),
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 149
    assert all(set(line) >= REQUIRED for line in lines)
    cd22 = next(line for line in lines if line["nct_id"] == "NCT02650414")
    assert cd22["targets"] == ["CD22"] and "CAR-T" in cd22["modalities"]
    assert cd22["evidence"]["targets"]["CD22"][0]["path"].startswith("protocolSection.")
    assert not (tmp_path / "home" / "hemewatch.db").exists()  # nothing stored


def test_classify_prints_therapies_and_a_mechanism_column(
    tmp_path: Path, sqlite_url: str, real_records: Path
) -> None:
    records = tmp_path / "some.jsonl"
    lines = (real_records / "ctgov" / "studies.jsonl").read_text("utf-8").splitlines()[:20]
    records.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = cli_env(tmp_path, sqlite_url)
    as_json = hemewatch("classify", "--json", str(records), env=env)
    assert as_json.returncode == 0, as_json.stderr
    found = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert len(found) == 20
    for record in found:
        for therapy in record["therapies"]:
            assert set(therapy) >= {"name", "agent", "modality", "drug_class", "targets", "role", "evidence"}
            assert therapy["role"] in ROLES
    text = hemewatch("classify", str(records), env=env)
    assert text.returncode == 0, text.stderr
    rows = text.stdout.splitlines()
    assert len(rows) == 20 and all(row.count(" | ") == 4 for row in rows)
    assert any("Observational (no study treatment)" in row or "(" in row.rsplit(" | ", 1)[1] for row in rows)


def test_classify_names_bad_input(tmp_path: Path, sqlite_url: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"protocolSection": {}}\n')
    done = hemewatch("classify", str(bad), str(tmp_path / "nope.json"), env=cli_env(tmp_path, sqlite_url))
    assert done.returncode == 1
    assert "bad.jsonl:1" in done.stderr and "nope.json: no such file" in done.stderr


def test_reclassify_redoes_stale_versions_and_trials_filters(tmp_path: Path, db_url: str) -> None:
    env = cli_env(tmp_path, db_url)
    assert hemewatch("demo", "--no-serve", env=env).returncode == 0
    assert "classified 0 versions" in hemewatch("reclassify", env=env).stdout
    engine = open_database(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(classifications)
                .where(classifications.c.nct_id == "NCT02650414")
                .values(lexicon_version="0.0+old")
            )
    finally:
        engine.dispose()
    assert "classified 2 versions" in hemewatch("reclassify", env=env).stdout
    cd22 = json.loads(
        hemewatch("trials", "--json", "--target", "CD22", "--modality", "CAR-T", env=env).stdout
    )
    assert "NCT02650414" in {t["nct_id"] for t in cd22}
    assert all("CD22" in t["targets"] and "CAR-T" in t["modalities"] for t in cd22)
    aml = json.loads(hemewatch("trials", "--json", "--disease", "aml", "--limit", "500", env=env).stdout)
    assert aml and all("AML" in t["diseases"] for t in aml)
    shown = json.loads(hemewatch("show", "--json", "NCT02650414", env=env).stdout)
    targets = [t for t in shown["tags"] if t["kind"] == "target"]
    assert [t["value"] for t in targets] == ["CD22"] and targets[0]["evidence"]
