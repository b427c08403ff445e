"""The watch scope: loading, validation, and the local in-scope check on real records."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from hemewatch.errors import ScopeError
from hemewatch.registry.scope import load_scope


def _conditions(*conditions: str, mesh: tuple[str, ...] = (), title: str = "A study") -> dict[str, object]:
    return {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT00000001", "briefTitle": title},
            "conditionsModule": {"conditions": list(conditions)},
        },
        "derivedSection": {"conditionBrowseModule": {"meshes": [{"id": "D1", "term": t} for t in mesh]}},
    }


@pytest.mark.parametrize(
    "study",
    [
        _conditions("Acute Myeloid Leukemia"),
        _conditions("Leukemia, Myeloid, Acute"),
        _conditions("B-ALL"),
        _conditions("T Lymphoblastic Leukemia/Lymphoma"),
        _conditions("Acute Promyelocytic Leukaemia"),
        _conditions("Mixed Phenotype Acute Leukemia"),
        _conditions("Leukemia"),  # untyped: kept, the classifier decides
        _conditions("Cancer", title="CD19 CAR-T for relapsed acute lymphoblastic leukemia"),
    ],
)
def test_acute_leukemia_trials_are_in_scope(study: dict[str, object]) -> None:
    assert load_scope().matches(study)


@pytest.mark.parametrize(
    "study",
    [
        _conditions("Chronic Lymphocytic Leukemia"),
        _conditions("Leukemia", "CLL"),
        _conditions("Hairy Cell Leukemia"),
        _conditions("Multiple Myeloma"),
        _conditions("Asthma", title="ALL PATIENTS WITH ASTHMA"),
    ],
)
def test_other_trials_are_out_of_scope(study: dict[str, object]) -> None:
    assert not load_scope().matches(study)


def test_scope_on_the_gold_records(real_records: Path) -> None:
    """Every trial the experts call acute leukemia is in scope; few others are."""
    labels = {}
    for line in (real_records / "gold" / "labels.jsonl").read_bytes().splitlines():
        label = orjson.loads(line)
        labels[label["nct_id"]] = label["acute_leukemia"]
    scope = load_scope()
    missed, extra = [], []
    for line in (real_records / "gold" / "dev_records.jsonl").read_bytes().splitlines():
        study = orjson.loads(line)
        nct = study["protocolSection"]["identificationModule"]["nctId"]
        if labels[nct] and not scope.matches(study):
            missed.append(nct)
        if not labels[nct] and scope.matches(study):
            extra.append(nct)
    assert missed == []
    assert len(extra) <= 5


def test_invalid_scope_files_are_explained(tmp_path: Path) -> None:
    bad = tmp_path / "scope.toml"
    bad.write_text(
        'name = "x"\n[[queries]]\n"query.cond" = "aml"\n[local]\nfields = ["a.b"]\npatterns = ["(unclosed"]\n'
    )
    with pytest.raises(ScopeError, match="invalid pattern"):
        load_scope(bad)
    bad.write_text('name = "x"\n')
    with pytest.raises(ScopeError, match="queries"):
        load_scope(bad)
    bad.write_text("not toml [")
    with pytest.raises(ScopeError, match="not valid TOML"):
        load_scope(bad)
    with pytest.raises(ScopeError, match="Cannot read"):
        load_scope(tmp_path / "missing.toml")
