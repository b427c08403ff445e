"""/api/v1/export: the trials matching the search filters as an Excel workbook or a zip of tables."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from hemewatch.pipeline.export import TABLES, ExportOptions, export_tables
from hemewatch.web.deps import BulkView, Filters
from hemewatch.web.schemas import ErrorEnvelope

router = APIRouter(prefix="/export", tags=["export"])

XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_TYPE: Final = "application/zip"
_BINARY: Final = {"schema": {"type": "string", "format": "binary"}}
_TABLE_NAMES: Final = ", ".join(table.name for table in TABLES)


@router.get(
    "",
    summary="Export matching trials as tables",
    response_class=FileResponse,
    responses={
        200: {
            "description": f"An Excel workbook (one sheet per table) or a zip of Parquet or CSV files"
            f" (one per table): {_TABLE_NAMES}.",
            "content": {XLSX_TYPE: _BINARY, ZIP_TYPE: _BINARY},
        },
        400: {"model": ErrorEnvelope, "description": "A table is too large for an Excel sheet."},
    },
)
def api_export(
    filters: Filters,
    view: BulkView,
    format: Annotated[
        Literal["xlsx", "parquet", "csv"],
        Query(description="xlsx: one workbook; parquet or csv: a zip with one file per table."),
    ] = "xlsx",
    since: Annotated[
        date | None, Query(description="Events: only those the registry posted on or after this date.")
    ] = None,
) -> FileResponse:
    """Every trial matching the filters (the same filters as /search and /api/v1/trials) as tidy tables:
    trials, therapies, tags, events and sites, with the columns docs/exports.md lists. The file is
    written to a temporary folder, then streamed."""
    folder = Path(tempfile.mkdtemp(prefix="hemewatch-export-"))
    try:
        name = "hemewatch-export.xlsx" if format == "xlsx" else f"hemewatch-export-{format}.zip"
        path = folder / name
        export_tables(view.conn, filters.to_query(limit=None), path, format, options=ExportOptions(since))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=XLSX_TYPE if format == "xlsx" else ZIP_TYPE,
        filename=name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
