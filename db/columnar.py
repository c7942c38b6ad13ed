"""Columnar reads: a SELECT's rows straight into typed DataFrame columns.

Reading a million leads through SQLAlchemy costs a Python object per cell (the driver's tuples,
`Row` objects, result processors, a transpose, object Series); measuring them costs a fraction
of that. `read_frame` hands the query to connectorx instead, which runs it on its own connection
and returns Arrow columns typed by the columns' declared types (SQLite and PostgreSQL alike).
Each column is then conformed to what its model column holds:

| model type       | frame column                                                    |
|------------------|-----------------------------------------------------------------|
| UTCDateTime      | datetime64[ns, UTC], converted as a whole column                 |
| JSON             | Python objects, each distinct text parsed once (rows with the    |
|                  | same text share the object: treat it as read-only)              |
| String           | object (None when NULL): the measuring code is faster on these   |
| Boolean          | bool                                                             |
| Integer / Float  | int64 / float64                                                  |

A separate connection sees only committed rows, so a session that has itself written leads or
touches in its open transaction (db.changes has stamped it), or a database only this process
can see (SQLite in memory), is read through the session instead, by the same conformance: the
two paths give the same frame (tests/service/test_columnar.py).
"""

import atexit
import contextlib
import json
import logging
import os
import select as io_select
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    String,
    any_,
    cast,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.sql import Select
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from db import changes, columnar_child

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]  # where `python -m db.columnar_child` is found


SLICES = columnar_child.SLICES  # how many parts a large read is split into, read at once
COLUMNAR_FROM_ROWS = 20_000  # fewer rows read faster through the session than a reader starts
CHILD_TIMEOUT_S = 900  # a read of every lead and touch takes seconds; a hung reader is killed


def read_frames(session: Session, statements: list[Select], *, expected_rows: int | None = None,
                slices: Sequence[str | None] = (), columnar: bool | None = None
                ) -> list[pd.DataFrame]:
    """The rows of each statement (a select of model columns) as DataFrames conformed to the
    columns' types. The columnar path is taken when it sees what the session would and the read
    is large (`expected_rows`, when known, at least COLUMNAR_FROM_ROWS); `columnar` forces a
    path (tests). `slices`, per statement: an integer column to read it by in parallel slices
    (ranges of that column; the slices' rows come in no particular order between them), or
    None. The statements themselves are read at once."""
    url = connectorx_url(session) if columnar is not False else None
    if url is not None and (columnar or (
            not changes.stamped(session)
            and (expected_rows is None or expected_rows >= COLUMNAR_FROM_ROWS))):
        dialect = session.get_bind().dialect
        sliced = list(slices) + [None] * (len(statements) - len(slices))
        queries = [{"sql": str(statement.compile(dialect=dialect,
                                                 compile_kwargs={"literal_binds": True})),
                    "partition_on": column}
                   for statement, column in zip(statements, sliced, strict=True)]
        try:
            tables = (_read_sqlite(url, queries) if url.startswith("sqlite")
                      else columnar_child.read_tables(url, queries))
        except (RuntimeError, ColumnarReadFailed) as error:
            log.warning("columnar read failed (%s); reading through the session", error)
        else:
            return [conform({column.name: table.column(column.name)
                             for column in statement.selected_columns},
                            list(statement.selected_columns))
                    for statement, table in zip(statements, tables, strict=True)]
    return [_through_session(session, statement, list(statement.selected_columns))
            for statement in statements]


def one_of(column: Column, ids: np.ndarray, session: Session):
    """SQL: `column` is one of `ids`, as one literal (a JSON array on SQLite, an array on
    PostgreSQL) however many there are, not a parameter or a literal per id."""
    values = [int(value) for value in ids]
    if session.get_bind().dialect.name == "postgresql":
        text = "{" + ",".join(map(str, values)) + "}"
        return column == any_(cast(literal(text), ARRAY(BigInteger)))
    return column.in_(select(literal_column("value")).select_from(
        func.json_each(literal(json.dumps(values)))))


def read_frame(session: Session, statement: Select, **options) -> pd.DataFrame:
    """One statement's rows (see read_frames)."""
    return read_frames(session, [statement], **options)[0]


class ColumnarReadFailed(RuntimeError):
    """The SQLite reader process failed (its error is the message)."""


