"""Analyst exports: tidy tables of the matching trials as Parquet, CSV or an Excel workbook.

Each table is one `ExportTable` in `TABLES`: its columns (name, type, meaning: docs/exports.md lists
them) and a function giving its rows for one slice of NCT ids. Writers read the tables a slice at a
time and write as they go (Parquet row groups, CSV lines, write-only worksheets), so an export of the
whole mirror never holds a whole table in memory. pyarrow and openpyxl are imported when used.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, Final, Literal, Protocol

import orjson
from sqlalchemy.engine import Connection

from hemewatch.errors import HemewatchError
from hemewatch.pipeline.progress import Progress, SilentProgress
from hemewatch.registry.identifiers import parse_identifiers
from hemewatch.registry.records import registry_study_url
from hemewatch.storage.catalog import TrialQuery
from hemewatch.storage.export import SLICE as EXPORT_SLICE
from hemewatch.storage.export import (
    event_rows,
    id_slices,
    matching_nct_ids,
    tag_rows,
    therapy_rows,
    trial_records,
)

ExportFormat = Literal["parquet", "csv", "xlsx"]
FORMATS: Final[tuple[ExportFormat, ...]] = ("parquet", "csv", "xlsx")
# Column types: how each is written is in `_ARROW_TYPES`, `_csv_text` and `_xlsx_value`.
Kind = Literal["string", "int", "float", "bool", "date", "timestamp", "list", "json"]
KINDS: Final[tuple[Kind, ...]] = ("string", "int", "float", "bool", "date", "timestamp", "list", "json")
LIST_SEPARATOR: Final = "; "
ROW_GROUP_ROWS = 10_000  # rows per Parquet row group
# Trials read per query: each table is read and written this many trials at a time.
SLICE = EXPORT_SLICE
XLSX_MAX_ROWS: Final = 1_048_576
XLSX_MAX_TEXT: Final = 32_767
# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


class ExportTooLarge(HemewatchError):
    """A table has more rows than an Excel sheet holds: export it as Parquet or CSV."""


@dataclass(frozen=True)
class ExportOptions:
    """What else shapes an export besides the trial filters."""

    since: date | None = None  # events posted on or after this date only


@dataclass(frozen=True)
class Column:
    """One column of an export table."""

    name: str
    kind: Kind
    meaning: str


RowSource = Callable[[Connection, Sequence[str], ExportOptions], Iterable[dict[str, Any]]]


@dataclass(frozen=True)
class ExportTable:
    """One table of an export: its name (file or sheet), columns, and rows for a slice of trials."""

    name: str
    meaning: str
    columns: tuple[Column, ...]
    rows: RowSource

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(c.name for c in self.columns)


# --- Values read from the stored rows and records ---


def record_date(text: object) -> date | None:
    """A registry date ("2024-05-17", "2024-05" or "2024") as a date; a month alone is its first day."""
    if not isinstance(text, str):
        return None
    try:
        year, month, day = [*(int(part) for part in text.strip()[:10].split("-")), 1, 1][:3]
        return date(year, month, day)
    except ValueError:
        return None


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _evidence(value: object) -> tuple[str | None, str | None, str]:
    items = [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []
    first = items[0] if items else {}
    path, text = first.get("path"), first.get("text")
    return (
        str(path) if path is not None else None,
        str(text) if text is not None else None,
        orjson.dumps(items, option=orjson.OPT_SORT_KEYS).decode(),
    )


def _section(study: dict[str, Any], *names: str) -> dict[str, Any]:
    found: Any = study.get("protocolSection") or {}
    for name in names:
        found = found.get(name) if isinstance(found, dict) else None
    return found if isinstance(found, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json(value: Any) -> str | None:
    # Keys sorted: the same text from SQLite's JSON and PostgreSQL's JSONB.
    return None if value is None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


# --- The tables ---


def _trial_rows(conn: Connection, nct_ids: Sequence[str], options: ExportOptions) -> Iterator[dict[str, Any]]:
    for row, study in trial_records(conn, nct_ids):
        labels = row.labels
        status = _section(study, "statusModule")
        yield {
            "nct_id": row.nct_id,
            "title": row.brief_title,
            "acronym": _text(_section(study, "identificationModule").get("acronym")),
            "status": row.overall_status,
            "phases": row.phases,
            "study_type": row.study_type,
            "primary_purpose": _text(_section(study, "designModule", "designInfo").get("primaryPurpose")),
            "start_date": record_date(row.start_date),
            "primary_completion_date": record_date(row.primary_completion_date),
            "completion_date": record_date((status.get("completionDateStruct") or {}).get("date")),
            "enrollment": row.enrollment,
            "lead_sponsor": row.lead_sponsor,
            "countries": row.countries,
            "diseases": _strings(labels.get("diseases")),
            "modalities": _strings(labels.get("modalities")),
            "targets": _strings(labels.get("targets")),
            "settings": _strings(labels.get("settings")),
            "populations": _strings(labels.get("populations")),
            "agents": _strings(labels.get("agents")),
            "acute_leukemia": labels.get("acute_leukemia"),
            "immunotherapy": labels.get("immunotherapy"),
            "in_scope": bool(row.in_scope),
            "has_results": row.has_results,
            "last_update": row.last_update_post_date,
            "url": registry_study_url(row.nct_id),
        }


def _therapy_rows(
    conn: Connection, nct_ids: Sequence[str], options: ExportOptions
) -> Iterator[dict[str, Any]]:
    for row in therapy_rows(conn, nct_ids):
        evidence_field, evidence_text, evidence = _evidence(row.evidence)
        yield {
            "nct_id": row.nct_id,
            "position": row.position,
            "name": row.name,
            "agent": row.agent,
            "modality": row.modality,
            "drug_class": row.drug_class,
            "targets": _strings(row.targets),
            "role": row.role,
            "unresolved": bool(row.unresolved),
            "evidence_field": evidence_field,
            "evidence_text": evidence_text,
            "evidence": evidence,
        }


def _tag_rows(conn: Connection, nct_ids: Sequence[str], options: ExportOptions) -> Iterator[dict[str, Any]]:
    for row in tag_rows(conn, nct_ids):
        evidence_field, evidence_text, evidence = _evidence(row.evidence)
        yield {
            "nct_id": row.nct_id,
            "kind": row.kind,
            "value": row.value,
            "evidence_field": evidence_field,
            "evidence_text": evidence_text,
            "evidence": evidence,
        }


def _event_rows(conn: Connection, nct_ids: Sequence[str], options: ExportOptions) -> Iterator[dict[str, Any]]:
    for row in event_rows(conn, nct_ids, since=options.since):
        yield {
            "id": row.id,
            "nct_id": row.nct_id,
            "type": row.type,
            "severity": row.severity,
            "alertable": bool(row.alertable),
            "field": row.path,
            "occurred_on": row.registry_date,
            "detected_at": _utc(row.detected_at),
            "summary": row.summary,
            "before": _json(row.before),
            "after": _json(row.after),
        }


def _site_rows(conn: Connection, nct_ids: Sequence[str], options: ExportOptions) -> Iterator[dict[str, Any]]:
    for row, study in trial_records(conn, nct_ids):
        locations = _section(study, "contactsLocationsModule").get("locations")
        for position, site in enumerate(locations if isinstance(locations, list) else []):
            if not isinstance(site, dict):
                continue
            geo = site.get("geoPoint")
            point: dict[str, Any] = geo if isinstance(geo, dict) else {}
            yield {
                "nct_id": row.nct_id,
                "position": position,
                "facility": _text(site.get("facility")),
                "city": _text(site.get("city")),
                "state": _text(site.get("state")),
                "zip": _text(site.get("zip")),
                "country": _text(site.get("country")),
                "status": _text(site.get("status")),
                "latitude": _number(point.get("lat")),
                "longitude": _number(point.get("lon")),
            }


def _identifier_rows(
    conn: Connection, nct_ids: Sequence[str], options: ExportOptions
) -> Iterator[dict[str, Any]]:
    for row, study in trial_records(conn, nct_ids):
        for identifier in parse_identifiers(study):
            yield {
                "nct_id": row.nct_id,
                "scheme": identifier.scheme,
                "value": identifier.value,
                "label": identifier.label,
                "registry": identifier.is_registry,
                "url": identifier.url,
                "as_written": identifier.raw,
            }


_EVIDENCE: Final = (
    Column("evidence_field", "string", "The record field of the first evidence, e.g. protocolSection…"),
    Column("evidence_text", "string", "The text matched there."),
    Column("evidence", "json", 'Every evidence: [{"path": …, "text": …}, …].'),
)

TRIALS = ExportTable(
    "trials",
    "One row per trial: its current version's record fields and headline labels.",
    (
        Column("nct_id", "string", "ClinicalTrials.gov identifier."),
        Column("title", "string", "Brief title."),
        Column("acronym", "string", "The record's acronym."),
        Column("status", "string", "Overall status: RECRUITING, COMPLETED, …"),
        Column("phases", "list", "PHASE1, PHASE2, … (a phase 1/2 trial has two)."),
        Column("study_type", "string", "INTERVENTIONAL, OBSERVATIONAL or EXPANDED_ACCESS."),
        Column("primary_purpose", "string", "TREATMENT, SUPPORTIVE_CARE, PREVENTION, …"),
        Column("start_date", "date", "Start date (a month alone is read as its first day)."),
        Column("primary_completion_date", "date", "Primary completion date (likewise)."),
        Column("completion_date", "date", "Completion date (likewise)."),
        Column("enrollment", "int", "Enrollment, actual or anticipated."),
        Column("lead_sponsor", "string", "Lead sponsor."),
        Column("countries", "list", "Countries with at least one site."),
        Column("diseases", "list", "Disease tags."),
        Column("modalities", "list", "Modality tags of the studied therapies."),
        Column("targets", "list", "Target antigens of the studied therapies."),
        Column("settings", "list", "Settings: relapsed/refractory, newly diagnosed, …"),
        Column("populations", "list", "Populations: pediatric, AYA, adult, older adult."),
        Column("agents", "list", "Canonical agent names of the studied therapies."),
        Column("acute_leukemia", "bool", "Classified as an acute leukemia trial."),
        Column("immunotherapy", "bool", "Classified as an immunotherapy trial."),
        Column("in_scope", "bool", "Inside the watch scope."),
        Column("has_results", "bool", "Results are posted on ClinicalTrials.gov."),
        Column("last_update", "date", "The registry's last update post date."),
        Column("url", "string", "The record on ClinicalTrials.gov."),
    ),
    _trial_rows,
)

THERAPIES = ExportTable(
    "therapies",
    "One row per trial and therapy: each intervention as agent, modality and targets, with its role.",
    (
        Column("nct_id", "string", "The trial."),
        Column("position", "int", "Order of the therapy in the trial (from 0)."),
        Column("name", "string", "The intervention as the record writes it."),
        Column("agent", "string", "Canonical agent; empty when no lexicon names the product."),
        Column("modality", "string", "CAR-T, T-cell engager, antibody-drug conjugate, …"),
        Column("drug_class", "string", "Drug class, e.g. purine analogue."),
        Column("targets", "list", "Target antigens or molecules, e.g. CD19."),
        Column(
            "role",
            "string",
            "investigational, comparator, backbone, lymphodepletion, conditioning or supportive.",
        ),
        Column("unresolved", "bool", "A product no lexicon names."),
        *_EVIDENCE,
    ),
    _therapy_rows,
)

TAGS = ExportTable(
    "tags",
    "One row per trial, tag kind and value, with the evidence for it.",
    (
        Column("nct_id", "string", "The trial."),
        Column("kind", "string", "disease, agent, modality, target, setting or population."),
        Column("value", "string", "The tag, e.g. B-ALL, CD19, CAR-T."),
        *_EVIDENCE,
    ),
    _tag_rows,
)

EVENTS = ExportTable(
    "events",
    "One row per change event between consecutive versions of a trial.",
    (
        Column("id", "int", "Event id (the order events were detected in)."),
        Column("nct_id", "string", "The trial."),
        Column("type", "string", "Event type, e.g. status_changed, site_added."),
        Column("severity", "string", "critical, notable, minor or administrative."),
        Column("alertable", "bool", "Trackers are told of it (administrative churn is not)."),
        Column("field", "string", "The record field that changed."),
        Column("occurred_on", "date", "The registry's post date of the version that made the change."),
        Column("detected_at", "timestamp", "When the mirror found it (UTC)."),
        Column("summary", "string", "One line saying what changed."),
        Column("before", "json", "The value before, as JSON."),
        Column("after", "json", "The value after, as JSON."),
    ),
    _event_rows,
)

SITES = ExportTable(
    "sites",
    "One row per trial and site, in the record's order.",
    (
        Column("nct_id", "string", "The trial."),
        Column("position", "int", "Order of the site in the record (from 0)."),
        Column("facility", "string", "Facility name."),
        Column("city", "string", "City."),
        Column("state", "string", "State or region."),
        Column("zip", "string", "Postal code."),
        Column("country", "string", "Country."),
        Column("status", "string", "The site's recruitment status: RECRUITING, …"),
        Column("latitude", "float", "Latitude, when the record gives one."),
        Column("longitude", "float", "Longitude, when the record gives one."),
    ),
    _site_rows,
)

IDENTIFIERS = ExportTable(
    "identifiers",
    "One row per trial and other id: the sponsor's protocol number and the record's secondary ids.",
    (
        Column("nct_id", "string", "The trial."),
        Column(
            "scheme",
            "string",
            "eudract, eu-ct, isrctn, chictr, jrct, who-utn, sponsor, nih-grant, … (docs/registries.md).",
        ),
        Column("value", "string", "The id in its usual form, e.g. 2019-001234-56."),
        Column("label", "string", "The scheme's name, e.g. EudraCT."),
        Column("registry", "bool", "An id of the trial in another registry (not a grant or sponsor number)."),
        Column("url", "string", "The trial in that registry, when a link is known."),
        Column("as_written", "string", "The id as the record writes it."),
    ),
    _identifier_rows,
)

# Every table of an export, in file and sheet order: a new table is one more entry.
TABLES: Final[tuple[ExportTable, ...]] = (TRIALS, THERAPIES, TAGS, EVENTS, SITES, IDENTIFIERS)


# --- Cell values for each format ---


def spreadsheet_text(value: Any) -> str:
    """A CSV cell: lists joined with "; ", nothing as "", a formula-like start defused with a quote."""
    if value is None:
        return ""
    text = LIST_SEPARATOR.join(str(v) for v in value) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_text(kind: Kind, value: Any) -> str:
    if value is None:
        return ""
    if kind == "bool":
        return "true" if value else "false"
    if kind in ("date", "timestamp"):
        return str(value.isoformat())
    if kind in ("int", "float"):
        return str(value)
    return spreadsheet_text(value)


_ILLEGAL_XML: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_value(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind == "timestamp":
        return value.astimezone(UTC).replace(tzinfo=None)
    if kind in ("int", "float", "bool", "date"):
        return value
    text = LIST_SEPARATOR.join(str(v) for v in value) if kind == "list" else str(value)
    return _ILLEGAL_XML.sub("", text)[:XLSX_MAX_TEXT]


_ARROW_TYPES: Final[dict[Kind, Callable[[Any], Any]]] = {
    "string": lambda pa: pa.string(),
    "int": lambda pa: pa.int64(),
    "float": lambda pa: pa.float64(),
    "bool": lambda pa: pa.bool_(),
    "date": lambda pa: pa.date32(),
    "timestamp": lambda pa: pa.timestamp("us", tz="UTC"),
    "list": lambda pa: pa.list_(pa.string()),
    "json": lambda pa: pa.string(),
}


def arrow_schema(table: ExportTable) -> Any:
    """The table's pyarrow schema, each column documented in its field metadata."""
    import pyarrow as pa  # type: ignore[import-untyped]

    return pa.schema(
        [pa.field(c.name, _ARROW_TYPES[c.kind](pa), metadata={"meaning": c.meaning}) for c in table.columns],
        metadata={"table": table.name, "meaning": table.meaning},
    )


