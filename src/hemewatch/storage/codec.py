"""Compression of stored study JSON (zstd: about 8x smaller than the JSON, fast both ways)."""

from __future__ import annotations

import threading
from typing import Any, cast

import orjson
import zstandard

from hemewatch.registry.records import without_nul

_local = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    # zstandard contexts are not thread-safe; one per thread is cheap and reused.
    found = getattr(_local, "compressor", None)
    if found is None:
        found = _local.compressor = zstandard.ZstdCompressor(level=1)
    return cast(zstandard.ZstdCompressor, found)


def _decompressor() -> zstandard.ZstdDecompressor:
    found = getattr(_local, "decompressor", None)
    if found is None:
        found = _local.decompressor = zstandard.ZstdDecompressor()
    return cast(zstandard.ZstdDecompressor, found)


def compress_json(raw: bytes) -> bytes:
    """Compress serialised JSON for storage."""
    compressed: bytes = _compressor().compress(raw)
    return compressed


def decompress_json(blob: bytes) -> dict[str, Any]:
    """Decompress and decode a stored study.

    The stored JSON is faithful; what is read from it (for diffs, tags, pages, exports) holds no NUL,
    which PostgreSQL text cannot hold (as StudyRecord.study).
    """
    raw = _decompressor().decompress(blob)
    study = cast(dict[str, Any], orjson.loads(raw))
    return without_nul(study) if b"\\u0000" in raw else study


def split_pipes(value: str | None) -> list[str]:
    """The values of a pipe-encoded list column ("PHASE1|PHASE2", "|France|Spain|"), in order, once each."""
    return list(dict.fromkeys(part for part in (value or "").split("|") if part))
