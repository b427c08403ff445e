"""Bulk inserts on the DBAPI cursor: executemany with plain tuples, values converted as SQLAlchemy would.

For the thousands of rows of an import (versions, trials, tags, therapies, eligibility facts),
SQLAlchemy's per-row parameter handling costs more than the database's own work. The values are
converted by the same bind processors SQLAlchemy would apply (JSON text on SQLite, psycopg's Jsonb
on PostgreSQL, dates and booleans as each driver takes them), so the rows stored are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.engine import Connection, Dialect

Convert = Callable[[Any], Any]


class BulkWriter:
    """INSERTs rows of one connection's tables with executemany."""

    def __init__(self, conn: Connection) -> None:
        self.connection = conn
        self.dialect = conn.dialect
        # SQLite's driver takes ?, PostgreSQL's %s (any other paramstyle fails here, loudly).
        self.mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}[self.dialect.paramstyle]

    def insert(self, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """INSERT the rows, values in the order of `columns` and already as the driver takes them."""
        names = ", ".join(table.c[column].name for column in columns)
        marks = ", ".join([self.mark] * len(columns))
        # Only the tables' own table and column names go into the text; values are bound.
        self.connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)  # noqa: S608

    def insert_values(self, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
        """INSERT the rows, Python values in the order of `columns`, each converted for its column."""
        converters = [
            (index, convert)
            for index, column in enumerate(columns)
            if (convert := bind(table.c[column], self.dialect)) is not _same
        ]
        converted = []
        for row in rows:
            values = list(row)
            for index, convert in converters:
                values[index] = convert(values[index])
            converted.append(tuple(values))
        if converted:
            self.insert(table, columns, converted)


def _same(value: Any) -> Any:
    return value


def bind(column: Column[Any], dialect: Dialect) -> Convert:
    """What SQLAlchemy does to a value bound to this column before the driver gets it."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else _same