# --- Writers: one sink per table ---


class _Sink(Protocol):
    def write(self, rows: list[dict[str, Any]]) -> None: ...

    def close(self) -> None: ...


class _ParquetSink:
    def __init__(self, path: Path, table: ExportTable) -> None:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        self._schema = arrow_schema(table)
        self._writer = pq.ParquetWriter(str(path), self._schema, compression="zstd")
        self._pending: list[dict[str, Any]] = []

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._pending.extend(rows)
        if len(self._pending) >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._pending:
            self._writer.write_table(pa.Table.from_pylist(self._pending, schema=self._schema))
            self._pending = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


class _CsvSink:
    def __init__(self, path: Path, table: ExportTable) -> None:
        # UTF-8 with a byte-order mark: Excel then reads "γδ" as written.
        self._file: IO[str] = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file)
        self._kinds = [c.kind for c in table.columns]
        self._names = table.names
        self._writer.writerow(self._names)

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._writer.writerows(
            [_csv_text(kind, row.get(name)) for kind, name in zip(self._kinds, self._names, strict=True)]
            for row in rows
        )

    def close(self) -> None:
        self._file.close()


class _SheetSink:
    def __init__(self, workbook: Any, table: ExportTable) -> None:
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
        from openpyxl.styles import Font  # type: ignore[import-untyped]

        self._sheet = workbook.create_sheet(table.name)
        self._sheet.freeze_panes = "A2"
        self._cell = WriteOnlyCell
        self._name = table.name
        self._kinds = [c.kind for c in table.columns]
        self._names = table.names
        bold = Font(bold=True)
        header = []
        for name in self._names:
            cell = WriteOnlyCell(self._sheet, value=name)
            cell.font = bold
            header.append(cell)
        self._sheet.append(header)
        self._rows = 1

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._rows += len(rows)
        if self._rows > XLSX_MAX_ROWS:
            raise ExportTooLarge(
                f"the {self._name} table has more than {XLSX_MAX_ROWS - 1:,} rows, more than an Excel"
                " sheet holds: export it as Parquet or CSV, or narrow the filters"
            )
        for row in rows:
            cells: list[Any] = []
            for kind, name in zip(self._kinds, self._names, strict=True):
                value = _xlsx_value(kind, row.get(name))
                if isinstance(value, str) and value.startswith("="):
                    # Stored as text, never as a formula, whatever it says.
                    cell = self._cell(self._sheet, value=value)
                    cell.data_type = "s"
                    value = cell
                cells.append(value)
            self._sheet.append(cells)

    def close(self) -> None:
        """The workbook is saved once, when every sheet is written."""


