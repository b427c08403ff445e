"""`hemewatch agents` and `hemewatch agents --unresolved` on a mirror whose therapies we chose."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hemewatch.classification.model import Classification, Evidence, Role, Therapy
from hemewatch.registry.records import parse_study
from hemewatch.storage.engine import open_database
from hemewatch.storage.tags import ClassifiedVersion, store_classifications
from hemewatch.storage.versions import store_records
from tests.cli.runner import cli_env, hemewatch

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _study(nct_id: str, posted: str = "2026-11-01") -> dict[str, Any]:
    return {
        "protocolSection": {
            "identificationModule": {"nctId": nct_id, "briefTitle": f"Trial {nct_id}"},
            "statusModule": {"lastUpdatePostDateStruct": {"date": posted}},
        }
    }


def _therapy(
    name: str,
    agent: str | None,
    role: Role = "investigational",
    modality: str | None = None,
    *,
    unresolved: bool = False,
) -> Therapy:
    return Therapy(name, agent, modality, None, (), role, (Evidence("path", name),), unresolved=unresolved)


def _seed(db_url: str, found: dict[str, list[Therapy]]) -> None:
    """Store one version of each trial, classified with exactly these therapies."""
    engine = open_database(db_url)
    try:
        with engine.begin() as conn:
            stored = store_records(
                conn,
                [parse_study(_study(nct_id)) for nct_id in found],
                source="test",
                now=NOW,
                in_scope=dict.fromkeys(found, True),
            )
            items = [
                ClassifiedVersion(
                    version.version_id,
                    version.nct_id,
                    Classification(version.nct_id, (), True, False, "test", tuple(found[version.nct_id])),
                    {},
                )
                for version in stored.stored
            ]
            store_classifications(conn, items, now=NOW)
    finally:
        engine.dispose()


MIRROR = {
    "NCT00000001": [
        _therapy("ABC-123 CAR T cells", None, modality="CAR-T", unresolved=True),
        _therapy("Fludarabine", "fludarabine", "lymphodepletion"),
        _therapy(
            "Mystery lymphodepletion", None, "lymphodepletion", unresolved=True
        ),  # not studied: never listed
    ],
    "NCT00000002": [
        _therapy("abc-123  car t cells", None, modality="CAR-T", unresolved=True),
        _therapy("Blinatumomab", "blinatumomab"),
    ],
    "NCT00000003": [
        _therapy("ABC-123 CAR T Cells", None, unresolved=True),
        _therapy("XYZ-9", None, "comparator", unresolved=True),
        _therapy("Blincyto", "blinatumomab"),
        _therapy("Posaconazole", "posaconazole", "supportive"),
    ],
    "NCT00000004": [
        _therapy("Unnamed supportive drink", None, "supportive", unresolved=True),
        # Generic phrases are no product to add: the classifier does not flag them unresolved.
        _therapy("Intrathecal chemotherapy", None, "backbone", "chemotherapy"),
        _therapy("Allogeneic stem cell transplant", None, "investigational", "allogeneic HSCT"),
        _therapy("Zorubicin-X", None, "investigational", "chemotherapy", unresolved=True),
    ],
    "NCT00000005": [_therapy("ABC-123 CAR T cells", None, "backbone", unresolved=True)],
}


def test_unresolved_agents_as_json_are_grouped_by_written_name(tmp_path: Path, db_url: str) -> None:
    _seed(db_url, MIRROR)
    done = hemewatch("agents", "--unresolved", "--json", env=cli_env(tmp_path, db_url))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert [item["name"] for item in found] == ["ABC-123 CAR T cells", "XYZ-9", "Zorubicin-X"]
    abc = found[0]
    # Named by its most frequent spelling; examples are the first NCT ids.
    assert abc["trials"] == 4 and abc["examples"] == ["NCT00000001", "NCT00000002", "NCT00000003"]
    assert set(abc["spellings"]) == {"ABC-123 CAR T cells", "abc-123 car t cells", "ABC-123 CAR T Cells"}
    assert abc["modalities"] == ["CAR-T"]
    assert "Intrathecal chemotherapy" not in done.stdout and "stem cell" not in done.stdout
    assert found[1] == {
        "name": "XYZ-9",
        "trials": 1,
        "examples": ["NCT00000003"],
        "spellings": ["XYZ-9"],
        "modalities": [],
    }


def test_unresolved_agents_as_a_table(tmp_path: Path, db_url: str) -> None:
    _seed(db_url, MIRROR)
    done = hemewatch("agents", "--unresolved", env=cli_env(tmp_path, db_url))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("name as written" in line and "trials" in line for line in lines)
    abc = next(line for line in lines if "ABC-123 CAR T cells" in line)
    assert " 4 " in abc and "CAR-T" in abc and "NCT00000001" in abc
    assert "Mystery lymphodepletion" not in done.stdout and "supportive drink" not in done.stdout
    assert "3 unresolved names" in done.stdout


def test_agents_in_use_with_trial_counts(tmp_path: Path, db_url: str) -> None:
    _seed(db_url, MIRROR)
    env = cli_env(tmp_path, db_url)
    found = json.loads(hemewatch("agents", "--json", env=env).stdout)
    assert [(a["agent"], a["trials"]) for a in found] == [
        ("blinatumomab", 2),
        ("fludarabine", 1),
        ("posaconazole", 1),
    ]
    assert found[0]["roles"] == ["investigational"] and found[1]["roles"] == ["lymphodepletion"]
    table = hemewatch("agents", "--limit", "1", env=env)
    assert table.returncode == 0, table.stderr
    assert "blinatumomab" in table.stdout and "fludarabine" not in table.stdout
    assert "1 agents" in table.stdout


def test_an_empty_mirror_has_no_agents(tmp_path: Path, sqlite_url: str) -> None:
    env = cli_env(tmp_path, sqlite_url)
    done = hemewatch("agents", "--unresolved", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
