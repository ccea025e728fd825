#!/usr/bin/env python3
"""Read sfbflow's Parquet output with pyarrow and with DuckDB, independently of sfbflow's own
reader, and print what each sees as JSON.

    check_parquet.py FLOWS.parquet   column types, row count, packet and byte totals
    check_parquet.py --tables DIR    dns.parquet, sip.parquet and findings.parquet of DIR: per
                                     table the column types and row count (pyarrow), and a few
                                     aggregates computed in SQL (DuckDB)
"""
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
    # How the first row group is stored: its codecs, and the encodings of flow_id's chunk.
    meta = pq.ParquetFile(path).metadata
    if meta.num_row_groups:
        group = meta.row_group(0)
        chunks = [group.column(i) for i in range(group.num_columns)]
        report["codecs"] = sorted({c.compression for c in chunks})
        report["flow_id_encodings"] = sorted(
            e for c in chunks if c.path_in_schema == "flow_id" for e in c.encodings)
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


def tables(folder):
    report = {}
    con = duckdb.connect()
    for name in ("dns", "sip", "findings"):
        path = f"{folder}/{name}.parquet"
        table = pq.read_table(path)
        report[name] = {
            "pyarrow_types": {f.name: str(f.type) for f in table.schema},
            "pyarrow_rows": table.num_rows,
        }
    q = lambda sql: con.execute(sql.replace("T(", "read_parquet(").replace("$D", folder)).fetchall()
    report["dns"]["duckdb"] = {
        "rows": q("SELECT count(*) FROM T('$D/dns.parquet')")[0][0],
        "signin": q("SELECT count(*) FROM T('$D/dns.parquet') WHERE signin_step IS NOT NULL")[0][0],
        "by_rcode": dict(q("SELECT coalesce(rcode, 'none'), count(*) FROM T('$D/dns.parquet') GROUP BY ALL")),
        "steps_by_client": {c: s for c, s in q(
            "SELECT client_ip, string_agg(signin_step, ',' ORDER BY query_ts) "
            "FROM T('$D/dns.parquet') WHERE signin_step IS NOT NULL GROUP BY ALL")},
    }
    report["sip"]["duckdb"] = {
        "rows": q("SELECT count(*) FROM T('$D/sip.parquet')")[0][0],
        "dialogs": {c: [m, st, s, mf, int(mb)] for c, m, st, s, mf, mb in q(
            "SELECT call_id, first_request, final_status, state, media_flows, media_bytes "
            "FROM T('$D/sip.parquet')")},
    }
    report["findings"]["duckdb"] = {
        "rows": q("SELECT count(*) FROM T('$D/findings.parquet')")[0][0],
        "by_kind_code": {f"{k}/{c}": n for k, c, n in q(
            "SELECT kind, code, count(*) FROM T('$D/findings.parquet') GROUP BY ALL")},
        "empty_details": q("SELECT count(*) FROM T('$D/findings.parquet') WHERE detail = ''")[0][0],
    }
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    if sys.argv[1] == "--tables":
        tables(sys.argv[2])
    else:
        main(sys.argv[1])