# --- Running an export ---


@dataclass
class ExportReport:
    """What an export wrote: the trials it covers, each table's rows, and the files."""

    trials: int
    rows: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"trials": self.trials, "rows": self.rows, "files": [str(p) for p in self.files]}


def _fill(
    conn: Connection,
    table: ExportTable,
    sink: _Sink,
    nct_ids: Sequence[str],
    options: ExportOptions,
    progress: Progress,
) -> int:
    progress.start(table.name, total=len(nct_ids))
    count = 0
    for chunk in id_slices(nct_ids, SLICE):
        rows = list(table.rows(conn, chunk, options))
        sink.write(rows)
        count += len(rows)
        progress.advance(len(chunk))
    return count


def _write_files(
    conn: Connection,
    folder: Path,
    format: Literal["parquet", "csv"],
    tables: Sequence[ExportTable],
    nct_ids: Sequence[str],
    options: ExportOptions,
    progress: Progress,
    report: ExportReport,
) -> list[Path]:
    written: list[Path] = []
    for table in tables:
        path = folder / f"{table.name}.{format}"
        sink: _Sink = _ParquetSink(path, table) if format == "parquet" else _CsvSink(path, table)
        try:
            report.rows[table.name] = _fill(conn, table, sink, nct_ids, options, progress)
        finally:
            sink.close()
        written.append(path)
    return written


