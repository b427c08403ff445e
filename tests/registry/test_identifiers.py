"""Secondary ids typed from their shape and their record type, on real records and edge cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hemewatch.registry.identifiers import (
    Identifier,
    parse_identifiers,
    recognise,
    scheme_counts,
)


def _study(*secondary: dict[str, str], org: str | None = "SPONSOR-01", nct_id: str = "NCT00000001") -> Any:
    ident: dict[str, Any] = {"nctId": nct_id}
    if org is not None:
        ident["orgStudyIdInfo"] = {"id": org}
    if secondary:
        ident["secondaryIdInfos"] = list(secondary)
    return {"protocolSection": {"identificationModule": ident}}


def _records(real_records: Path, name: str) -> dict[str, Any]:
    lines = (real_records / "ctgov" / name).read_text(encoding="utf-8").splitlines()
    studies = (json.loads(line) for line in lines)
    return {s["protocolSection"]["identificationModule"]["nctId"]: s for s in studies}


def _pairs(items: list[Identifier]) -> list[tuple[str, str]]:
    return [(item.scheme, item.value) for item in items]


def test_real_records_with_eudract_eu_ct_utn_and_ctrp_ids(real_records: Path) -> None:
    studies = _records(real_records, "studies.jsonl")
    # Gemtuzumab in AML: the EudraCT number under EUDRACT_NUMBER.
    gemtuzumab = parse_identifiers(studies["NCT02724163"])
    assert ("eudract", "2014-005066-30") in _pairs(gemtuzumab)
    eudract = next(i for i in gemtuzumab if i.scheme == "eudract")
    assert eudract.url == "https://www.clinicaltrialsregister.eu/ctr-search/search?query=2014-005066-30"
    assert eudract.label == "EudraCT" and eudract.type == "EUDRACT_NUMBER"
    # An EU CT number given as the sponsor's own id, recognised by its shape.
    (eu_ct,) = parse_identifiers(studies["NCT05740449"])
    assert (eu_ct.scheme, eu_ct.value, eu_ct.source) == ("eu-ct", "2022-501865-29-00", "org_study_id")
    # A WHO UTN filed as a registry id, beside a EudraCT number.
    assert ("who-utn", "U1111-1266-7399") in _pairs(parse_identifiers(studies["NCT05086315"]))
    assert ("eudract", "2021-004287-98") in _pairs(parse_identifiers(studies["NCT05086315"]))
    # The French ID-RCB written with a prefix; an NCI CTRP id; an NIH grant with the record's link.
    assert ("id-rcb", "2022-A01261-42") in _pairs(parse_identifiers(studies["NCT05664230"]))
    assert ("nci-ctrp", "NCI-2012-00145") in _pairs(parse_identifiers(studies["NCT01515527"]))
    grant = next(i for i in parse_identifiers(studies["NCT04092803"]) if i.scheme == "nih-grant")
    assert grant.value == "P30CA046934"
    assert grant.url == "https://reporter.nih.gov/quickSearch/P30CA046934"


def test_the_sponsor_id_comes_first(real_records: Path) -> None:
    study = _records(real_records, "studies.jsonl")["NCT02724163"]
    first = parse_identifiers(study)[0]
    org = study["protocolSection"]["identificationModule"]["orgStudyIdInfo"]["id"]
    assert (first.scheme, first.raw, first.source, first.url) == ("sponsor", org, "org_study_id", None)


def test_scheme_counts_on_the_real_records(real_records: Path) -> None:
    leukemia = list(_records(real_records, "studies.jsonl").values())
    others = list(_records(real_records, "other_studies.jsonl").values())
    counts = scheme_counts(leukemia + others)
    # Studies with at least one id of each scheme (registry/identifiers.py, measured on these records).
    assert counts["eu-ct"] == 71
    assert counts["eudract"] == 66
    assert counts["who-utn"] == 25
    assert counts["ctri"] == 8
    assert counts["jrct"] == 5
    assert counts["isrctn"] == 1
    assert counts["sponsor"] == 1430
    assert "chictr" not in counts


@pytest.mark.parametrize(
    ("raw", "kind", "domain", "scheme", "value"),
    [
        # EudraCT numbers under any type, with prefixes.
        ("EudraCT No: 2005-001678-28", None, None, "eudract", "2005-001678-28"),
        ("EudraCT-No.:2006-000284-28", None, None, "eudract", "2006-000284-28"),
        ("2019-001234-56", "REGISTRY", "EudraCT", "eudract", "2019-001234-56"),
        ("2019-001234-56", "OTHER", "Sponsor", "eudract", "2019-001234-56"),
        # EU CT numbers: sequence from 500000, with or without the suffix, even filed as EudraCT.
        ("2023-504721-39-02", "REGISTRY", "EU CTIS", "eu-ct", "2023-504721-39-02"),
        ("2022-503007-22", "EUDRACT_NUMBER", None, "eu-ct", "2022-503007-22"),
        ("2024-513423-16", "CTIS", None, "eu-ct", "2024-513423-16"),
        # Other registries.
        ("ChiCTR2000031234", "REGISTRY", "ChiCTR", "chictr", "ChiCTR2000031234"),
        ("chictr-ior-17013456", "OTHER", None, "chictr", "ChiCTR-IOR-17013456"),
        ("JRCT2031240476", "REGISTRY", "jRCT", "jrct", "jRCT2031240476"),
        ("jRCTs031180123", None, None, "jrct", "jRCTs031180123"),
        ("ISRCTN 12345678", None, None, "isrctn", "ISRCTN12345678"),
        ("10678756", "OTHER", "ISRCTN", "isrctn", "ISRCTN10678756"),
        ("U1111-1264-5412", "REGISTRY", "WHO", "who-utn", "U1111-1264-5412"),
        ("JapicCTI-184123", None, None, "japic-cti", "JapicCTI-184123"),
        ("UMIN000012345", None, None, "umin-ctr", "UMIN000012345"),
        ("CTRI/2019/11/021872", "REGISTRY", "CTRI", "ctri", "CTRI/2019/11/021872"),
        ("ACTRN12617000123456", None, None, "anzctr", "ACTRN12617000123456"),
        ("DRKS00012345", None, None, "drks", "DRKS00012345"),
        ("NCT01234567", "OTHER", "old record", "nct", "NCT01234567"),
        ("CDR0000365458", None, None, "nci-pdq", "CDR0000365458"),
        ("Chinadrugtrials", "OTHER", "CTR20231827", "chinadrugtrials", "CTR20231827"),
        # Grants.
        ("1R01 CA218657-01", "NIH", None, "nih-grant", "1R01CA218657-01"),
        ("K24 H001476", "NIH", None, "nih-grant", "K24 H001476"),
        ("701840", "OTHER_GRANT", "Canadian Cancer Society", "grant", "701840"),
        ("165663", "REGISTRY", "FDA-IND", "fda-ind", "165663"),
        # Nothing recognisable: kept as the record gives it.
        ("J2A-MC-GZPL", "OTHER", "Eli Lilly and Company", "other", "J2A-MC-GZPL"),
        ("2007-58-0015", None, None, "other", "2007-58-0015"),
        ("1999-123456-789", None, None, "other", "1999-123456-789"),
        ("18-1234567-12", None, None, "other", "18-1234567-12"),
    ],
)
def test_ids_are_typed_by_shape_then_type(
    raw: str, kind: str | None, domain: str | None, scheme: str, value: str
) -> None:
    found = recognise(raw, kind=kind, domain=domain)
    assert (found.scheme, found.value, found.raw) == (scheme, value, raw)


def test_links_for_known_registries() -> None:
    study = _study(
        {"id": "2023-510178-15", "type": "REGISTRY", "domain": "EU CT Number"},
        {"id": "ChiCTR2000031234", "type": "REGISTRY"},
        {"id": "ISRCTN12345678"},
        {"id": "NCT07654321", "type": "OTHER"},
        {"id": "U1111-1264-5412", "type": "REGISTRY"},
    )
    urls = {i.scheme: i.url for i in parse_identifiers(study)}
    # The CTIS page wants the full number: a dropped "-00" is restored in the link only.
    assert urls["eu-ct"] == "https://euclinicaltrials.eu/ctis-public/view/2023-510178-15-00"
    assert urls["chictr"] == "https://trialsearch.who.int/Trial2.aspx?TrialID=ChiCTR2000031234"
    assert urls["isrctn"] == "https://www.isrctn.com/ISRCTN12345678"
    assert urls["nct"] == "https://clinicaltrials.gov/study/NCT07654321"
    assert urls["who-utn"] is None  # a UTN is no registry record
    assert urls["sponsor"] is None


def test_a_record_link_is_kept_only_when_it_is_a_web_address() -> None:
    plain = recognise("R01CA122704", kind="NIH", link="https://reporter.nih.gov/quickSearch/R01CA122704")
    assert plain.url == "https://reporter.nih.gov/quickSearch/R01CA122704"
    hostile = recognise("X-1", kind="OTHER", link="javascript:alert(1)")
    assert hostile.url is None
    quoted = recognise("X-2", kind="OTHER", link='https://example.org/"><script>')
    assert quoted.url is None


def test_duplicates_and_the_trial_own_nct_id_are_dropped() -> None:
    study = _study(
        {"id": "2025-521098-14-00", "type": "CTIS"},
        {"id": "2025-521098-14-00", "type": "REGISTRY", "domain": "EU CT"},
        {"id": "NCT00000001", "type": "OTHER"},
        {"id": "  ", "type": "OTHER"},
        nct_id="NCT00000001",
    )
    assert _pairs(parse_identifiers(study)) == [("sponsor", "SPONSOR-01"), ("eu-ct", "2025-521098-14-00")]


def test_records_without_ids_or_of_another_shape_give_nothing() -> None:
    assert parse_identifiers({}) == []
    assert parse_identifiers({"protocolSection": []}) == []
    assert parse_identifiers(_study(org=None)) == []
    odd = {"protocolSection": {"identificationModule": {"secondaryIdInfos": [1, None, {"type": "OTHER"}]}}}
    assert parse_identifiers(odd) == []


def test_an_org_study_id_of_registry_shape_is_typed() -> None:
    study = _study(org="2019-001234-56")
    (only,) = parse_identifiers(study)
    assert (only.scheme, only.source, only.label) == ("eudract", "org_study_id", "EudraCT")


def test_other_ids_are_labelled_with_their_domain() -> None:
    found = recognise("J2A-MC-GZPL", kind="OTHER", domain="Eli Lilly and Company")
    assert found.label == "Eli Lilly and Company"
    assert found.to_dict()["domain"] == "Eli Lilly and Company"
    assert recognise("ABC", kind=None).label == "Other id"
