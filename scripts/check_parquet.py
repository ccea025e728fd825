#!/usr/bin/env python3
"""Read a flows.parquet with pyarrow and with DuckDB, independently of sfbflow's own reader,
and print what each sees as JSON: column types, row count, packet and byte totals."""
import json
import sys

import duckdb
import pyarrow.parquet as pq


def main(path):
    table = pq.read_table(path)
    cols = table.column_names
    report = {
        "pyarrow_types": {f.name: str(f.type) for f in table.schema},
        "pyarrow": {
            "rows": table.num_rows,
            "packets": sum(sum(v.as_py() or 0 for v in table.column(c))
                           for c in ("initiator_packets", "responder_packets")),
            "bytes": sum(sum(v.as_py() or 0 for v in table.column(c))
                         for c in ("initiator_bytes", "responder_bytes")),
        },
        "columns": cols,
    }
    con = duckdb.connect()
    rows, packets, nbytes, tcp, min_ts = con.execute(
        """SELECT count(*),
                  sum(initiator_packets + responder_packets)::UBIGINT,
                  sum(initiator_bytes + responder_bytes)::UBIGINT,
                  count(*) FILTER (WHERE transport = 'tcp'),
                  strftime(min(first_ts) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%n') || 'Z'
           FROM read_parquet(?)""",
        [str(path)],
    ).fetchone()
    report["duckdb"] = {"rows": rows, "packets": packets, "bytes": nbytes, "tcp_flows": tcp,
                        "min_first_ts": min_ts}
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
