"""The database as the other packages name it: its handles for type annotations, and a liveness check.

Packages above storage annotate with these names and run no SQL of their own.
"""

from __future__ import annotations

from sqlalchemy import Engine as Engine
from sqlalchemy import select
from sqlalchemy.engine import Connection as Connection

from hemewatch.storage.tables import trials


def ping(conn: Connection) -> None:
    """Raise when the database does not answer or lacks the mirror's tables."""
    conn.execute(select(trials.c.nct_id).limit(1)).all()