def _read_sqlite(url: str, queries: list[dict]) -> list[pa.Table]:
    """The queries run by connectorx in this process's reader (db.columnar_child says why);
    its Arrow files are memory-mapped, not copied through a pipe."""
    with tempfile.TemporaryDirectory(prefix="handoff-read-") as out:
        _READER.read({"url": url, "queries": queries, "out": out})
        return [pa.ipc.open_file(pa.memory_map(str(Path(out, f"{index}.arrow")))).read_all()
                for index in range(len(queries))]


class _Reader:
    """The reader process, started at the first read (or by start_reader) and kept for the
    next ones: a start costs more than a month's read of a small table. One request at a time:
    a read that finds it busy starts a reader of its own for that read. A reader that fails or
    hangs (CHILD_TIMEOUT_S) is stopped, and the next read starts another."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._owner = 0  # the pid that started it: a forked process starts its own
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the process if none runs (it loads its libraries while this one goes on)."""
        if self._lock.acquire(blocking=False):
            try:
                self._running()
            finally:
                self._lock.release()

    def read(self, request: dict) -> None:
        if not self._lock.acquire(blocking=False):
            process = _reader_process()
            try:
                _ask(process, request)
            finally:
                _stop(process)
            return
        try:
            try:
                _ask(self._running(), request)
            except ColumnarReadFailed:
                self.close()
                raise
        finally:
            self._lock.release()

    def close(self) -> None:
        if self._process is not None and self._owner == os.getpid():
            _stop(self._process)
        self._process = None

    def _running(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None or \
                self._owner != os.getpid():
            self._process, self._owner = _reader_process(), os.getpid()
        return self._process


def _reader_process() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "db.columnar_child"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def _ask(process: subprocess.Popen, request: dict) -> None:
    """Send one request and wait for its answer (raises ColumnarReadFailed with the reader's
    error, or when it died or did not answer within CHILD_TIMEOUT_S)."""
    try:
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
    except OSError as error:
        raise ColumnarReadFailed(f"the reader process is gone ({error})") from None
    ready, _, _ = io_select.select([process.stdout], [], [], CHILD_TIMEOUT_S)
    line = process.stdout.readline() if ready else ""
    if not line:
        raise ColumnarReadFailed("the reader process died" if ready else
                                 f"the reader process did not answer in {CHILD_TIMEOUT_S} s")
    reply = json.loads(line)
    if "error" in reply:
        raise ColumnarReadFailed(reply["error"][-500:])


def _stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(OSError):
        process.stdin.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


_READER = _Reader()
atexit.register(_READER.close)


def start_reader(database_url: str | None = None) -> None:
    """Start the SQLite reader process ahead of the first read (a server does at its first
    page, the CLI before it loads what measuring needs); reads start it anyway when it is not
    running. With `database_url`, only if that database is a SQLite file (the only kind the
    reader reads)."""
    if database_url is None or (database_url.startswith("sqlite") and ":memory:" not in
                                database_url and database_url.rstrip("/") != "sqlite:"):
        _READER.start()


def connectorx_url(session: Session) -> str | None:
    """The connectorx address of the session's database, or None when only this process can
    see it (SQLite in memory) or connectorx does not read it."""
    url = session.get_bind().url
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            return None
        return "sqlite://" + os.path.abspath(url.database)
    if backend == "postgresql":
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    return None


def conform(values: dict[str, pa.ChunkedArray | Sequence], columns: list[Column]
            ) -> pd.DataFrame:
    """Raw columns (Arrow arrays, or sequences of driver values) as the model's types."""
    frame = {}
    for column in columns:
        raw, kind = values[column.name], column.type
        arrow = isinstance(raw, pa.ChunkedArray)
        if isinstance(kind, UTCDateTime):
            frame[column.name] = _timestamps(raw)
        elif isinstance(kind, JSON):
            frame[column.name] = _parsed_once(_objects(raw), all_text=arrow)
        elif isinstance(kind, Boolean):
            frame[column.name] = (raw.fill_null(False).cast(pa.bool_()).to_numpy()
                                  if arrow else np.array([bool(v) for v in raw], dtype=bool))
        elif isinstance(kind, Float):
            frame[column.name] = (raw.cast(pa.float64()).to_numpy() if arrow else pd.to_numeric(
                pd.Series(raw, dtype=object), errors="coerce").to_numpy("float64"))
        elif isinstance(kind, Integer) and (raw.null_count == 0 if arrow else None not in raw):
            frame[column.name] = raw.cast(pa.int64()).to_numpy() if arrow else np.array(
                raw, dtype="int64")
        else:
            frame[column.name] = _objects(raw)
    # copy=False: a block per column, not one copy of them all consolidated (0.4 s a million
    # leads); pandas copies a column on the first write to it
    return pd.DataFrame({name: _series(values) for name, values in frame.items()},
                        columns=[column.name for column in columns], copy=False)


def _series(values: np.ndarray | pd.Series) -> pd.Series:
    """A column as a Series, object arrays kept object (not inferred as strings)."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return pd.Series(values, dtype=object)
    return pd.Series(values)


def _objects(raw) -> np.ndarray:
    """An object array of Python values, None where missing."""
    if isinstance(raw, pa.ChunkedArray):
        if pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):
            return _strings(raw)
        return raw.to_numpy(zero_copy_only=False).astype(object)
    return np.array(list(raw) or [], dtype=object)


def _strings(raw: pa.ChunkedArray) -> np.ndarray:
    """Text as an object array: a column of few distinct values (owner, channel, kind…) makes
    one Python string per value, not per row."""
    if not raw.num_chunks:
        return np.empty(0, dtype=object)
    encoded = raw.dictionary_encode().unify_dictionaries()  # one dictionary for every chunk
    dictionary = encoded.chunk(0).dictionary
    if len(dictionary) * 2 > len(raw):  # mostly distinct: convert directly
        values = raw.to_pandas(deduplicate_objects=False).to_numpy(dtype=object)
        if raw.null_count:
            values[raw.is_null().to_numpy(zero_copy_only=False)] = None
        return values
    words = np.empty(len(dictionary) + 1, dtype=object)
    words[:-1] = dictionary.to_pylist()
    codes = np.concatenate([chunk.indices.fill_null(len(dictionary)).to_numpy()
                            for chunk in encoded.chunks])
    return words[codes]


def _timestamps(raw) -> pd.Series:
    """Timestamps as datetime64[ns, UTC]: Arrow timestamps (naive ones are UTC, as stored) or
    the ISO text the session path reads."""
    if isinstance(raw, pa.ChunkedArray) and pa.types.is_timestamp(raw.type):
        naive = raw.cast(pa.timestamp(raw.type.unit, tz=raw.type.tz)).to_pandas()
        stamps = naive.dt.tz_localize("UTC") if raw.type.tz is None else naive.dt.tz_convert(
            "UTC")
        return stamps.dt.as_unit("ns").reset_index(drop=True)
    return pd.to_datetime(pd.Series(_objects(raw), dtype=object), utc=True,
                          format="ISO8601").dt.as_unit("ns")


def _parsed_once(values: np.ndarray, all_text: bool = False) -> np.ndarray:
    """JSON texts as Python objects, each distinct text parsed once (most are "{}"); values a
    driver already decoded (psycopg decodes json) are kept. `all_text`: every value is a text
    or None (an Arrow column), so nothing needs checking."""
    is_text = slice(None) if all_text else np.fromiter(
        (isinstance(value, str) for value in values), bool, len(values))
    texts = values[is_text]
    if not len(texts):
        return values
    codes, distinct = pd.factorize(pd.Series(texts, dtype=object))
    decoded = np.empty(len(distinct) + 1, dtype=object)  # the last one stays None (code -1)
    decoded[:-1] = [json.loads(text) for text in distinct]
    parsed = values.copy()
    parsed[is_text] = decoded[codes]
    return parsed


def _through_session(session: Session, statement: Select, columns: list[Column]
                     ) -> pd.DataFrame:
    """The same frame read through the session's own connection (its open transaction)."""
    raw = [type_coerce(column, String).label(column.name)
           if isinstance(column.type, UTCDateTime | JSON) else column.label(column.name)
           for column in columns]
    rows = session.connection().execute(statement.with_only_columns(*raw)).all()
    by_column = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return conform(dict(zip([c.name for c in columns], by_column, strict=True)), columns)
