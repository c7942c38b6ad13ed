"""The SQLite side of db.columnar, in a process of its own.

connectorx (and ADBC) carry their own copy of SQLite. Two copies of SQLite in one process break
each other's POSIX file locks: when one closes the database file, the other's locks go too, and
a WAL database then reads stale pages or fails with "disk I/O error" (seen in this project's
tests). So the app's process never opens a SQLite file with them: it keeps this module running
(`python -m db.columnar_child`) as its reader. Each request is one line of JSON on stdin,
{"url", "queries": [{"sql", "partition_on"}], "out"}; the reader writes each query's rows as an
Arrow IPC file (out/0.arrow, ...), which the app memory-maps, and answers with one line,
{"ok": true} or {"error": "..."}. It exits when stdin closes, and only reads.

The queries of a request run at once, each on its own connection (connectorx releases the GIL
while it reads), so a window's leads and their touches take the time of the longer one.
"""

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import connectorx
import pyarrow as pa

SLICES = min(os.cpu_count() or 1, 4)  # a partitioned query's slices, read at once


def main() -> None:
    for line in sys.stdin:
        try:
            serve(json.loads(line))
        except Exception as error:  # noqa: BLE001 - the app is told, and reads another way
            answer({"error": f"{type(error).__name__}: {error}"})
        else:
            answer({"ok": True})


def serve(request: dict) -> None:
    out = Path(request["out"])
    for index, table in enumerate(read_tables(request["url"], request["queries"])):
        with pa.OSFile(str(out / f"{index}.arrow"), "wb") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)


def answer(reply: dict) -> None:
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()


def read_tables(url: str, queries: list[dict]) -> list[pa.Table]:
    """Each query's rows as an Arrow table, the queries read at once (db.columnar reads
    PostgreSQL with this in its own process)."""
    with ThreadPoolExecutor(max_workers=len(queries) or 1) as pool:
        return list(pool.map(lambda query: _read(url, query), queries))


def _read(url: str, query: dict) -> pa.Table:
    options = {}
    if query.get("partition_on") and SLICES > 1:
        options = {"partition_on": query["partition_on"], "partition_num": SLICES}
    return connectorx.read_sql(url, query["sql"], return_type="arrow", **options)


if __name__ == "__main__":
    main()
