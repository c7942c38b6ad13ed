"""Fast bulk inserts of DataFrames: executemany on SQLite, COPY on PostgreSQL.

SQLAlchemy's per-value type processing costs more than the database itself at 100,000 rows, so
imports hand whole columns to the driver, converted once, in the session's transaction.
"""

import json

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Boolean, Table, insert, select, text
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from db import changes, columnar

EMPTY_JSON = {dict: "{}", list: "[]"}


def insert_frame(session: Session, table: Table, frame: pd.DataFrame) -> int:
    """Insert every row of `frame` (columns named as the table's) into `table`."""
    if frame.empty:
        return 0
    frame = _stamped(session, table, frame)
    connection = session.connection()
    dialect = connection.dialect.name
    columns = list(frame.columns)
    values = [_column_values(frame[name], table.c[name].type, dialect) for name in columns]
    rows = list(zip(*values, strict=True))
    names = ", ".join(columns)
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)
    elif dialect == "postgresql":
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        _keep_statistics(connection, table, len(rows))
    else:
        connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
    return len(rows)


# A table grown by this share since PostgreSQL last counted it is counted again at once.
RECOUNT_GROWTH = 0.1


def _keep_statistics(connection, table: Table, inserted: int) -> None:
    """PostgreSQL plans by its statistics of a table, which autovacuum refreshes only a minute
    or so after the writes: until then, the next import's lookups by id (`IN` of 500 ids)
    were planned as scans of a table it still believed empty (0.6 s a batch of 500 touches
    after 50,000 new leads, against 0.06 s). So after a bulk insert into leads or touches that
    grew the table by a tenth or more, or into one never counted, ANALYZE it now (it sees this
    transaction's rows)."""
    if table.name not in changes.STAMPED_TABLES:
        return
    counted = connection.execute(text("SELECT reltuples FROM pg_class WHERE oid = "
                                      "CAST(:name AS regclass)"), {"name": table.name}).scalar()
    if counted is None or counted < 0 or inserted >= RECOUNT_GROWTH * counted:
        connection.exec_driver_sql(f"ANALYZE {table.name}")


def _stamped(session: Session, table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of leads and touches carry this transaction's change stamp (db.changes)."""
    if table.name not in changes.STAMPED_TABLES:
        return frame
    return frame.assign(change_seq=changes.stamp(session))


def _column_values(series: pd.Series, column_type, dialect: str) -> list:
    """One column as driver-ready Python values (None for missing). SQLite timestamps are
    written in SQLAlchemy's own storage format, "YYYY-MM-DD HH:MM:SS.ffffff" in UTC."""
    if isinstance(column_type, JSON):
        return [None if value is None else json.dumps(value) if value else EMPTY_JSON[type(value)]
                for value in series]
    if isinstance(column_type, UTCDateTime) or pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series, utc=True)
        if dialect == "sqlite":
            naive = stamps.dt.tz_localize(None).to_numpy("datetime64[us]")
            text = np.char.replace(np.datetime_as_string(naive, unit="us"), "T", " ")
            return np.where(stamps.notna().to_numpy(), text.astype(object), None).tolist()
        return pd.Series(stamps.dt.to_pydatetime(), dtype=object).where(
            stamps.notna().to_numpy(), None).tolist()
    if isinstance(column_type, Boolean):
        return [bool(value) for value in series]
    return series.astype(object).where(series.notna(), None).tolist()


def fetch_frame(session: Session, table: Table, columns: list[str], *criteria) -> pd.DataFrame:
    """Selected columns of `table` as a DataFrame (typed as db.columnar conforms them), read in
    the session's own transaction: what an import has written so far is in it."""
    statement = select(*(table.c[name] for name in columns)).where(*criteria)
    return columnar.read_frame(session, statement, columnar=False)


def update_frame(session: Session, table: Table, frame: pd.DataFrame, key: str = "id") -> int:
    """Set the frame's other columns on the rows whose `key` matches (one executemany)."""
    if frame.empty:
        return 0
    frame = _stamped(session, table, frame)
    connection = session.connection()
    dialect = connection.dialect.name
    columns = [name for name in frame.columns if name != key]
    values = [_column_values(frame[name], table.c[name].type, dialect)
              for name in [*columns, key]]
    mark = "?" if dialect == "sqlite" else "%s"
    assignments = ", ".join(f"{name} = {mark}" for name in columns)
    connection.exec_driver_sql(
        f"UPDATE {table.name} SET {assignments} WHERE {key} = {mark}",
        list(zip(*values, strict=True)),
    )
    return len(frame)
