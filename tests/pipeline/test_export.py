"""Analyst exports read back as their users read them: pandas, DuckDB, pyarrow and openpyxl.

The mirror holds the two bundled registry days and one real record rewritten to carry Greek letters and
spreadsheet formulas in its title, acronym and sites.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select

import hemewatch.pipeline.export as export_module
from hemewatch.demo import demo_days
from hemewatch.pipeline.export import (
    TABLES,
    Column,
    ExportOptions,
    ExportTable,
    export_tables,
    record_date,
)
from hemewatch.pipeline.importing import import_files
from hemewatch.registry.identifiers import parse_identifiers
from hemewatch.registry.scope import load_scope
from hemewatch.storage.catalog import TrialQuery, search_trials
from hemewatch.storage.engine import open_database
from hemewatch.storage.tables import change_events, trial_tags, trial_therapies, trials
from hemewatch.storage.versions import load_current_study
from tests.cli.runner import cli_env, hemewatch

REPO = Path(__file__).resolve().parents[2]
SOURCE = "NCT05464836"  # a real T-ALL record of the first demo day
ODD_ID = "NCT99999902"
ODD_TITLE = '=HYPERLINK("http://example.invalid","γδ T cells") in T-ALL'
ODD_ACRONYM = "γδ-ALL"
ODD_FACILITY = "@SUM(1+1) Hôpital"
EVERYTHING = TrialQuery(limit=None)


def odd_record(folder: Path) -> Path:
    """A real record under a fresh id whose title and sites would run as formulas in a spreadsheet."""
    with gzip.open(demo_days()[0], "rt", encoding="utf-8") as handle:
        for line in handle:
            study = json.loads(line)
            protocol = study["protocolSection"]
            if protocol["identificationModule"]["nctId"] != SOURCE:
                continue
            protocol["identificationModule"].update(nctId=ODD_ID, briefTitle=ODD_TITLE, acronym=ODD_ACRONYM)
            protocol["contactsLocationsModule"]["locations"] = [
                {"facility": ODD_FACILITY, "city": "-2+3", "country": "France", "status": "RECRUITING"},
                {
                    "facility": "Hospital",
                    "city": "Lima",
                    "country": "Peru",
                    "geoPoint": {"lat": -12.04318, "lon": -77.02824},
                },
            ]
            path = folder / "odd.jsonl"
            path.write_text(json.dumps(study, ensure_ascii=False) + "\n", encoding="utf-8")
            return path
    raise AssertionError(f"{SOURCE} is not in the bundled demo data")


def add_odd_record(engine: Engine, folder: Path) -> None:
    """The odd record, as `hemewatch import` stores it, beside the demo days the database holds."""
    import_files(engine, [odd_record(folder)], scope=load_scope(), in_scope_only=True)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory, sqlite_demo_template: Path) -> Iterator[Engine]:
    """A SQLite mirror with both demo days and the odd record, built once for the module (read only)."""
    folder = tmp_path_factory.mktemp("export-mirror")
    shutil.copyfile(sqlite_demo_template, folder / "mirror.db")
    engine = open_database(f"sqlite:///{folder / 'mirror.db'}")
    add_odd_record(engine, folder)
    yield engine
    engine.dispose()


def export(engine: Engine, out: Path, format: Any, query: TrialQuery = EVERYTHING, **options: Any) -> Any:
    with engine.connect() as conn:
        return export_tables(conn, query, out, format, options=ExportOptions(**options))


def current_counts(engine: Engine) -> dict[str, int]:
    """What the database holds for the current versions of the trials in scope, counted apart."""
    with engine.connect() as conn:
        in_scope = select(trials.c.nct_id).where(trials.c.in_scope.is_(True))
        current = select(trials.c.current_version_id).where(trials.c.in_scope.is_(True))
        ids = list(conn.execute(in_scope).scalars())
        sites = identifiers = 0
        for nct_id in ids:
            study = load_current_study(conn, nct_id) or {}
            module = study["protocolSection"].get("contactsLocationsModule") or {}
            sites += len(module.get("locations") or [])
            identifiers += len(parse_identifiers(study))
        return {
            "trials": len(ids),
            "therapies": conn.execute(
                select(func.count()).where(trial_therapies.c.version_id.in_(current))
            ).scalar_one(),
            "tags": conn.execute(
                select(func.count()).where(trial_tags.c.version_id.in_(current), trial_tags.c.kind != "pair")
            ).scalar_one(),
            "events": conn.execute(
                select(func.count()).where(change_events.c.nct_id.in_(in_scope))
            ).scalar_one(),
            "sites": sites,
            "identifiers": identifiers,
        }


def test_parquet_tables_have_their_documented_types(mirror: Engine, tmp_path: Path) -> None:
    report = export(mirror, tmp_path / "out", "parquet")

    expected = current_counts(mirror)
    assert report.rows == expected
    assert expected["trials"] > 90 and all(expected.values())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{t.name}.parquet" for t in TABLES)
    for table in TABLES:
        schema = pq.read_schema(tmp_path / "out" / f"{table.name}.parquet")
        assert schema.names == list(table.names)
        assert schema.field(0).metadata[b"meaning"]
    trials_schema = pq.read_schema(tmp_path / "out" / "trials.parquet")
    assert trials_schema.field("phases").type == pa.list_(pa.string())
    assert trials_schema.field("start_date").type == pa.date32()
    assert trials_schema.field("enrollment").type == pa.int64()
    assert trials_schema.field("in_scope").type == pa.bool_()
    events_schema = pq.read_schema(tmp_path / "out" / "events.parquet")
    assert events_schema.field("detected_at").type == pa.timestamp("us", tz="UTC")

    frame = pd.read_parquet(tmp_path / "out" / "trials.parquet")
    assert len(frame) == expected["trials"] and frame["nct_id"].is_unique
    assert list(frame["nct_id"]) == sorted(frame["nct_id"])
    assert str(frame["enrollment"].dtype) == "int64"
    assert frame["in_scope"].dtype == bool and frame["in_scope"].all()
    odd = frame.set_index("nct_id").loc[ODD_ID]
    assert odd["title"] == ODD_TITLE  # Parquet keeps text as written: nothing runs it
    assert odd["acronym"] == ODD_ACRONYM
    assert "T-ALL" in list(odd["diseases"])
    assert odd["url"] == f"https://clinicaltrials.gov/study/{ODD_ID}"
    multi = frame[frame["phases"].map(len) > 1]
    assert not multi.empty and all(p.startswith("PHASE") for p in multi.iloc[0]["phases"])
    starts = frame["start_date"].dropna()
    assert len(starts) > 80 and all(isinstance(d, dt.date) for d in starts)

    sites = pd.read_parquet(tmp_path / "out" / "sites.parquet")
    lima = sites[(sites["nct_id"] == ODD_ID) & (sites["city"] == "Lima")].iloc[0]
    assert (lima["latitude"], lima["longitude"]) == (-12.04318, -77.02824)
    assert sites[sites["nct_id"] == ODD_ID]["facility"].tolist() == [ODD_FACILITY, "Hospital"]

    events = pd.read_parquet(tmp_path / "out" / "events.parquet")
    assert events["id"].is_unique and str(events["detected_at"].dt.tz) == "UTC"
    assert events["before"].dropna().map(json.loads).map(type).isin([dict, list, str, int, float]).all()


def one(sql: str) -> tuple[Any, ...] | None:
    """The first row of a DuckDB query."""
    with duckdb.connect() as db:
        return db.execute(sql).fetchone()


def test_duckdb_reads_and_joins_the_parquet_tables(mirror: Engine, tmp_path: Path) -> None:
    report = export(mirror, tmp_path / "out", "parquet")
    folder = tmp_path / "out"

    types = one(
        "SELECT typeof(phases), typeof(start_date), typeof(enrollment), typeof(in_scope)"
        f" FROM read_parquet('{folder}/trials.parquet') LIMIT 1"
    )
    assert types == ("VARCHAR[]", "DATE", "BIGINT", "BOOLEAN")
    joined = one(
        f"SELECT count(*) FROM read_parquet('{folder}/therapies.parquet') AS t"
        f" JOIN read_parquet('{folder}/trials.parquet') AS r USING (nct_id)"
    )
    assert joined == (report.rows["therapies"],)
    # A list column answers list questions: the CD19 trials by the target list, and by the tags table.
    by_list = one(
        f"SELECT count(*) FROM read_parquet('{folder}/trials.parquet') WHERE list_contains(targets, 'CD19')"
    )
    by_tags = one(
        f"SELECT count(DISTINCT nct_id) FROM read_parquet('{folder}/tags.parquet')"
        " WHERE kind = 'target' AND value = 'CD19'"
    )
    assert by_list is not None and by_list[0] > 0 and by_list == by_tags


def test_filters_choose_the_trials_the_search_finds(mirror: Engine, tmp_path: Path) -> None:
    query = TrialQuery(disease=("B-ALL",), modality=("CAR-T",), target=("CD19",), limit=None)
    export(mirror, tmp_path / "cd19.zip", "parquet", query)

    with mirror.connect() as conn:
        wanted = {row.nct_id for row in search_trials(conn, query)}
    assert wanted
    with zipfile.ZipFile(tmp_path / "cd19.zip") as bundle:
        assert bundle.namelist() == [f"{t.name}.parquet" for t in TABLES]
        bundle.extractall(tmp_path / "cd19")
    found = {t.name: pd.read_parquet(tmp_path / "cd19" / f"{t.name}.parquet") for t in TABLES}
    assert set(found["trials"]["nct_id"]) == wanted
    for name in ("therapies", "tags", "events", "sites"):
        assert set(found[name]["nct_id"]) <= wanted, name
    # A target and a modality together ask for one therapy with both.
    paired = found["therapies"][found["therapies"]["modality"] == "CAR-T"]
    assert set(paired[paired["targets"].map(lambda t: "CD19" in list(t))]["nct_id"]) == wanted


def test_events_since_a_date(mirror: Engine, tmp_path: Path) -> None:
    every = export(mirror, tmp_path / "all", "parquet").rows["events"]
    dates = pd.read_parquet(tmp_path / "all" / "events.parquet")["occurred_on"].dropna()
    cut = sorted(dates)[len(dates) // 2]
    later = export(mirror, tmp_path / "later", "parquet", since=cut)

    events = pd.read_parquet(tmp_path / "later" / "events.parquet")
    assert 0 < later.rows["events"] < every
    assert len(events) == sum(1 for d in dates if d >= cut)
    assert (events["occurred_on"] >= cut).all()
    assert later.rows["trials"] == pd.read_parquet(tmp_path / "all" / "trials.parquet").shape[0]


def test_csv_is_excel_friendly_and_typed_for_readers(mirror: Engine, tmp_path: Path) -> None:
    report = export(mirror, tmp_path / "tables.zip", "csv")

    with zipfile.ZipFile(tmp_path / "tables.zip") as bundle:
        assert bundle.namelist() == [f"{t.name}.csv" for t in TABLES]
        raw = bundle.read("trials.csv")
        bundle.extractall(tmp_path / "csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    trials_csv = pd.read_csv(tmp_path / "csv" / "trials.csv", encoding="utf-8-sig")
    assert list(trials_csv.columns) == list(TABLES[0].names)
    assert len(trials_csv) == report.rows["trials"]
    odd = trials_csv.set_index("nct_id").loc[ODD_ID]
    assert odd["title"] == "'" + ODD_TITLE  # defused: a spreadsheet shows it, never runs it
    assert odd["acronym"] == ODD_ACRONYM
    assert trials_csv["in_scope"].dtype == bool
    multi = trials_csv["phases"].dropna()
    assert any(re.fullmatch(r"PHASE\d; PHASE\d", p) for p in multi)
    sites_csv = pd.read_csv(tmp_path / "csv" / "sites.csv", encoding="utf-8-sig")
    odd_sites = sites_csv[sites_csv["nct_id"] == ODD_ID]
    assert odd_sites["facility"].tolist() == ["'" + ODD_FACILITY, "Hospital"]
    assert odd_sites["city"].tolist() == ["'-2+3", "Lima"]
    # Numbers stay numbers: a negative longitude is not defused into text.
    assert odd_sites["longitude"].tolist()[1] == -77.02824

    types = one(
        "SELECT typeof(start_date), typeof(enrollment), typeof(in_scope)"
        f" FROM read_csv('{tmp_path}/csv/trials.csv') LIMIT 1"
    )
    assert types == ("DATE", "BIGINT", "BOOLEAN")
    longitude = one(
        f"SELECT any_value(typeof(longitude)), min(longitude) FROM read_csv('{tmp_path}/csv/sites.csv')"
    )
    assert longitude is not None and longitude[0] == "DOUBLE" and longitude[1] < 0
    greek = one(f"SELECT acronym FROM read_csv('{tmp_path}/csv/trials.csv') WHERE nct_id = '{ODD_ID}'")
    assert greek == (ODD_ACRONYM,)


def test_excel_workbook_has_typed_cells_and_no_formulas(mirror: Engine, tmp_path: Path) -> None:
    report = export(mirror, tmp_path / "trials.xlsx", "xlsx")

    book = openpyxl.load_workbook(tmp_path / "trials.xlsx")
    assert book.sheetnames == [t.name for t in TABLES]
    for table in TABLES:
        sheet = book[table.name]
        header = next(sheet.iter_rows(max_row=1))
        assert [c.value for c in header] == list(table.names)
        assert all(c.font.bold for c in header)
        assert sheet.freeze_panes == "A2"
        assert sheet.max_row == report.rows[table.name] + 1
    sheet = book["trials"]
    names = [c.value for c in next(sheet.iter_rows(max_row=1))]
    rows = {row[0].value: dict(zip(names, row, strict=True)) for row in sheet.iter_rows(min_row=2)}
    odd = rows[ODD_ID]
    assert odd["title"].value == ODD_TITLE and odd["title"].data_type == "s"  # text, not a formula
    assert odd["acronym"].value == ODD_ACRONYM
    assert odd["in_scope"].value is True and odd["in_scope"].data_type == "b"
    assert isinstance(odd["enrollment"].value, int)
    assert odd["start_date"].is_date
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    sites = book["sites"]
    assert ODD_FACILITY in [c.value for c in next(sites.iter_cols(min_col=3, max_col=3))]

    frames = pd.read_excel(tmp_path / "trials.xlsx", sheet_name=None)
    assert {name: len(frame) for name, frame in frames.items()} == report.rows
    assert str(frames["trials"]["start_date"].dtype).startswith("datetime64")
    assert frames["trials"]["in_scope"].dtype == bool
    assert str(frames["events"]["detected_at"].dtype).startswith("datetime64")


def test_tables_are_read_a_slice_of_trials_at_a_time(
    mirror: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slices: list[int] = []
    first = TABLES[0]

    def spied(conn: Any, nct_ids: Any, options: ExportOptions) -> Any:
        slices.append(len(nct_ids))
        return first.rows(conn, nct_ids, options)

    monkeypatch.setattr(export_module, "SLICE", 10)
    monkeypatch.setattr(export_module, "ROW_GROUP_ROWS", 100)
    spy = ExportTable(first.name, first.meaning, first.columns, spied)
    export(mirror, tmp_path / "whole", "parquet")
    with mirror.connect() as conn:
        export_tables(conn, EVERYTHING, tmp_path / "sliced", "parquet", tables=(spy, *TABLES[1:]))

    total = pd.read_parquet(tmp_path / "whole" / "trials.parquet").shape[0]
    assert max(slices) == 10 and sum(slices) == total
    assert pq.ParquetFile(tmp_path / "sliced" / "tags.parquet").num_row_groups > 1
    for table in TABLES:
        whole = pd.read_parquet(tmp_path / "whole" / f"{table.name}.parquet")
        sliced = pd.read_parquet(tmp_path / "sliced" / f"{table.name}.parquet")
        pd.testing.assert_frame_equal(whole, sliced)


def test_a_new_table_is_one_more_entry(mirror: Engine, tmp_path: Path) -> None:
    def ids(conn: Any, nct_ids: Any, options: ExportOptions) -> Any:
        return ({"nct_id": n, "registry": "EudraCT", "number": 7} for n in nct_ids)

    extra = ExportTable(
        "grants",
        "Secondary ids.",
        (
            Column("nct_id", "string", "The trial."),
            Column("registry", "string", "Registry."),
            Column("number", "int", "Number."),
        ),
        ids,
    )
    tables = (*TABLES, extra)
    with mirror.connect() as conn:
        export_tables(conn, EVERYTHING, tmp_path / "p", "parquet", tables=tables)
        export_tables(conn, EVERYTHING, tmp_path / "c", "csv", tables=tables)
        export_tables(conn, EVERYTHING, tmp_path / "x.xlsx", "xlsx", tables=tables)
    parquet = pd.read_parquet(tmp_path / "p" / "grants.parquet")
    as_csv = pd.read_csv(tmp_path / "c" / "grants.csv", encoding="utf-8-sig")
    sheet = pd.read_excel(tmp_path / "x.xlsx", sheet_name="grants")
    for frame in (parquet, as_csv, sheet):
        assert list(frame.columns) == ["nct_id", "registry", "number"]
        assert len(frame) > 90 and (frame["number"] == 7).all()


def test_identifiers_are_the_records_other_ids(mirror: Engine, tmp_path: Path) -> None:
    export(mirror, tmp_path / "out", "parquet")
    found = duckdb.sql(
        f"select nct_id, scheme, value, registry, url from '{tmp_path / 'out' / 'identifiers.parquet'}'"
    ).fetchall()
    with mirror.connect() as conn:
        expected = sorted(
            (nct_id, i.scheme, i.value, i.is_registry, i.url)
            for nct_id in conn.execute(select(trials.c.nct_id).where(trials.c.in_scope.is_(True))).scalars()
            for i in parse_identifiers(load_current_study(conn, nct_id) or {})
        )
    assert sorted(found) == expected
    # Every record names at least its sponsor's protocol number; registry ids link to their registry.
    assert len({row[0] for row in found}) == current_counts(mirror)["trials"] > 90
    assert all(row[4] for row in found if row[3] and row[1] in ("eudract", "eu-ct"))


def test_empty_result_still_writes_every_table(mirror: Engine, tmp_path: Path) -> None:
    nothing = TrialQuery(sponsor="no sponsor has this name", limit=None)
    report = export(mirror, tmp_path / "none", "parquet", nothing)
    export(mirror, tmp_path / "none.xlsx", "xlsx", nothing)

    assert report.trials == 0 and set(report.rows.values()) == {0}
    frame = pd.read_parquet(tmp_path / "none" / "trials.parquet")
    assert frame.empty and list(frame.columns) == list(TABLES[0].names)
    assert openpyxl.load_workbook(tmp_path / "none.xlsx")["trials"].max_row == 1


def test_month_dates_are_read_as_their_first_day() -> None:
    assert record_date("2024-05") == dt.date(2024, 5, 1)
    assert record_date("2024-05-17") == dt.date(2024, 5, 17)
    assert record_date("2024") == dt.date(2024, 1, 1)
    assert record_date("2024-13") is None
    assert record_date(None) is None


def _documented() -> dict[str, list[tuple[str, str]]]:
    text = (REPO / "docs" / "exports.md").read_text("utf-8")
    tables: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in text.splitlines():
        heading = re.fullmatch(r"### (\w+)", line)
        if heading:
            current = tables.setdefault(heading.group(1), [])
        row = re.fullmatch(r"\| `(\w+)` \| (\w+) \| .+ \|", line)
        if row and current is not None:
            current.append((row.group(1), row.group(2)))
    return tables


def test_docs_list_every_column_of_every_table() -> None:
    documented = _documented()
    assert documented == {t.name: [(c.name, c.kind) for c in t.columns] for t in TABLES}


@pytest.mark.postgres
def test_postgresql_exports_what_sqlite_exports(
    mirror: Engine, demo_postgres_url: str, tmp_path: Path
) -> None:
    engine = open_database(demo_postgres_url)
    try:
        add_odd_record(engine, tmp_path)
        export(engine, tmp_path / "pg.zip", "parquet", TrialQuery(status=("RECRUITING",), limit=None))
    finally:
        engine.dispose()
    export(mirror, tmp_path / "lite.zip", "parquet", TrialQuery(status=("RECRUITING",), limit=None))

    for name in ("pg", "lite"):
        with zipfile.ZipFile(tmp_path / f"{name}.zip") as bundle:
            bundle.extractall(tmp_path / name)
    for table in TABLES:
        pg = pd.read_parquet(tmp_path / "pg" / f"{table.name}.parquet")
        lite = pd.read_parquet(tmp_path / "lite" / f"{table.name}.parquet")
        assert not pg.empty, table.name
        if table.name == "events":  # ids and detection times are the database's own
            pg, lite = (f.drop(columns=["id", "detected_at"]) for f in (pg, lite))
            pg, lite = (f.sort_values(list(f.columns[:5])).reset_index(drop=True) for f in (pg, lite))
        pd.testing.assert_frame_equal(pg, lite, obj=table.name)


def test_the_command_writes_the_tables_with_the_search_filters(mirror: Engine, tmp_path: Path) -> None:
    env = cli_env(tmp_path, mirror.url.render_as_string(hide_password=False))
    done = hemewatch(
        "export", "--format", "xlsx", "--disease", "aml", "--status", "recruiting", "--json",
        str(tmp_path / "aml.xlsx"), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    with mirror.connect() as conn:
        query = TrialQuery(disease=("AML",), status=("RECRUITING",), limit=None)
        wanted = sorted(row.nct_id for row in search_trials(conn, query))
    sheet = pd.read_excel(tmp_path / "aml.xlsx", sheet_name="trials")
    assert summary["trials"] == len(wanted) > 0
    assert sorted(sheet["nct_id"]) == wanted

    done = hemewatch("export", "--format", "csv", str(tmp_path / "csv"), "--nct", ODD_ID.lower(), env=env)
    assert done.returncode == 0, done.stderr
    assert "exported 1 trials" in done.stdout
    assert pd.read_csv(tmp_path / "csv" / "trials.csv", encoding="utf-8-sig")["nct_id"].tolist() == [ODD_ID]

    refused = hemewatch("export", "--format", "xlsx", str(tmp_path / "x.zip"), env=env)
    assert refused.returncode == 2 and ".xlsx" in refused.stderr
    bad_date = hemewatch("export", str(tmp_path / "p"), "--since", "last week", env=env)
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    unknown = hemewatch("export", str(tmp_path / "p"), "--disease", "flu", env=env)
    assert unknown.returncode != 0 and not (tmp_path / "p").exists()
