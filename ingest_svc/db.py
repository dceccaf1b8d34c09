"""The one declarative base of ingest's database and its dialect helper.

Every room's tables (intake's readings, billing's settlements and outbox) live in one database
under one Alembic history, so they share one ``Base``; the rooms share nothing else through it.
:mod:`ingest_svc.schema` collects every table on it.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import Insert

__all__ = ["Base", "insert_ignore"]


class Base(DeclarativeBase):
    pass


def dialect_insert(conn: Connection, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """The connection's dialect's INSERT (both have ON CONFLICT); ingest runs on SQLite and PostgreSQL."""
    table = cast(Table, model.__table__)
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"ingest supports SQLite and PostgreSQL, not {conn.dialect.name}")


def insert_ignore(conn: Connection, model: type[Base]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING for the connection's dialect."""
    return dialect_insert(conn, model).on_conflict_do_nothing()
