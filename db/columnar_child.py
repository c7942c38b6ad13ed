"""The SQLite side of db.columnar, in a process of its own.

connectorx (and ADBC) carry their own copy of SQLite. Two copies of SQLite in one process break
each other's POSIX file locks: when one closes the database file, the other's locks go too, and
a WAL database then reads stale pages or fails with "disk I/O error" (seen in this project's
tests). So the app's process never opens a SQLite file with them: it runs this module with
`python -m db.columnar_child`, sends {"url", "queries": [{"sql", "partition_on"}], "out"} as
JSON on stdin, and memory-maps the Arrow IPC file written for each query (out/0.arrow, ...).
It only reads.
"""

import json
import os
import sys
from pathlib import Path

import connectorx
import pyarrow as pa


def main() -> None:
    request = json.load(sys.stdin)
    out = Path(request["out"])
    for index, query in enumerate(request["queries"]):
        options = {}
        if query.get("partition_on") and (os.cpu_count() or 1) > 1:
            options = {"partition_on": query["partition_on"],
                       "partition_num": min(os.cpu_count() or 1, 4)}
        table = connectorx.read_sql(request["url"], query["sql"], return_type="arrow", **options)
        with pa.OSFile(str(out / f"{index}.arrow"), "wb") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)


if __name__ == "__main__":
    main()