def _replace_atomically(out: Path, write: Callable[[Path], None]) -> None:
    handle, part = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(handle)
    try:
        write(Path(part))
        Path(part).replace(out)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise


def export_tables(
    conn: Connection,
    query: TrialQuery,
    out: Path,
    format: ExportFormat,
    *,
    options: ExportOptions | None = None,
    tables: Sequence[ExportTable] = TABLES,
    progress: Progress | None = None,
) -> ExportReport:
    """Write the tables of the trials matching `query` to `out`.

    Parquet and CSV: one file per table in the folder `out`, or every file in one zip when `out` ends
    with .zip. Excel: one workbook, a sheet per table. The query's sort and page are ignored: every
    matching trial is exported, tables in NCT id order.
    """
    chosen = options or ExportOptions()
    shown = progress or SilentProgress()
    nct_ids = matching_nct_ids(conn, query)
    report = ExportReport(trials=len(nct_ids))
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "xlsx":

        def workbook(path: Path) -> None:
            from openpyxl import Workbook  # type: ignore[import-untyped]

            book = Workbook(write_only=True)
            for table in tables:
                report.rows[table.name] = _fill(conn, table, _SheetSink(book, table), nct_ids, chosen, shown)
            book.save(str(path))

        _replace_atomically(out, workbook)
        report.files.append(out)
        return report
    if out.suffix.lower() == ".zip":

        def archive(path: Path) -> None:
            with ExitStack() as stack:
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=out.parent)))
                files = _write_files(conn, folder, format, tables, nct_ids, chosen, shown, report)
                # Parquet is compressed already; CSV is not.
                method = zipfile.ZIP_STORED if format == "parquet" else zipfile.ZIP_DEFLATED
                with zipfile.ZipFile(path, "w", compression=method, allowZip64=True) as bundle:
                    for file in files:
                        bundle.write(file, arcname=file.name)

        _replace_atomically(out, archive)
        report.files.append(out)
        return report
    out.mkdir(parents=True, exist_ok=True)
    report.files.extend(_write_files(conn, out, format, tables, nct_ids, chosen, shown, report))
    return report
