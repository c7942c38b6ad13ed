"""The SQLite side of db.columnar, in a process of its own.

connectorx (and ADBC) carry their own copy of SQLite. Two copies of SQLite in one process break
each other's POSIX file locks: when one closes the database file, the other's locks go too, and
a WAL database then reads stale pages or fails with "disk I/O error" (seen in this project's
tests). So the app's process never opens a SQLite file with them: it runs this module with
`python -m db.columnar_child`, sends {"url", "queries": [{"sql", "partition_on"}], "out"} as
JSON on stdin, and memory-maps the Arrow IPC file written for each query (out/0.arrow, ...).
It only reads. The queries run at once, each on its own connection (connectorx releases the
GIL while it reads), so a window's leads and their touches take the time of the longer one.
"""

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import connectorx
import pyarrow as pa


def main() -> None:
    request = json.load(sys.stdin)
    out = Path(request["out"])
    for index, table in enumerate(read_tables(request["url"], request["queries"])):
        with pa.OSFile(str(out / f"{index}.arrow"), "wb") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)


def read_tables(url: str, queries: list[dict]) -> list[pa.Table]:
    """Each query's rows as an Arrow table, the queries read at once (db.columnar reads
    PostgreSQL with this in its own process)."""
    with ThreadPoolExecutor(max_workers=len(queries) or 1) as pool:
        return list(pool.map(lambda query: _read(url, query), queries))


def _read(url: str, query: dict) -> pa.Table:
    options = {}
    if query.get("partition_on") and (os.cpu_count() or 1) > 1:
        options = {"partition_on": query["partition_on"],
                   "partition_num": min(os.cpu_count() or 1, 4)}
    return connectorx.read_sql(url, query["sql"], return_type="arrow", **options)


if __name__ == "__main__":
    main()
