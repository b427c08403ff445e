"""Search results as CSV and JSON downloads, streamed so a large export never sits in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any, Final

import orjson

from hemewatch.pipeline.export import spreadsheet_text
from hemewatch.web.views.listing import ListedTrial

CSV_COLUMNS: Final = (
    "nct_id",
    "title",
    "mechanism",
    "lead_sponsor",
    "phases",
    "overall_status",
    "start_date",
    "last_update_post_date",
    "last_change",
    "enrollment",
    "countries",
    "diseases",
    "modalities",
    "targets",
    "settings",
    "populations",
    "url",
)
# A byte-order mark first: Excel then reads the file as UTF-8 ("γδ" stays "γδ").
BOM: Final = "\ufeff"


def _row(trial: ListedTrial, base_url: str) -> dict[str, Any]:
    data = trial.to_dict()
    data["url"] = f"{base_url}/trials/{trial.row.nct_id}"
    return data


def iter_csv(trials: Iterable[ListedTrial], *, base_url: str) -> Iterator[str]:
    """CSV text: a byte-order mark and the header first, then one chunk per trial."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for trial in trials:
        data = _row(trial, base_url)
        writer.writerow([spreadsheet_text(data.get(column)) for column in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def iter_json(trials: Iterable[ListedTrial], *, base_url: str) -> Iterator[bytes]:
    """`{"ok": true, "trials": [...], "total": n}`, one chunk per trial."""
    yield b'{"ok":true,"trials":['
    count = 0
    for trial in trials:
        yield (b"," if count else b"") + orjson.dumps(_row(trial, base_url))
        count += 1
    yield b'],"total":' + str(count).encode("ascii") + b"}"
